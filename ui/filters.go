package ui

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"hark/filters"
	"hark/rules"
	"hark/store"
)

func init() { register((*Server).filterRoutes) }

// Limits on what a filter may hold, so one user cannot make matching slow
// for everyone: the filters package's, which imports apply too.
const (
	maxFilterName = filters.MaxNameLen
	maxFilters    = filters.MaxFilters
)

// matchWindow is how far back the filter list counts matches.
const matchWindow = 7 * 24 * time.Hour

func (s *Server) filterRoutes(rt *Routes) {
	rt.Page("GET /filters", s.show(s.filtersView))
	rt.Page("POST /filters", func(w http.ResponseWriter, r *http.Request) {
		if checked(r, "defaults") {
			n, err := s.settings.AddDefaults(r.Context(), userOf(r).Name)
			s.finishWith(w, r, err, "/filters", s.filtersView, fmt.Sprintf("%d default filter(s) added.", n))
			return
		}
		name, err := text(r, "name", maxFilterName)
		var f store.Filter
		switch {
		case err != nil:
		case r.PostFormValue("template") != "":
			f, err = s.filterFromTemplate(r, r.PostFormValue("template"), name)
		default:
			f, err = s.newFilter(r, userOf(r).ID, name, nil)
		}
		s.finishWith(w, r, err, fmt.Sprintf("/filters/%d", f.ID), s.filtersView, fmt.Sprintf("Filter %q created.", f.Name))
	})
	rt.Page("GET /filters/export", s.exportPage)
	rt.Page("POST /filters/import", func(w http.ResponseWriter, r *http.Request) {
		data, err := text(r, "data", maxBody)
		if err == nil {
			err = s.importFilters(r, []byte(data), checked(r, "merge"))
		}
		s.finishWith(w, r, err, "/filters", s.filtersView, "Filters imported.")
	})
	filterDone := map[string]string{"rename": "Filter renamed.", "active": "Filter turned on or off.", "oneshot": "Filter changed."}
	for action, change := range map[string]func(*http.Request, *store.Filter) error{
		"rename": func(r *http.Request, f *store.Filter) error {
			name, err := text(r, "name", maxFilterName)
			f.Name = name
			return err
		},
		"active":  func(r *http.Request, f *store.Filter) error { f.Active = !f.Active; return nil },
		"oneshot": func(r *http.Request, f *store.Filter) error { f.Oneshot = !f.Oneshot; return nil },
	} {
		rt.Page("POST /filters/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			s.finishWith(w, r, s.changeFilter(r, change), "/filters", s.filtersView, filterDone[action])
		})
	}
	rt.Page("POST /filters/{id}/move", func(w http.ResponseWriter, r *http.Request) {
		by := -1
		if r.PostFormValue("direction") == "down" {
			by = 1
		}
		s.finishWith(w, r, s.moveFilter(r, by), "/filters", s.filtersView, "Filter moved.")
	})
	rt.Page("POST /filters/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		s.finishWith(w, r, s.deleteFilter(r), "/filters", s.filtersView, "Filter deleted.")
	})

	rt.API("GET /filters", func(r *http.Request) (any, error) {
		rows, err := s.filterRows(r)
		if err != nil {
			return nil, err
		}
		dests, err := s.store.ListDestinations(r.Context(), userOf(r).ID)
		out := make([]filterJSON, len(rows))
		for i, row := range rows {
			out[i] = toFilterJSON(row.Filter, row.Matches, dests)
		}
		return out, err
	})
	rt.API("POST /filters", func(r *http.Request) (any, error) {
		var in filterJSON
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		f, dests, err := s.filterFromJSON(r, in, store.Filter{UserID: userOf(r).ID, Position: maxFilters, Active: true})
		if err != nil {
			return nil, err
		}
		if in.Template != "" && in.Rules != nil {
			return nil, invalid("rules", "give either a template or rules, not both")
		}
		if in.Template != "" {
			f, err = s.filterFromTemplate(r, in.Template, in.Name)
		} else {
			f, err = s.saveFilter(r, f)
		}
		if err != nil {
			return nil, err
		}
		return created(toFilterJSON(f, 0, dests)), nil
	})
	rt.API("POST /filters/defaults", func(r *http.Request) (any, error) {
		n, err := s.settings.AddDefaults(r.Context(), userOf(r).Name)
		return map[string]int{"added": n}, err
	})
	rt.API("GET /filters/export", func(r *http.Request) (any, error) {
		return s.settings.Export(r.Context(), userOf(r).Name)
	})
	rt.API("POST /filters/import", func(r *http.Request) (any, error) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return nil, s.importFilters(r, data, r.URL.Query().Get("merge") == "true")
	})
	rt.API("PUT /filters/order", func(r *http.Request) (any, error) {
		var in struct {
			IDs []int64 `json:"ids"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return nil, s.orderFilters(r, in.IDs)
	})
	rt.API("GET /filters/{id}", func(r *http.Request) (any, error) {
		f, err := s.ownFilter(r)
		if err != nil {
			return nil, err
		}
		return s.filterJSONOf(r, f)
	})
	rt.API("PUT /filters/{id}", func(r *http.Request) (any, error) {
		var in filterJSON
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		if in.Template != "" {
			return nil, invalid("template", "only a new filter starts from a template")
		}
		old, err := s.ownFilter(r)
		if err != nil {
			return nil, err
		}
		f, dests, err := s.filterFromJSON(r, in, old)
		if err != nil {
			return nil, err
		}
		if f, err = s.saveFilter(r, f); err != nil {
			return nil, err
		}
		return toFilterJSON(f, 0, dests), nil
	})
	rt.API("DELETE /filters/{id}", func(r *http.Request) (any, error) { return nil, s.deleteFilter(r) })
	rt.API("GET /rules/kinds", func(*http.Request) (any, error) { return rules.Kinds(), nil })
}

// filterRow is one line of the filter list.
type filterRow struct {
	store.Filter
	Matches int // messages notified in the last matchWindow
	// Destinations name where the filter sends, as kind:address, with
	// whether each is confirmed.
	Destinations []namedDestination
}

type namedDestination struct {
	Name      string
	Confirmed bool
}

func (s *Server) filterRows(r *http.Request) ([]filterRow, error) {
	u := userOf(r)
	fs, err := s.store.ListFilters(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.FilterMatches(r.Context(), u.ID, s.now().Add(-matchWindow))
	if err != nil {
		return nil, err
	}
	dests, err := s.store.ListDestinations(r.Context(), u.ID)
	rows := make([]filterRow, len(fs))
	for i, f := range fs {
		rows[i] = filterRow{Filter: f, Matches: counts[f.ID]}
		for _, d := range dests {
			if slices.Contains(f.DestinationIDs, d.ID) {
				rows[i].Destinations = append(rows[i].Destinations, namedDestination{d.Kind + ":" + d.Address, d.Confirmed})
			}
		}
	}
	return rows, err
}

// filtersPage is what the filter list shows.
type filtersPage struct {
	Rows      []filterRow
	Templates []filterTemplate
}

func (s *Server) filtersView(r *http.Request) (string, View, error) {
	rows, err := s.filterRows(r)
	return "filters.html", View{Title: "Filters", Data: filtersPage{rows, filterTemplates}}, err
}

// ownFilter is the filter {id} of the path if the user may see it.
func (s *Server) ownFilter(r *http.Request) (store.Filter, error) {
	return ownObject(r, s.store.FilterByID, func(f store.Filter) int64 { return f.UserID })
}

// changeFilter applies change to the path's filter and saves it.
func (s *Server) changeFilter(r *http.Request, change func(*http.Request, *store.Filter) error) error {
	f, err := s.ownFilter(r)
	if err != nil {
		return err
	}
	if err := change(r, &f); err != nil {
		return err
	}
	_, err = s.saveFilter(r, f)
	return err
}

// saveFilter checks f as its owner would have it and stores it
// (accounts.Service.SaveFilter).
func (s *Server) saveFilter(r *http.Request, f store.Filter) (store.Filter, error) {
	f, err := s.settings.SaveFilter(r.Context(), f)
	return f, settingsError(err)
}

func (s *Server) deleteFilter(r *http.Request) error {
	f, err := s.ownFilter(r)
	if err != nil {
		return err
	}
	return s.settings.DeleteFilter(r.Context(), f)
}

// moveFilter moves the path's filter by places in its owner's order.
func (s *Server) moveFilter(r *http.Request, by int) error {
	f, err := s.ownFilter(r)
	if err != nil {
		return err
	}
	return s.settings.MoveFilter(r.Context(), f, by)
}

// orderFilters puts the user's filters in the order of ids, which must
// name each of them once.
func (s *Server) orderFilters(r *http.Request, ids []int64) error {
	return settingsError(s.settings.OrderFilters(r.Context(), userOf(r).ID, ids))
}

// importFilters applies an export file to the user's own filters,
// whichever user the file names.
func (s *Server) importFilters(r *http.Request, data []byte, merge bool) error {
	u := userOf(r)
	e, err := filters.ParseExport("import", data)
	if err != nil {
		return invalid("data", "%v", err)
	}
	e.User = u.Name
	if _, err := s.settings.Import(r.Context(), e, merge); err != nil {
		return invalid("data", "%v", err)
	}
	return nil
}

// exportPage downloads the user's filters as the export file.
func (s *Server) exportPage(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	e, err := s.settings.Export(r.Context(), u.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="hark-filters.json"`)
	writeJSON(w, http.StatusOK, e)
}
