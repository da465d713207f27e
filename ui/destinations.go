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
	"strings"
	"time"

	"hark/accounts"
	"hark/destkind"
	"hark/store"
)

func init() { register((*Server).destinationRoutes) }

// destinationDone is what each destination action says when it worked.
var destinationDone = map[string]string{
	"resend": "Confirmation sent again.", "delete": "Destination deleted.", "test": "Test notification queued: it goes out in a moment, and if it cannot, this page says why.",
	"confirm": "Destination confirmed: your notifications can now go there.", "preferences": "Preferences saved.",
}

func (s *Server) destinationRoutes(rt *Routes) {
	rt.Page("GET /destinations", s.show(s.destinationsView))
	rt.Page("POST /destinations", func(w http.ResponseWriter, r *http.Request) {
		const added = "Destination added: open the confirmation link or enter its code to start receiving there."
		d, made, err := s.addDestination(r, r.PostFormValue("kind"), r.PostFormValue("address"), nil, checked(r, "route"))
		if err != nil || len(made) == 0 {
			s.finishWith(w, r, err, "/destinations", s.destinationsView, added)
			return
		}
		// What hark made (a webhook's signing secret) is shown this once,
		// on the page answering the form rather than in a cookie.
		name, v, err := s.destinationsView(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Notice, v.NoticeKind = added+" "+madeText(d, made), noticeOK
		s.render(w, r, http.StatusOK, name, v)
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
			// Settings are the kind's own (destkind's schema).
			Settings map[string]string `json:"settings"`
			// Route sends the user's filters that go nowhere yet here.
			Route bool `json:"route"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		d, made, err := s.addDestination(r, in.Kind, in.Address, in.Settings, in.Route)
		out := toDestinationJSON(d)
		out.Generated = made
		return out, err
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
	} {
		rt.API("POST /destinations/{id}/"+action, func(r *http.Request) (any, error) { return nil, s.withDestination(r, do) })
	}
	// A test is queued for the delivery role, which may run elsewhere:
	// whether it arrived shows as the destination's last_problem.
	rt.API("POST /destinations/{id}/test", func(r *http.Request) (any, error) {
		if err := s.withDestination(r, s.sendTest); err != nil {
			return nil, err
		}
		return accepted(queuedJSON{Status: "queued"}), nil
	})
	rt.API("POST /destinations/{id}/confirm", func(r *http.Request) (any, error) {
		var in struct{ Code string }
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return nil, s.withDestination(r, func(r *http.Request, d store.Destination) error { return s.confirmByCode(r, d, in.Code) })
	})
}

// destinationRow is one destination of the list with the names of the
// filters that send to it, so people see where their filters go, and
// its kind's settings as its form asks for them.
type destinationRow struct {
	store.Destination
	Filters  []string
	Settings []settingRow
	// Problem says what failed of LastProblem and what hark does about
	// it; "" when nothing did.
	Problem string
}

// problemText says what failed of p and what hark does about it, in
// plain words for the destination's owner; "" for no problem.
func problemText(p store.SendProblem) string {
	if p.IsZero() {
		return ""
	}
	what := "the confirmation"
	if p.What == store.SendTest {
		what = "the test notification"
	}
	if p.GaveUp {
		return fmt.Sprintf("hark could not send %s and gave up after %d tries", what, p.Attempts)
	}
	return fmt.Sprintf("hark could not send %s (try %d) and will try again", what, p.Attempts)
}

// settingRow is one setting of a destination's kind with its value; a
// secret's value is never filled in, only whether it is set.
type settingRow struct {
	destkind.Setting
	Value string
	Set   bool
}

// settingRows are d's kind's settings for its form.
func settingRows(d store.Destination) []settingRow {
	k, _ := destkind.Lookup(d.Kind)
	rows := make([]settingRow, len(k.Settings))
	for i, st := range k.Settings {
		_, set := d.Settings[st.Key]
		rows[i] = settingRow{Setting: st, Set: set}
		if !st.Secret {
			rows[i].Value = k.Get(d.Settings, st.Key)
		}
	}
	return rows
}

// madeText tells the user what hark made for d as it was added, once.
func madeText(d store.Destination, made map[string]string) string {
	k, _ := destkind.Lookup(d.Kind)
	var parts []string
	for _, st := range k.Settings {
		if v, ok := made[st.Key]; ok {
			parts = append(parts, fmt.Sprintf("Its %s, shown this once: %s", strings.ToLower(st.Title), v))
		}
	}
	return strings.Join(parts, ". ")
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
		rows[i].Settings = settingRows(d)
		rows[i].Problem = problemText(d.LastProblem)
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
// (accounts.Service.AddDestination) and sends it its confirmation; made
// are the settings the kind made for it, to show once.
func (s *Server) addDestination(r *http.Request, kind, address string, settings map[string]string, route bool) (store.Destination, map[string]string, error) {
	d, made, err := s.settings.AddDestination(r.Context(), userOf(r).ID, kind, address, settings, route)
	if errors.Is(err, store.ErrExists) {
		return d, nil, &Problem{Status: http.StatusConflict, Message: "address: already added", Fields: map[string]string{"address": "is already one of your destinations"}}
	}
	if err != nil {
		return d, nil, settingsError(err)
	}
	return d, made, s.resendConfirmation(r, d)
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
		return &Problem{Status: http.StatusBadGateway, Message: fmt.Sprintf("could not queue the test to %s: %v", d.Address, err)}
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

// setPreferences applies preferences, and settings of d's kind, to d.
// The page's form sends form=1 and its checkboxes only when ticked, so
// there a missing flag is false; and it never shows a secret, so there
// an empty secret keeps the one set.
func (s *Server) setPreferences(r *http.Request, d store.Destination, form url.Values) error {
	k, _ := destkind.Lookup(d.Kind)
	var prefs []accounts.Preference
	for key, v := range form {
		setting, isSetting := k.Setting(key)
		switch {
		case key == "form":
		case isSetting && setting.Secret && v[0] == "" && form.Has("form"):
		default:
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
	// Settings are the kind's settings but its secrets; SecretsSet names
	// the secrets it has, never their values.
	Settings   map[string]string `json:"settings,omitempty"`
	SecretsSet []string          `json:"secrets_set,omitempty"`
	// Generated is what hark made as the destination was added (a
	// webhook's secret): in the answer to the POST only.
	Generated map[string]string `json:"generated,omitempty"`
	// LastProblem is why the last test or confirmation sent here failed,
	// until one goes out.
	LastProblem *problemJSON `json:"last_problem,omitempty"`
}

// problemJSON is a store.SendProblem as the API shows it.
type problemJSON struct {
	At       time.Time `json:"at"`
	What     string    `json:"what"` // "test" or "confirmation"
	Words    string    `json:"words"`
	Attempts int       `json:"attempts"`
	GaveUp   bool      `json:"gave_up"`
	// Summary is the page's sentence: what failed and what hark does.
	Summary string `json:"summary"`
}

// queuedJSON answers a send queued for the delivery role.
type queuedJSON struct {
	Status string `json:"status"`
}

func toDestinationJSON(d store.Destination) destinationJSON {
	k, _ := destkind.Lookup(d.Kind)
	return destinationJSON{d.ID, d.Kind, d.Address, d.Confirmed, d.Enabled, d.BatchCount, d.BatchDelta.String(), d.DigestAt, d.QuietHours,
		d.SnoozeText(), d.SnoozeThen(), d.Verbose, d.Markup, d.DisabledReason, k.Public(d.Settings), k.SecretsSet(d.Settings), nil, toProblemJSON(d.LastProblem)}
}

func toProblemJSON(p store.SendProblem) *problemJSON {
	if p.IsZero() {
		return nil
	}
	return &problemJSON{p.At, string(p.What), p.Words, p.Attempts, p.GaveUp, problemText(p)}
}

func destinationsJSON(ds []store.Destination) []destinationJSON {
	out := make([]destinationJSON, len(ds))
	for i, d := range ds {
		out[i] = toDestinationJSON(d)
	}
	return out
}
