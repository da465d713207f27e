package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"hark/filters"
	"hark/store"
)

// filterJSON is a filter as the API reads and writes it. Destinations
// are named as export files name them, "kind:address" (ids are accepted
// too). On create, an absent "active" means on, absent "destinations"
// the user's confirmed destinations, and "template" starts from a named
// template (GET /api/v1/filters/templates) instead of "rules"; on update
// an absent field keeps its value.
type filterJSON struct {
	ID           int64            `json:"id,omitempty"`
	Name         string           `json:"name"`
	Template     string           `json:"template,omitempty"`
	Position     int              `json:"position"`
	Active       *bool            `json:"active,omitempty"`
	Oneshot      bool             `json:"oneshot"`
	Rules        []store.Rule     `json:"rules"`
	Destinations []destinationRef `json:"destinations"`
	Matches      int              `json:"matches_7d"`
}

// destinationRef names a destination: "kind:address", or its id.
type destinationRef struct {
	ID   int64
	Name string
}

func (d *destinationRef) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		return json.Unmarshal(b, &d.Name)
	}
	if err := json.Unmarshal(b, &d.ID); err != nil {
		return fmt.Errorf("a destination is \"kind:address\" or a number")
	}
	return nil
}

func (d destinationRef) MarshalJSON() ([]byte, error) {
	if d.Name != "" {
		return json.Marshal(d.Name)
	}
	return json.Marshal(d.ID)
}

func (d destinationRef) String() string {
	if d.Name != "" {
		return d.Name
	}
	return strconv.FormatInt(d.ID, 10)
}

func destinationName(d store.Destination) string { return d.Kind + ":" + d.Address }

func toFilterJSON(f store.Filter, matches int, dests []store.Destination) filterJSON {
	active := f.Active
	out := filterJSON{ID: f.ID, Name: f.Name, Position: f.Position, Active: &active, Oneshot: f.Oneshot, Rules: f.Rules,
		Destinations: []destinationRef{}, Matches: matches}
	if out.Rules == nil {
		out.Rules = []store.Rule{}
	}
	for _, id := range f.DestinationIDs {
		ref := destinationRef{ID: id}
		if i := slices.IndexFunc(dests, func(d store.Destination) bool { return d.ID == id }); i >= 0 {
			ref.Name = destinationName(dests[i])
		}
		out.Destinations = append(out.Destinations, ref)
	}
	return out
}

// filterJSONOf is f as the API shows it.
func (s *Server) filterJSONOf(r *http.Request, f store.Filter) (filterJSON, error) {
	dests, err := s.store.ListDestinations(r.Context(), f.UserID)
	return toFilterJSON(f, 0, dests), err
}

// filterFromJSON is base changed by what in says, its destinations
// resolved among the owner's, which it also returns.
func (s *Server) filterFromJSON(r *http.Request, in filterJSON, base store.Filter) (store.Filter, []store.Destination, error) {
	dests, err := s.store.ListDestinations(r.Context(), base.UserID)
	if err != nil {
		return base, nil, err
	}
	f := base
	f.Name, f.Oneshot = in.Name, in.Oneshot
	if in.Active != nil {
		f.Active = *in.Active
	}
	if in.Rules != nil || base.ID == 0 {
		f.Rules = in.Rules
	}
	switch {
	case len(in.Destinations) > filters.MaxDestinations:
		return f, dests, invalid("destinations", "a filter has at most %d destinations", filters.MaxDestinations)
	case in.Destinations != nil:
		f.DestinationIDs = nil
		for _, ref := range in.Destinations {
			i := slices.IndexFunc(dests, func(d store.Destination) bool {
				return ref.Name != "" && destinationName(d) == ref.Name || ref.Name == "" && d.ID == ref.ID
			})
			if i < 0 {
				return f, dests, invalid("destinations", "%s is not one of your destinations (add it under Destinations first)", ref)
			}
			f.DestinationIDs = append(f.DestinationIDs, dests[i].ID)
		}
	case base.ID == 0:
		// A new filter goes where the user's confirmed destinations are,
		// so it works at once.
		for _, d := range dests {
			if d.Confirmed && d.Enabled {
				f.DestinationIDs = append(f.DestinationIDs, d.ID)
			}
		}
	}
	return f, dests, nil
}
