package ui

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"hark/accounts"
	"hark/schedule"
	"hark/store"
)

func init() { register((*Server).filterDeliveryRoutes) }

// filterDeliveryJSON is how a filter is delivered, as the API reads and
// writes it (GET and PUT /api/v1/filters/{id}/delivery). Modes are by
// destination ("kind:address", one of the filter's): now, after 10, every
// 1h, daily 08:00, weekly mon 08:00; in a PUT, "default" gives a
// destination back its own way. Snooze is 2h, 09:00 or tomorrow 09:00
// (the user's clock), an RFC 3339 time, on or off; snooze_then digest or
// drop. A PUT changes the fields it has, and none if one is wrong.
type filterDeliveryJSON struct {
	Urgent     *bool             `json:"urgent,omitempty"`
	Snooze     *string           `json:"snooze,omitempty"`
	SnoozeThen string            `json:"snooze_then,omitempty"`
	Modes      map[string]string `json:"modes,omitempty"`
}

func (s *Server) filterDeliveryRoutes(rt *Routes) {
	rt.API("GET /filters/{id}/delivery", func(r *http.Request) (any, error) {
		f, err := s.ownFilter(r)
		if err != nil {
			return nil, err
		}
		return s.filterDelivery(r, f)
	})
	rt.Page("POST /filters/{id}/delivery", func(w http.ResponseWriter, r *http.Request) {
		in, err := s.filterDeliveryForm(r)
		if err == nil {
			_, err = s.setFilterDelivery(r, in)
		}
		s.finishWith(w, r, err, "/filters/"+r.PathValue("id"), s.editorView, "Delivery saved.")
	})
	rt.API("PUT /filters/{id}/delivery", func(r *http.Request) (any, error) {
		var in filterDeliveryJSON
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		f, err := s.setFilterDelivery(r, in)
		if err != nil {
			return nil, err
		}
		return s.filterDelivery(r, f)
	})
}

// filterDeliveryForm reads the editor's delivery form: a mode per chosen
// destination (empty: its own way), urgent, snooze (empty: off) and
// snooze_then.
func (s *Server) filterDeliveryForm(r *http.Request) (filterDeliveryJSON, error) {
	f, err := s.ownFilter(r)
	if err != nil {
		return filterDeliveryJSON{}, err
	}
	dests, err := s.store.ListDestinations(r.Context(), f.UserID)
	if err != nil {
		return filterDeliveryJSON{}, err
	}
	urgent := r.PostFormValue("urgent") == "true"
	snooze := cmp.Or(strings.TrimSpace(r.PostFormValue("snooze")), "off")
	in := filterDeliveryJSON{Urgent: &urgent, Snooze: &snooze, SnoozeThen: r.PostFormValue("snooze_then"), Modes: map[string]string{}}
	for _, d := range dests {
		if slices.Contains(f.DestinationIDs, d.ID) {
			in.Modes[destinationName(d)] = cmp.Or(strings.TrimSpace(r.PostFormValue(fmt.Sprintf("mode-%d", d.ID))), "default")
		}
	}
	return in, nil
}

// filterDelivery is f's delivery as the API shows it.
func (s *Server) filterDelivery(r *http.Request, f store.Filter) (filterDeliveryJSON, error) {
	dests, err := s.store.ListDestinations(r.Context(), f.UserID)
	if err != nil {
		return filterDeliveryJSON{}, err
	}
	snooze := schedule.SnoozeText(f.SnoozeUntil, time.Now())
	out := filterDeliveryJSON{Urgent: &f.Urgent, Snooze: &snooze, SnoozeThen: "digest", Modes: map[string]string{}}
	if f.SnoozeDrop {
		out.SnoozeThen = "drop"
	}
	for _, d := range dests {
		if m, ok := f.Modes[d.ID]; ok {
			out.Modes[destinationName(d)] = m.String()
		}
	}
	return out, nil
}

// setFilterDelivery checks all of in, then applies it to the path's
// filter, through the functions the command line and the bots use.
func (s *Server) setFilterDelivery(r *http.Request, in filterDeliveryJSON) (store.Filter, error) {
	f, err := s.ownFilter(r)
	if err != nil {
		return store.Filter{}, err
	}
	u := userOf(r)
	if u.ID != f.UserID { // an admin's look at another's filter changes nothing
		return store.Filter{}, errNotFound
	}
	dests, err := s.store.ListDestinations(r.Context(), f.UserID)
	if err != nil {
		return store.Filter{}, err
	}
	for _, d := range slices.Sorted(maps.Keys(in.Modes)) {
		if !slices.ContainsFunc(dests, func(x store.Destination) bool {
			return destinationName(x) == d && slices.Contains(f.DestinationIDs, x.ID)
		}) {
			return store.Filter{}, invalid("modes."+d, "%q is not one of the filter's destinations", d)
		}
		if in.Modes[d] == "default" {
			continue
		}
		if _, err := schedule.ParseMode(in.Modes[d]); err != nil {
			return store.Filter{}, invalid("modes."+d, "%v", err)
		}
	}
	if in.SnoozeThen != "" && in.SnoozeThen != "digest" && in.SnoozeThen != "drop" {
		return store.Filter{}, invalid("snooze_then", "%q is not digest or drop", in.SnoozeThen)
	}
	ctx, now := r.Context(), time.Now()
	if in.Snooze != nil {
		loc, err := accounts.Location(u)
		if err != nil {
			return store.Filter{}, settingsError(err)
		}
		if _, err := schedule.ParseSnooze(*in.Snooze, now, loc); err != nil {
			return store.Filter{}, invalid("snooze", "%v", err)
		}
	}
	for _, d := range slices.Sorted(maps.Keys(in.Modes)) {
		if f, err = s.settings.SetFilterMode(ctx, f, d, in.Modes[d]); err != nil {
			return store.Filter{}, settingsError(err)
		}
	}
	if in.Urgent != nil {
		if f, err = s.settings.SetFilterUrgent(ctx, f, *in.Urgent); err != nil {
			return store.Filter{}, settingsError(err)
		}
	}
	if in.Snooze != nil {
		if _, err := s.settings.SnoozeFilter(ctx, f, *in.Snooze, in.SnoozeThen); err != nil {
			return store.Filter{}, settingsError(err)
		}
	}
	return s.ownFilter(r)
}
