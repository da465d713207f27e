package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/delivery/email"
	"hark/internal/testpeer"
	"hark/store"
	"hark/store/sqlite"
)

// withMail makes the server confirm, test and unsubscribe through a real
// Deliverer mailing a real SMTP server, which it returns.
func withMail(t *testing.T, smtp **testpeer.SMTP) func(*Options) {
	return func(o *Options) {
		*smtp = testpeer.StartSMTP(t)
		mailer, err := email.New(email.Options{Host: (*smtp).Host, Port: (*smtp).Port, TLS: "none", From: "hark@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mailer.Close() })
		d, err := delivery.New(delivery.Options{Store: o.Store.(*sqlite.SQLite), Senders: delivery.Senders{store.KindEmail: mailer},
			BaseURL: o.BaseURL, Key: []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		o.Confirmer, o.Tester, o.Unsubscriber = d, d, d
	}
}

var linkInMail = regexp.MustCompile(`http://[^\s"<>]+/confirm/[0-9]+/[a-z0-9]+`)

func TestDestinationConfirmedByMailedLink(t *testing.T) {
	var smtp *testpeer.SMTP
	ts := newTestServer(t, withMail(t, &smtp))
	alice := ts.login(t, "alice", false)
	if resp := alice.post("/destinations", url.Values{"kind": {"email"}, "address": {"alice@example.org"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: status %d: %s", resp.StatusCode, resp.Body)
	}
	mail := smtp.Wait(1, 10*time.Second)[0]
	link := linkInMail.FindString(mail.Body)
	if link == "" || mail.To[0] != "alice@example.org" {
		t.Fatalf("no confirmation link to alice in:\n%s", mail.Body)
	}
	path := strings.TrimPrefix(link, ts.URL)
	anonymous := ts.client(t)
	if resp := anonymous.get(path + "x"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong code: status %d, want 404", resp.StatusCode)
	}
	// Opening the link, as a mail scanner does, only shows the button.
	for range 2 {
		if resp := anonymous.get(path); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `<form method="post"`) || !strings.Contains(resp.Body, "alice@example.org") {
			t.Fatalf("open link: status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	if resp := alice.get("/api/v1/destinations"); !strings.Contains(resp.Body, `"confirmed": false`) {
		t.Fatalf("confirmed by opening the link: %s", resp.Body)
	}
	if resp := anonymous.post(path+"x", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong code posted: status %d, want 404", resp.StatusCode)
	}
	if resp := anonymous.post(path, nil); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "confirmed") {
		t.Fatalf("confirm: status %d: %s", resp.StatusCode, resp.Body)
	}
	if resp := alice.get("/api/v1/destinations"); !strings.Contains(resp.Body, `"confirmed": true`) {
		t.Fatalf("destination not confirmed: %s", resp.Body)
	}
	if resp := anonymous.get(path); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("link opened after use: status %d, want 404", resp.StatusCode)
	}
	if resp := anonymous.post(path, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("link used twice: status %d, want 404", resp.StatusCode)
	}
}

// TestSquattedAddressCanBeClaimedByItsOwner: mallory adds carol's
// address before carol does. Carol can still add it, and the link of her
// own mail makes it hers; mallory's claim goes. Nobody learns from the
// answer whose addresses are registered.
func TestSquattedAddressCanBeClaimedByItsOwner(t *testing.T) {
	var smtp *testpeer.SMTP
	ts := newTestServer(t, withMail(t, &smtp))
	mallory, carol := ts.login(t, "mallory", false), ts.login(t, "carol", false)
	add := func(c *client, address string) response {
		t.Helper()
		return c.postJSON("/api/v1/destinations", `{"kind": "email", "address": "`+address+`"}`)
	}
	fresh := add(mallory, "nobody@example.org")
	squat := add(mallory, "carol@example.org")
	claim := add(carol, "carol@example.org")
	for _, resp := range []response{squat, claim} {
		if resp.StatusCode != fresh.StatusCode || strings.Contains(resp.Body, "already") {
			t.Fatalf("adding a claimed address: status %d %s; a fresh one: %d", resp.StatusCode, resp.Body, fresh.StatusCode)
		}
	}
	mails := smtp.Wait(3, 10*time.Second)
	var link string
	for _, m := range mails {
		if m.To[0] == "carol@example.org" && regexp.MustCompile(`for the user\s+carol\b`).MatchString(m.Body) {
			link = strings.TrimPrefix(linkInMail.FindString(m.Body), ts.URL)
		}
	}
	if link == "" {
		t.Fatalf("no confirmation for carol's own claim among %d mails", len(mails))
	}
	if resp := ts.client(t).post(link, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("carol confirms: status %d: %s", resp.StatusCode, resp.Body)
	}
	if resp := carol.get("/api/v1/destinations"); !strings.Contains(resp.Body, `"confirmed": true`) {
		t.Fatalf("carol's destination not confirmed: %s", resp.Body)
	}
	if resp := mallory.get("/api/v1/destinations"); strings.Contains(resp.Body, "carol@example.org") {
		t.Fatalf("mallory still claims carol's address: %s", resp.Body)
	}
	// Now confirmed, the address still cannot be told from a fresh one,
	// and the claim cannot be confirmed.
	eve := ts.login(t, "eve", false)
	resp := add(eve, "carol@example.org")
	if resp.StatusCode != fresh.StatusCode {
		t.Fatalf("adding a confirmed address of another user: status %d %s", resp.StatusCode, resp.Body)
	}
	var d destinationJSON
	if err := json.Unmarshal([]byte(resp.Body), &d); err != nil {
		t.Fatal(err)
	}
	// Had eve the code (carol's mailbox has it), it would not do.
	stored, err := ts.store.DestinationByID(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp = eve.postJSON(fmt.Sprintf("/api/v1/destinations/%d/confirm", d.ID), `{"code": "`+stored.ConfirmCode+`"}`)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Body, "another account has confirmed carol@example.org first") {
		t.Fatalf("confirming a claim on carol's confirmed address: status %d %s; want 409", resp.StatusCode, resp.Body)
	}
}

func TestSendTestNeedsConfirmedDestination(t *testing.T) {
	var smtp *testpeer.SMTP
	ts := newTestServer(t, withMail(t, &smtp))
	alice := ts.login(t, "alice", false)
	u, _ := ts.store.UserByName(context.Background(), "alice")
	d, err := ts.store.SaveDestination(context.Background(), store.Destination{UserID: u.ID, Kind: "email", Address: "a@example.org", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/destinations/%d/test", d.ID)
	if resp := alice.postJSON(path, ""); resp.StatusCode != http.StatusConflict {
		t.Fatalf("unconfirmed: status %d, want 409: %s", resp.StatusCode, resp.Body)
	}
	d.Confirmed = true
	if _, err := ts.store.SaveDestination(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if resp := alice.postJSON(path, ""); resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, `"queued"`) {
		t.Fatalf("confirmed: status %d: %s; want 202 queued", resp.StatusCode, resp.Body)
	}
	if m := smtp.Wait(1, 10*time.Second)[0]; m.To[0] != "a@example.org" {
		t.Fatalf("test mail went to %v", m.To)
	}
}

func TestUnsubscribeLinkTurnsFilterOff(t *testing.T) {
	var smtp *testpeer.SMTP
	var d *delivery.Deliverer
	ts := newTestServer(t, withMail(t, &smtp), func(o *Options) { d = o.Unsubscriber.(*delivery.Deliverer) })
	_, f := bobsThings(t, ts)
	path := "/unsubscribe/" + d.UnsubscribeToken(f.UserID, f.ID, f.Created)
	c := ts.client(t)
	if resp := c.get(path); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "bob&#39;s") {
		t.Fatalf("GET: status %d: %s", resp.StatusCode, resp.Body)
	}
	if got, _ := ts.store.FilterByID(context.Background(), f.ID); !got.Active {
		t.Fatal("GET turned the filter off: link scanners would unsubscribe people")
	}
	if resp := c.post(path, url.Values{"List-Unsubscribe": {"One-Click"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: status %d: %s", resp.StatusCode, resp.Body)
	}
	if got, _ := ts.store.FilterByID(context.Background(), f.ID); got.Active {
		t.Fatal("filter still active after unsubscribing")
	}
	if resp := c.post("/unsubscribe/forged"+path[len("/unsubscribe/"):], nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("forged token: status %d, want 404", resp.StatusCode)
	}
}

// TestUnsubscribeLinkOfDeletedUserSparesTheNextOwnerOfTheIDs replays
// an unsubscribe link of a deleted user after a new user got the same
// user and filter ids: the link names a filter that is gone.
func TestUnsubscribeLinkOfDeletedUserSparesTheNextOwnerOfTheIDs(t *testing.T) {
	var smtp *testpeer.SMTP
	var d *delivery.Deliverer
	ts := newTestServer(t, withMail(t, &smtp), func(o *Options) { d = o.Unsubscriber.(*delivery.Deliverer) })
	ctx := context.Background()
	_, old := bobsThings(t, ts)
	path := "/unsubscribe/" + d.UnsubscribeToken(old.UserID, old.ID, old.Created)
	if err := ts.store.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	carol := ts.addUser(t, "carol", false)
	f, err := ts.store.SaveFilter(ctx, store.Filter{UserID: carol.ID, Name: "carol's", Active: true, Created: old.Created.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if carol.ID != old.UserID || f.ID != old.ID {
		t.Fatalf("ids not reused (user %d→%d, filter %d→%d): the test proves nothing", old.UserID, carol.ID, old.ID, f.ID)
	}
	c := ts.client(t)
	if resp := c.get(path); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET: status %d, want 404: %s", resp.StatusCode, resp.Body)
	}
	if resp := c.post(path, url.Values{"List-Unsubscribe": {"One-Click"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST: status %d, want 404: %s", resp.StatusCode, resp.Body)
	}
	if _, err := d.Unsubscribe(ctx, path[len("/unsubscribe/"):]); err == nil {
		t.Fatal("Unsubscribe accepted the old link")
	}
	if got, _ := ts.store.FilterByID(ctx, f.ID); !got.Active {
		t.Fatal("the old link turned off carol's filter")
	}
}

// TestFormErrorsNameTheField posts hostile or wrong input to each form
// and expects a 400 page with the message next to the field, the input
// escaped.
func TestFormErrorsNameTheField(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	f, err := ts.store.SaveFilter(context.Background(), store.Filter{UserID: 1, Name: "mine", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	filter := fmt.Sprintf("/filters/%d", f.ID)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"bad email", "/destinations", url.Values{"kind": {"email"}, "address": {"<script>alert(1)</script>"}}, "is not a plain email address"},
		{"unknown kind", "/destinations", url.Values{"kind": {"pager"}, "address": {"x"}}, "must be email, irc, irc-channel, matrix, matrix-room, webhook or ntfy"},
		{"long address", "/destinations", url.Values{"kind": {"email"}, "address": {strings.Repeat("a", 300) + "@x.org"}}, "longer than 254"},
		{"empty filter name", "/filters", url.Values{"name": {""}}, "is required"},
		{"duplicate filter name", "/filters", url.Values{"name": {"mine"}}, "already have a filter named"},
		{"long filter name", "/filters", url.Values{"name": {strings.Repeat("x", 101)}}, "longer than 100"},
		{"bad regex", filter + "/rules", url.Values{"kind": {"regex"}, "value": {"(unclosed"}}, "missing closing )"},
		{"unknown rule kind", filter + "/rules", url.Values{"kind": {"<b>"}, "value": {"x"}}, "choose a rule kind"},
		{"empty rule value", filter + "/rules", url.Values{"kind": {"app"}, "value": {""}}, "is required"},
		{"bad import", "/filters/import", url.Values{"data": {`{"version": 9}`}}, "version 9 is not supported"},
		{"bad time zone", "/account/timezone", url.Values{"timezone": {"Mars/Olympus"}}, "not an IANA time zone"},
		{"wrong current password", "/account/password", url.Values{"current": {"nope"}, "password": {"new password"}}, "not your current password"},
		{"short new password", "/account/password", url.Values{"current": {"password1"}, "password": {"short"}}, "at least 8"},
		{"empty token name", "/account/tokens", url.Values{"name": {""}}, "is required"},
		{"delete without confirmation", "/account/delete", url.Values{"confirm": {"bob"}}, "type your user name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.post(tc.path, tc.form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `class="field-error"`) || !strings.Contains(resp.Body, tc.want) {
				t.Fatalf("status %d, want 400 with a field error %q:\n%s", resp.StatusCode, tc.want, resp.Body)
			}
			if strings.Contains(resp.Body, "<script>alert") {
				t.Fatal("input echoed unescaped")
			}
		})
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	resp := alice.post("/filters/import", url.Values{"data": {strings.Repeat("x", maxBody+1)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

func TestFilterListActions(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	for _, name := range []string{"first", "second"} {
		if resp := alice.postJSON("/api/v1/filters", `{"name":"`+name+`","active":true,"rules":[{"kind":"app","args":{"names":["bodhi"]}}],"destinations":[]}`); resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
	list := func() []filterJSON {
		var fs []filterJSON
		if err := json.Unmarshal([]byte(alice.get("/api/v1/filters").Body), &fs); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	fs := list()
	second := fmt.Sprintf("/filters/%d", fs[1].ID)
	for _, tc := range []struct {
		name  string
		path  string
		form  url.Values
		check func([]filterJSON) bool
	}{
		{"move up", second + "/move", url.Values{"direction": {"up"}}, func(fs []filterJSON) bool { return fs[0].Name == "second" }},
		{"rename", second + "/rename", url.Values{"name": {"renamed"}}, func(fs []filterJSON) bool { return fs[0].Name == "renamed" }},
		{"turn off", second + "/active", nil, func(fs []filterJSON) bool { return !*fs[0].Active }},
		{"make one-shot", second + "/oneshot", nil, func(fs []filterJSON) bool { return fs[0].Oneshot }},
		{"negate rule", second + "/rules/0/negate", nil, func(fs []filterJSON) bool { return fs[0].Rules[0].Negate }},
		{"remove rule", second + "/rules/0/delete", nil, func(fs []filterJSON) bool { return len(fs[0].Rules) == 0 }},
		{"add rule", second + "/rules", url.Values{"kind": {"package"}, "value": {"kernel, glibc"}},
			func(fs []filterJSON) bool {
				var args struct{ Names []string }
				json.Unmarshal(fs[0].Rules[0].Args, &args)
				return strings.Join(args.Names, " ") == "kernel glibc"
			}},
		{"delete", second + "/delete", nil, func(fs []filterJSON) bool { return len(fs) == 1 && fs[0].Name == "first" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := alice.post(tc.path, tc.form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if fs := list(); !tc.check(fs) {
				t.Fatalf("filters after: %+v", fs)
			}
		})
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	alice.post("/filters", url.Values{"defaults": {"1"}})
	exported := alice.get("/filters/export")
	if exported.StatusCode != http.StatusOK || !strings.Contains(exported.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", exported.StatusCode, exported.Header)
	}
	bob := ts.login(t, "bob", false)
	if resp := bob.post("/filters/import", url.Values{"data": {exported.Body}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d %s", resp.StatusCode, resp.Body)
	}
	again := bob.get("/filters/export").Body
	if strings.Replace(again, `"user": "bob"`, `"user": "alice"`, 1) != exported.Body {
		t.Fatalf("bob's import differs from alice's export:\n%s\n---\n%s", exported.Body, again)
	}
}

func TestFirstLoginGetsDefaultFilters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		defaults bool
		want     bool
	}{
		{"defaults on", true, true},
		{"defaults off", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(o *Options) { o.DefaultFilters = tc.defaults })
			ts.login(t, "alice", false)
			ts.login(t, "alice", false) // a second login adds nothing more
			fs, err := ts.store.ListFilters(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if (len(fs) > 0) != tc.want || (tc.want && len(fs) != 2) {
				t.Fatalf("%d filters after two logins", len(fs))
			}
		})
	}
}

func TestAccountChanges(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	if resp := alice.post("/account/timezone", url.Values{"timezone": {"Europe/Prague"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("time zone: %d", resp.StatusCode)
	}
	if resp := alice.get("/api/v1/account"); !strings.Contains(resp.Body, "Europe/Prague") {
		t.Fatalf("time zone not saved: %s", resp.Body)
	}
	if resp := alice.post("/account/password", url.Values{"current": {"password1"}, "password": {"a new password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := ts.client(t).post("/login", url.Values{"username": {"alice"}, "password": {"a new password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", resp.StatusCode)
	}
	if resp := alice.post("/account/delete", url.Values{"confirm": {"alice"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Body)
	}
	if _, err := ts.store.UserByName(context.Background(), "alice"); err == nil {
		t.Fatal("alice still exists")
	}
}

func TestNewDestinationRoutesFiltersThatGoNowhere(t *testing.T) {
	for _, tc := range []struct {
		name  string
		route bool
		want  int // default filters sent to the new destination
	}{
		{"route ticked", true, 2},
		{"route unticked", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var smtp *testpeer.SMTP
			ts := newTestServer(t, withMail(t, &smtp), func(o *Options) { o.DefaultFilters = true })
			alice := ts.login(t, "alice", false)
			form := url.Values{"kind": {"email"}, "address": {"alice@example.org"}}
			if tc.route {
				form.Set("route", "1")
			}
			if resp := alice.post("/destinations", form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("add: %d %s", resp.StatusCode, resp.Body)
			}
			fs, err := ts.store.ListFilters(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			routed := 0
			for _, f := range fs {
				routed += len(f.DestinationIDs)
			}
			if routed != tc.want {
				t.Fatalf("%d filters routed to the new destination, want %d", routed, tc.want)
			}
		})
	}
}

// TestDestinationShowsItsLastSendProblem: the problem delivery recorded
// on a destination shows beside it on the page, escaped, and in the API,
// until a success clears it.
func TestDestinationShowsItsLastSendProblem(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	ctx := context.Background()
	u, _ := ts.store.UserByName(ctx, "alice")
	d, err := ts.store.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: "email", Address: "a@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	apiPath := fmt.Sprintf("/api/v1/destinations/%d", d.ID)
	for _, tc := range []struct {
		name    string
		problem store.SendProblem
		page    []string // on the page; none: no problem shown
		api     string   // in the API's answer; "": no last_problem
	}{
		{"trying again", store.SendProblem{At: time.Now(), What: store.SendTest, Words: "the mail server refused <a@example.org>", Attempts: 2},
			[]string{"hark could not send the test notification (try 2) and will try again", "the mail server refused &lt;a@example.org&gt;"},
			`"summary": "hark could not send the test notification (try 2) and will try again"`},
		{"given up", store.SendProblem{At: time.Now(), What: store.SendConfirmation, Words: "no such mailbox", Attempts: 5, GaveUp: true},
			[]string{"hark could not send the confirmation and gave up after 5 tries", "no such mailbox"}, `"gave_up": true`},
		{"sent since", store.SendProblem{}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ts.store.SetSendProblem(ctx, d.ID, tc.problem); err != nil {
				t.Fatal(err)
			}
			page := alice.get("/destinations").Body
			for _, want := range tc.page {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%s", want, page)
				}
			}
			if len(tc.page) == 0 && strings.Contains(page, `class="state-bad problem"`) {
				t.Errorf("page shows a problem after a success:\n%s", page)
			}
			api := alice.get(apiPath).Body
			if tc.api == "" && strings.Contains(api, "last_problem") || tc.api != "" && !strings.Contains(api, tc.api) {
				t.Errorf("API answer lacks %q (or has a problem it should not):\n%s", tc.api, api)
			}
		})
	}
}
