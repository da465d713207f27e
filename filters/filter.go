// Package filters holds users' filters and matches one bus message against
// all of them at once. A filter is an AND of rules (each may be negated);
// a user's filters are ORed, and for each of the user's destinations the
// first matching filter in the user's order is the one reported. The
// Index files every active filter under what a message must have for it
// to match, so a message evaluates only the filters that could match it,
// and each distinct rule at most once. It knows nothing about delivery or
// storage.
package filters

import (
	"encoding/json"

	"hark/rules"
)

// Filter is one of a user's filters, as stored and exported.
type Filter struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
	// OneShot filters deactivate themselves on the first match that
	// produces a notification.
	OneShot bool `json:"oneshot"`
	// Destinations are "email:ADDRESS" or "irc:NICK".
	Destinations []string     `json:"destinations"`
	Rules        []rules.Spec `json:"rules"`
	// Modes gives, by destination (one of Destinations), how this
	// filter's notifications go there instead of the destination's own
	// way: now, after 10, every 1h, daily 08:00, weekly mon 08:00 (see
	// schedule.ParseMode).
	Modes map[string]string `json:"modes,omitempty"`
	// Urgent filters' notifications go out during quiet hours.
	Urgent bool `json:"urgent,omitempty"`
	// Snooze, when set, holds the filter's notifications until an RFC
	// 3339 time, or until turned off ("on"); SnoozeThen says what then
	// happens to them: "digest" (the default) or "drop".
	Snooze     string `json:"snooze,omitempty"`
	SnoozeThen string `json:"snooze_then,omitempty"`
	// Ref is what a store knows the filter by. The index hands it back
	// with every hit, so a caller never maps names back to ids. The zero
	// Ref is a filter no store holds (a file being checked, a draft
	// previewed).
	Ref Ref `json:"-"`
}

// Ref is a stored filter's identity: its user's id, its own, and its
// destinations', DestinationIDs[i] being Destinations[i].
type Ref struct {
	UserID, FilterID int64
	DestinationIDs   []int64
}

// Hit is one notification to make: a (user, destination) pair and the
// first of the user's filters that matched for that destination.
type Hit struct {
	User        string `json:"user"`
	Filter      string `json:"filter"`
	Destination string `json:"destination"`
	// UserID, FilterID and DestinationID are the filter's Ref for this
	// hit and OneShot its flag, as the index held the filter when it
	// matched; all zero for a filter without a Ref.
	UserID        int64 `json:"-"`
	FilterID      int64 `json:"-"`
	DestinationID int64 `json:"-"`
	OneShot       bool  `json:"-"`
	why           *json.RawMessage
}

// Why is the filter's rules' verdicts (MatchedVerdicts) as JSON, for a
// filter with a Ref (nil else): what a notification shows as the reason
// it was sent. It is made once per filter, not per hit, and keeps Hit
// comparable.
func (h Hit) Why() json.RawMessage {
	if h.why == nil {
		return nil
	}
	return *h.why
}
