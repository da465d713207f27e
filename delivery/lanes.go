package delivery

import (
	"slices"

	"hark/store"
)

// A lane is part of what waits for one destination that goes out one
// way: the destination's own, or that of a filter with a way of its own
// there (a mode for that destination, urgent, snoozed). One address can
// so get failed builds at once and everything else in a daily digest.
// Each lane is planned and claimed apart; like the rest of the plan, a
// lane is worked out again from the queue on every pass, so nothing but
// the queue needs to survive a restart.
type lane struct {
	dest store.Destination // with the lane's mode, quiet hours and snooze
	p    store.Pending     // what of the destination's queue is in the lane
	only store.FilterSet   // the filters whose notifications are in it
}

// lanes splits p, due for dest, into its lanes: one per filter with a way
// of its own at dest, then the rest in dest's own way. A destination none
// of whose filters has one is one lane, as before filters could.
func lanes(dest store.Destination, filters map[int64]store.FilterName, p store.Pending) []lane {
	var out []lane
	var own []int64
	rest := store.Pending{DestinationID: p.DestinationID}
	for _, fp := range p.ByFilter {
		f, ok := filters[fp.FilterID]
		if !ok || !hasOwnWay(f.FilterDelivery, dest.ID) {
			rest.Due += fp.Due
			if rest.Oldest.IsZero() || fp.Oldest.Before(rest.Oldest) {
				rest.Oldest = fp.Oldest
			}
			continue
		}
		own = append(own, fp.FilterID)
		out = append(out, lane{
			dest: filterWay(dest, f.FilterDelivery),
			p:    store.Pending{DestinationID: p.DestinationID, Due: fp.Due, Oldest: fp.Oldest},
			only: store.FilterSet{IDs: []int64{fp.FilterID}},
		})
	}
	if len(own) == 0 {
		return []lane{{dest: dest, p: p, only: store.FilterSet{Except: true}}}
	}
	if rest.Due > 0 {
		out = append(out, lane{dest: dest, p: rest, only: store.FilterSet{IDs: slices.Clone(own), Except: true}})
	}
	return out
}

// hasOwnWay says whether a filter's notifications at destination destID
// go another way than the destination's own.
func hasOwnWay(fd store.FilterDelivery, destID int64) bool {
	_, mode := fd.Modes[destID]
	return mode || fd.Urgent || !fd.SnoozeUntil.IsZero()
}

// filterWay is dest as a filter's notifications see it: the filter's
// mode for it instead of its own, no quiet hours for an urgent filter
// (an urgent "now" sends at once even then; a non-urgent one waits for
// their end), and the later of the two snoozes.
func filterWay(dest store.Destination, fd store.FilterDelivery) store.Destination {
	if m, ok := fd.Modes[dest.ID]; ok {
		dest.BatchCount, dest.BatchDelta, dest.DigestAt = m.Count, m.Every, m.At
	}
	if fd.Urgent {
		dest.QuietHours = ""
	}
	if fd.SnoozeUntil.After(dest.SnoozeUntil) {
		dest.SnoozeUntil, dest.SnoozeDrop = fd.SnoozeUntil, fd.SnoozeDrop
	}
	return dest
}
