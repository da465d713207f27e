package delivery

import (
	"cmp"
	"time"

	"hark/schedule"
	"hark/store"
)

// take is one claim the plan asks for: n notifications, sent one by one
// (NotDigest) or as digests.
type take struct {
	n          int
	digest     DigestReason
	floodUntil time.Time
	// drop: the claimed notifications are dropped unsent (a snooze that
	// ended with "drop").
	drop bool
	// only is the filters whose notifications the take claims: its lane's.
	only store.FilterSet
}

// plan is the batching stage with flood control: what of p, due for dest
// at now, goes out now and how; loc is dest's user's time zone. Notifications it holds back simply stay
// queued, so a pending digest survives a restart.
func (d *Deliverer) plan(dest store.Destination, loc *time.Location, p store.Pending, now time.Time) []take {
	if !dest.SnoozeUntil.IsZero() {
		if takes, decided := snoozed(dest, p, now); decided {
			return takes
		}
	}
	if dest.QuietHours != "" {
		if takes, decided := quiet(dest, loc, p, now); decided {
			return takes
		}
	}
	if dest.DigestAt != "" {
		return scheduled(dest, loc, p, now)
	}
	if until, ok := d.flood.storm(dest.ID); ok {
		if now.Before(until) {
			return nil // the storm's digest goes out at until
		}
		next := d.flood.calm(dest.ID, p.Due, now)
		return []take{{n: p.Due, digest: DigestFlood, floodUntil: next}}
	}
	if dest.BatchCount > 0 || dest.BatchDelta > 0 {
		return batched(dest, p, now)
	}
	allowed := d.flood.allowed(dest.ID, now)
	if p.Due <= allowed {
		return []take{{n: p.Due}}
	}
	d.flood.start(dest.ID, now)
	d.o.Logger.Info("flood control: digests instead of single messages", "destination", dest.ID,
		"due", p.Due, "rate", d.o.Flood.Rate, "window", d.o.Flood.Window, "digest_for", d.o.Flood.DigestFor)
	if allowed == 0 {
		return nil
	}
	return []take{{n: allowed}}
}

// snoozed is the plan of a snoozed destination, when the snooze decides
// it: nothing until it ends; then what waited since before its end as
// one digest, or dropped when the user chose so.
func snoozed(dest store.Destination, p store.Pending, now time.Time) (takes []take, decided bool) {
	switch {
	case now.Before(dest.SnoozeUntil):
		return nil, true
	case p.Oldest.Before(dest.SnoozeUntil):
		return []take{{n: p.Due, digest: DigestBatched, drop: dest.SnoozeDrop}}, true
	}
	return nil, false
}

// quiet is the plan of a destination with quiet hours, when they decide
// it: nothing while they last; once they ended, what waited since before
// their end as one digest. Otherwise (nothing held) the usual plan runs.
// Like scheduled, it keeps nothing but the queue. Quiet hours the store
// holds but this version cannot read hold nothing.
func quiet(dest store.Destination, loc *time.Location, p store.Pending, now time.Time) (takes []take, decided bool) {
	w, err := schedule.ParseWindow(dest.QuietHours)
	if err != nil {
		return nil, false
	}
	inside, lastEnd := w.Contains(now, cmp.Or(loc, time.UTC))
	switch {
	case inside:
		return nil, true
	case p.Oldest.Before(lastEnd):
		return []take{{n: p.Due, digest: DigestBatched}}, true
	}
	return nil, false
}

// scheduled is the plan of a destination with a digest time: everything
// in one digest once that time of day came, on the user's clock, after the
// oldest was queued. Nothing but the queue is kept, so a restart, even in
// the middle of sending, neither loses the digest nor sends it twice (the
// sent journal covers the send itself). A time the store holds but this
// version cannot read sends at once rather than never.
func scheduled(dest store.Destination, loc *time.Location, p store.Pending, now time.Time) []take {
	at, err := schedule.Parse(dest.DigestAt)
	if err == nil && !at.Last(now, cmp.Or(loc, time.UTC)).After(p.Oldest) {
		return nil
	}
	return []take{{n: p.Due, digest: DigestBatched}}
}

// batched is a digest destination's plan: everything once the oldest
// waited BatchDelta, else one digest of BatchCount per BatchCount queued.
func batched(dest store.Destination, p store.Pending, now time.Time) []take {
	if dest.BatchDelta > 0 && now.Sub(p.Oldest) >= dest.BatchDelta {
		return []take{{n: p.Due, digest: DigestBatched}}
	}
	if dest.BatchCount == 0 {
		return nil
	}
	var ts []take
	for range p.Due / dest.BatchCount {
		ts = append(ts, take{n: dest.BatchCount, digest: DigestBatched})
	}
	return ts
}
