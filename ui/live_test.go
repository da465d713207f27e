package ui

import (
	"encoding/json"
	"hark/delivery"
	"hark/delivery/ntfy"
	"hark/delivery/webhook"
	"html"
	"io"
	"net/http/httptest"
	"slices"
	"sync/atomic"

	"bufio"
	"context"
	"hark/store"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvents reads the ids of the events of a stream until it has n.
func sseEvents(t *testing.T, c *client, path, lastEventID string, n int, during func()) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if during != nil {
		during()
	}
	var ids []string
	sc := bufio.NewScanner(resp.Body)
	for len(ids) < n && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) < n {
		t.Fatalf("GET %s: %d events %v before the stream ended (%v), want %d", path, len(ids), ids, sc.Err(), n)
	}
	return ids
}

// TestLiveStreamResumesFromLastEventID: a new stream sends what is made
// after it opens; one resuming with Last-Event-ID sends everything after
// that id first.
func TestLiveStreamResumesFromLastEventID(t *testing.T) {
	ts := newTestServer(t)
	c := ts.login(t, "alice", false)
	ns := notified(t, ts, "alice", "2026-a", "2026-b", "2026-c") // newest first
	oldest := strconv.FormatInt(ns[2].ID, 10)

	got := sseEvents(t, c, "/live/events", oldest, 2, nil)
	if want := []string{strconv.FormatInt(ns[1].ID, 10), strconv.FormatInt(ns[0].ID, 10)}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resumed after %s: events %v, want %v", oldest, got, want)
	}

	var later string
	got = sseEvents(t, c, "/live/events", "", 1, func() {
		later = strconv.FormatInt(notifyAgain(t, ts, ns[0], "2026-d").ID, 10)
	})
	if got[0] != later {
		t.Errorf("new stream: first event %s, want %s (made after it opened)", got[0], later)
	}
	if resp := ts.client(t).get("/live/events"); resp.StatusCode == http.StatusOK {
		t.Errorf("the stream answers a visitor who is not logged in")
	}
}

func TestBusStreamIsForAdminsAndFiltersTopics(t *testing.T) {
	ts := newTestServer(t)
	if resp := ts.login(t, "bob", false).get("/admin/bus/events"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a user's bus stream: %d, want 403", resp.StatusCode)
	}
	admin := ts.login(t, "root", true)
	var want string
	got := sseEvents(t, admin, "/admin/bus/events?topic=bodhi", "", 1, func() {
		notified(t, ts, "carol", "2026-e")
		want = "2026-e"
	})
	if got[0] == "" || want == "" {
		t.Errorf("bus events %v", got)
	}
}

// notifyAgain queues one more notification like n, of message key.
func notifyAgain(t *testing.T, ts *testServer, n store.Notification, key string) store.Notification {
	t.Helper()
	ctx := context.Background()
	m, err := store.NewMessage(key, "org.fedoraproject.prod.bodhi.update.comment", 1767225600, []byte(`{"msg_id":"`+key+`"}`),
		map[string]string{"subtitle": "bob commented on " + key})
	if err != nil {
		t.Fatal(err)
	}
	match := store.Match{UserID: n.UserID, DestinationID: n.DestinationID, FilterID: n.FilterID, Why: json.RawMessage(why)}
	if _, err := ts.store.Enqueue(ctx, []store.Accepted{{Message: m, Matches: []store.Match{match}}}); err != nil {
		t.Fatal(err)
	}
	ns, err := ts.store.ListNotifications(ctx, store.NotificationQuery{Limit: 1})
	if err != nil || len(ns) != 1 || ns[0].MsgKey != key {
		t.Fatalf("queued %v, %v", ns, err)
	}
	return ns[0]
}

