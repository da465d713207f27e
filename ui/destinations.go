package ui

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"hark/accounts"
	"hark/store"
)

func init() { register((*Server).destinationRoutes) }

// destinationDone is what each destination action says when it worked.
var destinationDone = map[string]string{
	"resend": "Confirmation sent again.", "delete": "Destination deleted.", "test": "Test notification sent.",
	"confirm": "Destination confirmed: your notifications can now go there.", "preferences": "Preferences saved.",
}

func (s *Server) destinationRoutes(rt *Routes) {
	rt.Page("GET /destinations", s.show(s.destinationsView))
	rt.Page("POST /destinations", func(w http.ResponseWriter, r *http.Request) {
		_, err := s.addDestination(r, r.PostFormValue("kind"), r.PostFormValue("address"), checked(r, "route"))
		s.finishWith(w, r, err, "/destinations", s.destinationsView, "Destination added: open the confirmation link or enter its code to start receiving there.")
	})
	for action, do := range map[string]func(*http.Request, store.Destination) error{
		"resend": s.resendConfirmation,
		"delete": func(r *http.Request, d store.Destination) error { return s.settings.DeleteDestination(r.Context(), d) },
		"test":   s.sendTest,
		"confirm": func(r *http.Request, d store.Destination) error {
			return s.confirmByCode(r, d, r.PostFormValue("code"))
		},
		"preferences": func(r *http.Request, d store.Destination) error { return s.setPreferences(r, d, r.PostForm) },
	} {
		rt.Page("POST /destinations/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			s.finishWith(w, r, s.withDestination(r, do), "/destinations", s.destinationsView, destinationDone[action])
		})
	}
	rt.Public("GET /confirm/{id}/{code}", s.confirmPage)
	rt.Public("POST /confirm/{id}/{code}", s.confirmLink)
	rt.Public("GET /unsubscribe/{token}", s.unsubscribePage)
	rt.Public("POST /unsubscribe/{token}", s.unsubscribe)

	rt.API("GET /destinations", func(r *http.Request) (any, error) {
		ds, err := s.store.ListDestinations(r.Context(), userOf(r).ID)
		return destinationsJSON(ds), err
	})
	rt.API("POST /destinations", func(r *http.Request) (any, error) {
		var in struct {
			Kind    string `json:"kind"`
			Address string `json:"address"`
			// Route sends the user's filters that go nowhere yet here.
			Route bool `json:"route"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		d, err := s.addDestination(r, in.Kind, in.Address, in.Route)
		return toDestinationJSON(d), err
	})
	rt.API("GET /destinations/{id}", func(r *http.Request) (any, error) {
		d, err := s.ownDestination(r)
		return toDestinationJSON(d), err
	})
	rt.API("DELETE /destinations/{id}", func(r *http.Request) (any, error) {
		return nil, s.withDestination(r, func(r *http.Request, d store.Destination) error {
			return s.settings.DeleteDestination(r.Context(), d)
		})
	})
	rt.API("PATCH /destinations/{id}", func(r *http.Request) (any, error) {
		var in map[string]json.RawMessage
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		form := url.Values{}
		for k, v := range in {
			var str string
			if json.Unmarshal(v, &str) != nil {
				str = string(v) // true, false and numbers as their text
			}
			form.Set(k, str)
		}
		return nil, s.withDestination(r, func(r *http.Request, d store.Destination) error { return s.setPreferences(r, d, form) })
	})
	for action, do := range map[string]func(*http.Request, store.Destination) error{
		"resend": s.resendConfirmation,
		"test":   s.sendTest,
	} {
		rt.API("POST /destinations/{id}/"+action, func(r *http.Request) (any, error) { return nil, s.withDestination(r, do) })
	}
	rt.API("POST /destinations/{id}/confirm", func(r *http.Request) (any, error) {
		var in struct{ Code string }
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return nil, s.withDestination(r, func(r *http.Request, d store.Destination) error { return s.confirmByCode(r, d, in.Code) })
	})
}

// destinationRow is one destination of the list with the names of the
// filters that send to it, so people see where their filters go.
type destinationRow struct {
	store.Destination
	Filters []string
}

func (s *Server) destinationsView(r *http.Request) (string, View, error) {
	u := userOf(r)
	ds, err := s.store.ListDestinations(r.Context(), u.ID)
	if err != nil {
		return "", View{}, err
	}
	fs, err := s.store.ListFilters(r.Context(), u.ID)
	if err != nil {
		return "", View{}, err
	}
	rows := make([]destinationRow, len(ds))
	for i, d := range ds {
		rows[i].Destination = d
		for _, f := range fs {
			if slices.Contains(f.DestinationIDs, d.ID) {
				rows[i].Filters = append(rows[i].Filters, f.Name)
			}
		}
	}
	return "destinations.html", View{Title: "Destinations", Data: rows}, nil
}

// ownDestination is the destination {id} of the path if the user may see it.
func (s *Server) ownDestination(r *http.Request) (store.Destination, error) {
	return ownObject(r, s.store.DestinationByID, func(d store.Destination) int64 { return d.UserID })
}

// withDestination runs do on the path's destination if the user owns it.
func (s *Server) withDestination(r *http.Request, do func(*http.Request, store.Destination) error) error {
	d, err := s.ownDestination(r)
	if err != nil {
		return err
	}
	return do(r, d)
}

// addDestination creates an unconfirmed destination of the user
// (accounts.Service.AddDestination) and sends it its confirmation.
func (s *Server) addDestination(r *http.Request, kind, address string, route bool) (store.Destination, error) {
	d, err := s.settings.AddDestination(r.Context(), userOf(r).ID, kind, address, route)
	if errors.Is(err, store.ErrExists) {
		return d, &Problem{Status: http.StatusConflict, Message: "address: already added", Fields: map[string]string{"address": "is already one of your destinations"}}
	}
	if err != nil {
		return d, settingsError(err)
	}
	return d, s.resendConfirmation(r, d)
}

// settingsError is err of the settings service as the pages show it: a
// field's error by its field.
func settingsError(err error) error {
	if fe, ok := errors.AsType[*accounts.FieldError](err); ok {
		return invalid(fe.Field, "%s", fe.Message)
	}
	return err
}

// resendConfirmation sends d a new confirmation code.
func (s *Server) resendConfirmation(r *http.Request, d store.Destination) error {
	switch {
	case d.Confirmed:
		return &Problem{Status: http.StatusConflict, Message: fmt.Sprintf("%s is already confirmed", d.Address)}
	case s.opts.Confirmer == nil:
		return &Problem{Status: http.StatusServiceUnavailable, Message: "this hark cannot send confirmations: ask its admin to configure email and IRC"}
	}
	if err := s.opts.Confirmer.SendConfirmation(r.Context(), d); err != nil {
		s.log.Warn("send confirmation", "destination", d.ID, "err", err)
		return &Problem{Status: http.StatusBadGateway, Message: fmt.Sprintf("could not send the confirmation: %v", err)}
	}
	return nil
}

func (s *Server) sendTest(r *http.Request, d store.Destination) error {
	switch {
	case !d.Confirmed:
		return &Problem{Status: http.StatusConflict, Message: fmt.Sprintf("confirm %s first", d.Address)}
	case s.opts.Tester == nil:
		return &Problem{Status: http.StatusServiceUnavailable, Message: "this hark cannot send test notifications: delivery is not configured"}
	}
	if err := s.opts.Tester.SendTest(r.Context(), d); err != nil {
		return &Problem{Status: http.StatusBadGateway, Message: fmt.Sprintf("sending the test to %s failed: %v", d.Address, err)}
	}
	return nil
}

// confirmByCode confirms d with a code typed into the page (what an IRC
// user received from the bot).
func (s *Server) confirmByCode(r *http.Request, d store.Destination, code string) error {
	err := settingsError(s.settings.Confirm(r.Context(), d, code))
	switch {
	case errors.Is(err, store.ErrBadCode):
		return invalid("code", "is wrong or expired: send a new one")
	case errors.Is(err, store.ErrTaken):
		return &Problem{Status: http.StatusConflict, Message: fmt.Sprintf("another account has confirmed %s first", d.Address),
			Fields: map[string]string{"code": "is right, but another account has confirmed this address first"}}
	}
	return err
}

// setPreferences applies preferences to d. The page's form sends form=1
// and its checkboxes only when ticked, so there a missing flag is false.
func (s *Server) setPreferences(r *http.Request, d store.Destination, form url.Values) error {
	var prefs []accounts.Preference
	for key, v := range form {
		if key != "form" {
			prefs = append(prefs, accounts.Preference{Key: key, Value: v[0]})
		}
	}
	if form.Has("form") {
		for _, flag := range []string{"enabled", "verbose", "markup"} {
			if !form.Has(flag) {
				prefs = append(prefs, accounts.Preference{Key: flag, Value: "false"})
			}
		}
	}
	_, err := s.settings.SetPreferences(r.Context(), d, prefs, accounts.Owner)
	return settingsError(err)
}

// confirmTarget is the destination a confirmation link names while its
// code is good, else errBadLink.
func (s *Server) confirmTarget(r *http.Request) (store.Destination, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	code := r.PathValue("code")
	if err != nil || code == "" || len(code) > 64 {
		return store.Destination{}, errBadLink
	}
	d, err := s.store.DestinationByID(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d, errBadLink
	case err != nil:
		return d, err
	case d.Confirmed || d.ConfirmCode == "" || d.ConfirmExpires.Before(s.now()) ||
		subtle.ConstantTimeCompare([]byte(code), []byte(d.ConfirmCode)) != 1:
		return d, errBadLink
	}
	return d, nil
}

// errBadLink is a confirmation link whose code is wrong, used or expired.
var errBadLink = errors.New("bad confirmation link")

// confirmPage is what the link sent in a confirmation opens: its id and
// code are the proof, no login needed, but only the button confirms.
// Mail scanners open links; they do not press buttons.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.confirmTarget(r)
	if err != nil {
		s.confirmFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "confirm.html", View{Title: "Confirm a destination", Data: d})
}

// confirmLink confirms the link's destination: the button of confirmPage.
func (s *Server) confirmLink(w http.ResponseWriter, r *http.Request) {
	d, err := s.confirmTarget(r)
	if err == nil {
		err = s.settings.Confirm(r.Context(), d, r.PathValue("code"))
	}
	if err != nil {
		s.confirmFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "message.html", View{Title: "Destination confirmed", Notice: "Your notifications can now go there.", NoticeKind: noticeOK})
}

func (s *Server) confirmFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadLink), errors.Is(err, store.ErrBadCode):
		s.render(w, r, http.StatusNotFound, "message.html", View{Title: "Confirmation failed",
			Notice: "This confirmation link is wrong, used or expired. Log in and send a new one from Destinations.", NoticeKind: noticeError})
	case errors.Is(err, store.ErrTaken):
		s.render(w, r, http.StatusConflict, "message.html", View{Title: "Confirmation failed",
			Notice: "Another account has confirmed this address first. If it is yours, ask the admin of this hark.", NoticeKind: noticeError})
	default:
		s.fail(w, r, err)
	}
}

// unsubscribeTarget is the filter an unsubscribe token names.
func (s *Server) unsubscribeTarget(r *http.Request) (store.Filter, error) {
	token := r.PathValue("token")
	if s.opts.Unsubscriber == nil || len(token) > 512 {
		return store.Filter{}, errNotFound
	}
	userID, filterID, created, err := s.opts.Unsubscriber.ParseUnsubscribeToken(token)
	if err != nil {
		return store.Filter{}, errNotFound
	}
	f, err := s.store.FilterByID(r.Context(), filterID)
	if err != nil || f.UserID != userID || !f.Created.Equal(created) {
		return store.Filter{}, errNotFound
	}
	return f, nil
}

// unsubscribePage asks before turning the filter off: mail scanners open
// links, so only the POST (RFC 8058 one-click, or the button) acts.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	f, err := s.unsubscribeTarget(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "unsubscribe.html", View{Title: "Unsubscribe", Data: f})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	f, err := s.unsubscribeTarget(r)
	if err == nil {
		_, err = s.opts.Unsubscriber.Unsubscribe(r.Context(), r.PathValue("token"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "message.html", View{Title: "Unsubscribed",
		Notice: fmt.Sprintf("Your filter %q is off: it sends nothing more until you turn it on again under Filters.", f.Name), NoticeKind: noticeOK})
}

// destinationJSON is a destination as the API shows it: never its code.
type destinationJSON struct {
	ID             int64  `json:"id"`
	Kind           string `json:"kind"`
	Address        string `json:"address"`
	Confirmed      bool   `json:"confirmed"`
	Enabled        bool   `json:"enabled"`
	BatchCount     int    `json:"batch_count"`
	BatchDelta     string `json:"batch_delta"`
	DigestAt       string `json:"digest_at"`
	QuietHours     string `json:"quiet_hours"`
	Snooze         string `json:"snooze"`
	SnoozeThen     string `json:"snooze_then"`
	Verbose        bool   `json:"verbose"`
	Markup         bool   `json:"markup"`
	DisabledReason string `json:"disabled_reason,omitempty"`
}

func toDestinationJSON(d store.Destination) destinationJSON {
	return destinationJSON{d.ID, d.Kind, d.Address, d.Confirmed, d.Enabled, d.BatchCount, d.BatchDelta.String(), d.DigestAt, d.QuietHours, d.SnoozeText(), d.SnoozeThen(), d.Verbose, d.Markup, d.DisabledReason}
}

func destinationsJSON(ds []store.Destination) []destinationJSON {
	out := make([]destinationJSON, len(ds))
	for i, d := range ds {
		out[i] = toDestinationJSON(d)
	}
	return out
}
