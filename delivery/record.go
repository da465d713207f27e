package delivery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// outcome is what a send came to.
type outcome struct {
	err       error
	retryable bool
	at        time.Time
	// journal is the sent journal's failure to record a batch the medium
	// has: the pass marks what was sent at once and stops.
	journal error
}

// send is the send stage: the sender, bounded by SendTimeout. The batch
// is journaled as sent the moment the sender hands it over (Batch.Handed),
// or when Send returns without error for a sender that does not say. A
// send that fails after its hand-off (the server refused the message
// once it had it all) is taken off the journal's pending ids again, so
// the journal is truncated without it. A panic-free sender that reports
// an error without saying whether it is retryable gets retried: losing a
// notification is worse than one more attempt.
func (d *Deliverer) send(ctx context.Context, s Sender, j *journal, b *Batch) outcome {
	ctx, cancel := context.WithTimeout(ctx, d.o.SendTimeout)
	defer cancel()
	var ids []int64
	var out outcome
	b.handed = func() {
		ids = b.notificationIDs()
		out.journal = j.sent(ctx, ids, d.o.Now())
	}
	out.retryable, out.err = s.Send(ctx, b)
	if out.err == nil {
		b.Handed()
	}
	b.handed = nil
	out.at = d.o.Now()
	if out.err != nil && ids != nil {
		out.journal = errors.Join(out.journal, j.settled(ctx, ids))
	}
	return out
}

// record is the record stage for a failed send: the batch's
// notifications become failed with a retry time, or dead, in the store;
// the stats and the bounce count learn of it. next is when the
// destination should be tried again: the retry time after a retryable
// failure, else now. (Successful sends are recorded by the marker.)
func (d *Deliverer) record(ctx context.Context, b *Batch, out outcome) (next time.Time, err error) {
	ids := b.notificationIDs()
	dest := b.Destination.ID
	if out.retryable && b.Attempts() < d.o.Retry.MaxAttempts {
		retryAt := out.at.Add(d.backoff(b.Attempts()))
		d.stats.add(b.Destination.Kind, "failed", len(ids))
		d.o.Logger.Warn("send failed, will retry", "destination", dest, "notifications", len(ids), "retry_at", retryAt, "err", out.err)
		return retryAt, d.o.Store.MarkFailed(ctx, ids, out.err.Error(), retryAt, out.at)
	}
	reason := out.err.Error()
	if out.retryable {
		reason = fmt.Sprintf("gave up after %d attempts: %s", b.Attempts(), reason)
	}
	d.stats.add(b.Destination.Kind, "dead", len(ids))
	d.o.Logger.Warn("send failed, dead-lettered", "destination", dest, "notifications", len(ids), "err", reason)
	if err := d.o.Store.MarkDead(ctx, ids, reason, out.at); err != nil {
		return out.at, err
	}
	if !out.retryable && d.bounced(dest, true) {
		why := fmt.Sprintf("disabled after %d permanent delivery failures in a row; the last: %s", d.o.DisableAfter, out.err)
		d.dir.disable(dest)
		d.o.Logger.Warn("destination disabled", "destination", dest, "address", b.Destination.Address, "reason", why)
		return out.at, d.o.Store.DisableDestination(ctx, dest, why)
	}
	return out.at, nil
}

// Attempts is how often the batch's most tried notification was tried,
// this attempt included (Claim counts it): more than 1 when it may have
// been sent before, by a process killed before it recorded the send.
func (b *Batch) Attempts() int {
	n := 0
	for _, it := range b.Items {
		n = max(n, it.attempts)
	}
	return n
}

// backoff is the wait after the given attempt: BackoffMin doubled per
// attempt up to BackoffMax, of which a random half is taken off (equal
// jitter), so retries of one outage spread out yet never come too soon.
func (d *Deliverer) backoff(attempt int) time.Duration {
	r := d.o.Retry
	full := float64(r.BackoffMin) * math.Pow(2, float64(max(0, attempt-1)))
	full = min(full, float64(r.BackoffMax))
	return time.Duration(full/2 + d.o.Jitter()*full/2)
}

// bounced counts a permanent failure of dest (or resets the count on a
// success) and says whether dest has now failed DisableAfter times in a
// row. The count lives in memory: a restart gives a dead address
// DisableAfter more tries.
func (d *Deliverer) bounced(dest int64, failed bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !failed {
		delete(d.permanent, dest)
		return false
	}
	d.permanent[dest]++
	return d.permanent[dest] >= d.o.DisableAfter
}

// notificationIDs is the ids of b's notifications.
func (b *Batch) notificationIDs() []int64 {
	ids := make([]int64, len(b.Items))
	for i, it := range b.Items {
		ids[i] = it.NotificationID
	}
	return ids
}