// TestAddWebhookDestinationFromThePage adds a webhook on the
// destinations page: a bad URL is refused next to the field, and a good
// one is confirmed by its receiver answering the confirmation request.
func TestAddWebhookDestinationFromThePage(t *testing.T) {
	var confirmations atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { confirmations.Add(1) }))
	defer receiver.Close()
	ts := newTestServer(t, func(o *Options) {
		d, err := delivery.New(delivery.Options{Store: o.Store.(delivery.Store), Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: o.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		hooks, err := webhook.New(webhook.Options{AllowPrivate: true,
			Secret: func(store.Destination) (webhook.Secret, error) {
				return webhook.Secret("0123456789abcdef01234567"), nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		d.Register(webhook.Kind, hooks)
		o.Confirmer = d
	})
	c := ts.login(t, "alice", false)
	resp := c.post("/destinations", url.Values{"kind": {"webhook"}, "address": {"ftp://example.org/x"}})
	if !strings.Contains(resp.Body, "is not an http or https URL") {
		t.Errorf("a bad webhook URL: %d\n%s", resp.StatusCode, resp.Body)
	}
	hook := receiver.URL + "/hooks/hark"
	resp = c.post("/destinations", url.Values{"kind": {"webhook"}, "address": {hook}})
	_, shown, _ := strings.Cut(resp.Body, "Its signing secret, shown this once: ")
	shown, _, _ = strings.Cut(shown, "<")
	shown = html.UnescapeString(shown)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(shown, "whsec_") {
		t.Fatalf("add webhook: %d, no secret shown\n%s", resp.StatusCode, resp.Body)
	}
	ds, err := ts.store.ListDestinations(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ds, func(d store.Destination) bool { return d.Kind == store.KindWebhook && d.Address == hook })
	if i < 0 || !ds[i].Confirmed || confirmations.Load() != 1 {
		t.Fatalf("destinations %+v, %d confirmation requests; want the webhook confirmed by one", ds, confirmations.Load())
	}
	if ds[i].Settings["secret"] != strings.TrimSpace(shown) {
		t.Errorf("stored secret differs from the one shown")
	}
	// Never shown again: not on the page, not by the API.
	page := c.get("/destinations")
	api := c.get("/api/v1/destinations")
	for _, body := range []string{page.Body, api.Body} {
		if strings.Contains(body, ds[i].Settings["secret"]) {
			t.Errorf("the secret is shown again:\n%s", body)
		}
	}
	if !strings.Contains(page.Body, "set: type to replace") || !strings.Contains(strings.Join(strings.Fields(api.Body), ""), `"secrets_set":["secret"]`) {
		t.Errorf("the page or the API does not say the secret is set:\n%s\n%s", page.Body, api.Body)
	}
	// The page's form replaces it, and keeps it when left empty; a bad
	// one is refused naming the field.
	id := strconv.FormatInt(ds[i].ID, 10)
	chosen := "whsec_" + strings.Repeat("QUJD", 8)
	for _, tc := range []struct{ secret, want, err string }{
		{"whsec_short", ds[i].Settings["secret"], "is not whsec_ followed by"},
		{chosen, chosen, ""},
		{"", chosen, ""},
	} {
		resp := c.post("/destinations/"+id+"/preferences", url.Values{"form": {"prefs-" + id}, "enabled": {"true"}, "secret": {tc.secret}})
		if tc.err != "" && !strings.Contains(resp.Body, tc.err) || tc.err == "" && resp.StatusCode != http.StatusSeeOther {
			t.Errorf("secret=%q: %d\n%s", tc.secret, resp.StatusCode, resp.Body)
		}
		d, err := ts.store.DestinationByID(context.Background(), ds[i].ID)
		if err != nil || d.Settings["secret"] != tc.want {
			t.Errorf("secret=%q: stored %q, %v; want %q", tc.secret, d.Settings["secret"], err, tc.want)
		}
	}
}

// TestAddNtfyDestinationConfirmedByTypedCode adds an ntfy topic on the
// destinations page: it is not confirmed by adding it; the code pushed
// to the topic (at an in-process receiver: no ntfy server can be
// installed here), typed into the page, confirms it.
func TestAddNtfyDestinationConfirmedByTypedCode(t *testing.T) {
	pushed := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		pushed <- string(body)
	}))
	defer receiver.Close()
	ts := newTestServer(t, func(o *Options) {
		d, err := delivery.New(delivery.Options{Store: o.Store.(delivery.Store), Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: o.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		d.Register(ntfy.Kind, ntfy.New(ntfy.Options{AllowPrivate: true}))
		o.Confirmer = d
	})
	c := ts.login(t, "alice", false)
	topic := receiver.URL + "/alerts"
	if resp := c.post("/destinations", url.Values{"kind": {"ntfy"}, "address": {topic}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add ntfy: %d\n%s", resp.StatusCode, resp.Body)
	}
	d, err := ts.store.DestinationByAddress(context.Background(), store.KindNtfy, topic)
	if err != nil || d.Confirmed {
		t.Fatalf("destination %+v, %v; want it waiting for confirmation", d, err)
	}
	_, code, _ := strings.Cut(<-pushed, "Confirmation code: ")
	code, _, _ = strings.Cut(code, " ")
	id := strconv.FormatInt(d.ID, 10)
	c.post("/destinations/"+id+"/confirm", url.Values{"form": {"confirm-" + id}, "code": {code}})
	if d, err := ts.store.DestinationByID(context.Background(), d.ID); err != nil || !d.Confirmed {
		t.Errorf("after typing code %q: %+v, %v; want confirmed", code, d, err)
	}
}
