package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hark/store"
)

// singleChunk is how many notifications sent one by one are claimed at
// once: enough to reuse one SMTP connection for a burst, few enough that
// their lease outlives the sends.
const singleChunk = 50

// Pass is one round of the pipeline over the queue for one destination
// kind, in the order a notification goes through it:
//
//	batch (plan)  → which due notifications go now, alone or as a digest
//	flood control → part of plan: past the rate, a digest later instead
//	claim         → lease them in the store
//	render        → Batches with everything the sender shows, split to size
//	send + retry  → the kind's Sender; backoff or dead letter on failure;
//	                the sent journal records what the medium has
//	record        → sent (many sends per commit, see markEvery), failed
//	                or dead in the store; stats, flood counts, bounces
//
// Before all that, a journal that may hold records (a restart after a
// crash, a mark that failed) is replayed. The worker calls Pass when the
// store's change feed says the kind has work, and every PollEvery; tests
// call it with their own clock. Passes of one kind take
// turns.
func (d *Deliverer) Pass(ctx context.Context, kind string) error {
	sender := d.o.Senders[kind]
	if sender == nil {
		return fmt.Errorf("deliver %s: no sender", kind)
	}
	j, err := d.journal(ctx, kind)
	if err != nil {
		return err
	}
	if j != nil {
		j.run.Lock()
		defer j.run.Unlock()
	}
	if j.needsReplay() {
		if err := d.replay(ctx, kind, j); err != nil {
			return fmt.Errorf("deliver %s: %w", kind, err)
		}
	}
	if k := d.keeper; k != nil {
		k.pass.RLock()
		defer k.pass.RUnlock()
	}
	dir, err := d.dir.get(ctx)
	if err != nil {
		return err
	}
	now := d.o.Now()
	pending, err := d.o.Store.Pending(ctx, now)
	if err != nil {
		return err
	}
	for _, p := range pending {
		dest, ok := dir.dests[p.DestinationID]
		if !ok || dest.Kind != kind || !receives(dest) || d.dir.disabled(dest.ID) || dir.users[dest.UserID].disabled {
			continue
		}
		dctx := ctx
		if k := d.keeper; k != nil {
			fence, mine := k.fence(dest, now)
			if !mine {
				continue // another process's
			}
			dctx = store.WithFence(ctx, fence)
		}
	lanes:
		for _, l := range lanes(dest, dir.filters, p) {
			for _, t := range d.plan(l.dest, dir.users[dest.UserID].loc, l.p, now) {
				t.only = l.only
				err := d.deliver(dctx, sender, j, dir, dest.ID, t, now)
				if errors.Is(err, store.ErrFenced) {
					// Its lease went to another process meanwhile, which
					// delivers it now; what this one sent is in its journal.
					d.o.Logger.Warn("delivery lease lost during a pass", "destination", dest.ID, "err", err)
					break lanes
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deliver claims what take t says and sends it. A failed send is
// recorded, not returned: only store and journal errors stop the pass.
func (d *Deliverer) deliver(ctx context.Context, sender Sender, j *journal, dir *snapshot, destID int64, t take, now time.Time) (err error) {
	unmarked := &marks{d: d, j: j}
	defer func() { err = errors.Join(err, unmarked.flush(ctx)) }()
	if t.drop {
		return d.drop(ctx, destID, t.only, t.n, now)
	}
	for left := t.n; left > 0; {
		limit := left
		if t.digest == NotDigest {
			limit = min(left, singleChunk)
		}
		ns, err := d.o.Store.ClaimOnly(ctx, destID, t.only, now, d.lease(), limit)
		if err != nil || len(ns) == 0 {
			return err
		}
		left -= len(ns)
		batches, err := d.render(ctx, dir, destID, ns, t)
		if err != nil {
			return err
		}
		for i, b := range batches {
			out := d.send(ctx, sender, j, b)
			if out.err == nil {
				if err := unmarked.sent(ctx, b, out.at); err != nil {
					return err
				}
				if out.journal != nil {
					return out.journal // what was sent is marked on the way out
				}
				continue
			}
			if err := unmarked.flush(ctx); err != nil {
				return err
			}
			next, err := d.record(ctx, b, out)
			if err != nil || out.journal != nil {
				return errors.Join(err, out.journal)
			}
			if out.retryable || d.dir.disabled(destID) {
				// The server is failing, or the address is dead: what this
				// claim holds and was not tried waits, untried, until next.
				return d.release(ctx, batches[i+1:], next)
			}
		}
	}
	return nil
}

// droppedWhileSnoozed is the reason the store keeps for notifications a
// snooze dropped.
const droppedWhileSnoozed = "dropped: matched while the destination or the filter was snoozed"

// drop claims n due notifications of destID that only's filters made and
// marks them dead unsent.
func (d *Deliverer) drop(ctx context.Context, destID int64, only store.FilterSet, n int, now time.Time) error {
	ns, err := d.o.Store.ClaimOnly(ctx, destID, only, now, d.lease(), n)
	if err != nil || len(ns) == 0 {
		return err
	}
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return d.o.Store.MarkDead(ctx, ids, droppedWhileSnoozed, now)
}

// release gives the notifications of batches back to the queue, due at
// next.
func (d *Deliverer) release(ctx context.Context, batches []*Batch, next time.Time) error {
	var ids []int64
	for _, b := range batches {
		ids = append(ids, b.notificationIDs()...)
	}
	if len(ids) == 0 {
		return nil
	}
	return d.o.Store.Release(ctx, ids, next)
}
