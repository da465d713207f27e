package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"hark/store"
)

// outboxChunk is how many outbox sends one round claims.
const outboxChunk = 20

// SendQueued sends what the outbox holds (store.Outbox): the
// confirmation codes and test notifications people asked for through
// the settings service, in whichever process they asked. They skip the
// pipeline's filters, batching, snoozes and confirmation gate. A send
// that fails is tried again when its lease runs out, up to
// Retry.MaxAttempts times; one that can no longer mean anything (the
// destination was confirmed meanwhile, its code expired, a test to a
// destination no longer confirmed) is dropped. The worker calls it every
// PollEvery; tests call it with their own clock.
func (d *Deliverer) SendQueued(ctx context.Context) error {
	kinds := slices.Sorted(maps.Keys(d.o.Senders))
	for {
		sends, err := d.o.Store.ClaimSends(ctx, kinds, d.o.Now(), d.lease(), outboxChunk)
		if err != nil || len(sends) == 0 {
			return err
		}
		for _, s := range sends {
			err := d.sendQueued(ctx, s)
			switch {
			case err == nil, errors.Is(err, errStale):
			case s.Attempts < d.o.Retry.MaxAttempts:
				d.o.Logger.Warn("outbox send failed; trying again later", "destination", s.DestinationID, "what", s.What, "attempt", s.Attempts, "err", err)
				continue
			default:
				d.o.Logger.Error("outbox send failed; giving up", "destination", s.DestinationID, "what", s.What, "attempts", s.Attempts, "err", err)
			}
			if err := d.o.Store.FinishSend(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if len(sends) < outboxChunk {
			return nil
		}
	}
}

// errStale is an outbox send that has nothing left to do.
var errStale = errors.New("nothing to send any more")

// sendQueued sends one outbox send to its destination as it is now.
func (d *Deliverer) sendQueued(ctx context.Context, s store.Send) error {
	dest, err := d.o.Store.DestinationByID(ctx, s.DestinationID)
	if errors.Is(err, store.ErrNotFound) {
		return errStale
	}
	if err != nil {
		return err
	}
	switch s.What {
	case store.SendConfirmation:
		if dest.Confirmed || dest.ConfirmCode == "" || !d.o.Now().Before(dest.ConfirmExpires) {
			return errStale
		}
		return d.sendConfirmation(ctx, dest)
	case store.SendTest:
		if !dest.Confirmed {
			return errStale
		}
		return d.SendTest(ctx, dest)
	}
	return fmt.Errorf("send %s to destination %d: %w", s.What, s.DestinationID, errors.ErrUnsupported)
}

// workOutbox runs SendQueued every PollEvery until ctx is done.
func (d *Deliverer) workOutbox(ctx context.Context) {
	t := time.NewTicker(d.o.PollEvery)
	defer t.Stop()
	for {
		if err := d.SendQueued(ctx); err != nil && ctx.Err() == nil {
			d.o.Logger.Error("send outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
