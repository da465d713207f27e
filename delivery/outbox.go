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
	kinds := slices.DeleteFunc(slices.Sorted(maps.Keys(d.o.Senders)), func(kind string) bool {
		// A chat bot's sends go through the one process holding its lease.
		lease, elected := d.o.Elected[kind]
		return elected && !d.Holds(lease)
	})
	if len(kinds) == 0 {
		return nil
	}
	for {
		sends, err := d.o.Store.ClaimSends(ctx, kinds, d.o.Now(), d.lease(), outboxChunk)
		if err != nil || len(sends) == 0 {
			return err
		}
		for _, s := range sends {
			err := d.sendQueued(ctx, s)
			if errors.Is(err, errStale) {
				err = nil // nothing went wrong for anyone to see
			}
			gaveUp := s.Attempts >= d.o.Retry.MaxAttempts
			var problem store.SendProblem // none: a success clears the last one
			if err != nil {
				if gaveUp {
					d.o.Logger.Error("outbox send failed; giving up", "destination", s.DestinationID, "what", s.What, "attempts", s.Attempts, "err", err)
				} else {
					d.o.Logger.Warn("outbox send failed; trying again later", "destination", s.DestinationID, "what", s.What, "attempt", s.Attempts, "err", err)
				}
				problem = store.SendProblem{At: d.o.Now(), What: s.What, Words: userWords(err), Attempts: s.Attempts, GaveUp: gaveUp}
			}
			// The owner sees it on the destination: the web process that
			// queued the send cannot tell them.
			if err := d.o.Store.SetSendProblem(ctx, s.DestinationID, problem); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err != nil && !gaveUp {
				continue // tried again when its lease runs out
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

// userWords is what err means for the destination's owner: the words of
// an error that puts them for users (a sender's explained error), else
// its text.
func userWords(err error) string {
	var w interface{ UserWords() string }
	if errors.As(err, &w) {
		return w.UserWords()
	}
	return err.Error()
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
