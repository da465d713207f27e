package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"hark/delivery"
	"hark/internal/outbound"
	"hark/store"
)

var testSecret = Secret("0123456789abcdef0123456789abcdef")

// receiver is an HTTP receiver on loopback that checks every request's
// signature with the Standard Webhooks reference library, as a user's
// receiver would, and answers what status says.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	status func(n int) int // the answer to the n-th request, from 1
	got    []received
}

type received struct {
	id     string
	header http.Header
	doc    Envelope
	data   BatchData
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{t: t, status: status}
	verifier, err := standardwebhooks.NewWebhook(testSecret.String())
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := verifier.Verify(body, req.Header); err != nil {
			t.Errorf("receiver: signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var rc received
		rc.id, rc.header = req.Header.Get("webhook-id"), req.Header
		var raw struct {
			Envelope
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Errorf("receiver: %v", err)
		}
		rc.doc = raw.Envelope
		_ = json.Unmarshal(raw.Data, &rc.data)
		r.mu.Lock()
		r.got = append(r.got, rc)
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
		io.WriteString(w, "answer body")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func newSender(t *testing.T, o Options) *Sender {
	t.Helper()
	o.Secret = func(store.Destination) (Secret, error) { return testSecret, nil }
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func batch(url string, ids ...int64) *delivery.Batch {
	b := &delivery.Batch{User: "alice", Destination: store.Destination{ID: 7, Kind: Kind, Address: url}}
	for _, id := range ids {
		b.Items = append(b.Items, delivery.Item{
			NotificationID: id, MsgID: "2024-abc", Topic: "org.fedoraproject.prod.bodhi.update.comment",
			App: "bodhi", Title: "bob commented on nethack-3.6.6-1.fc40", Link: "https://bodhi.fedoraproject.org/updates/FEDORA-2024-1",
			Usernames: []string{"bob"}, Packages: []string{"nethack"}, FilterID: 3, FilterName: "my packages",
			Why:  json.RawMessage(`[{"kind":"package","matched":true}]`),
			Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Queued: time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC),
		})
	}
	return b
}

func TestSendSignsAndDocuments(t *testing.T) {
	r := newReceiver(t, func(int) int { return http.StatusNoContent })
	s := newSender(t, Options{AllowPrivate: true})
	if _, err := s.Send(t.Context(), batch(r.srv.URL, 17)); err != nil {
		t.Fatal(err)
	}
	got := r.received()
	if len(got) != 1 {
		t.Fatalf("received %d requests, want 1", len(got))
	}
	g := got[0]
	if g.doc.Type != TypeNotification || g.data.User != "alice" || len(g.data.Notifications) != 1 {
		t.Fatalf("document %+v %+v", g.doc, g.data)
	}
	n := g.data.Notifications[0]
	if n.ID != 17 || n.MessageID != "2024-abc" || n.App != "bodhi" || n.Summary == "" || n.URL == "" ||
		n.Usernames[0] != "bob" || n.Packages[0] != "nethack" || n.Filter.Name != "my packages" || n.Why == nil ||
		!n.Timestamp.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("notification %+v", n)
	}
	if !strings.HasPrefix(g.header.Get("webhook-signature"), "v1,") || g.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", g.header)
	}
}

// TestMessageIDIsStableAcrossAttempts: a repeat carries the same
// webhook-id, which receivers de-duplicate on.
func TestMessageIDIsStableAcrossAttempts(t *testing.T) {
	a, b := MessageID(batch("u", 17, 18)), MessageID(batch("u", 17, 18))
	if a != b || a == MessageID(batch("u", 17)) || a == MessageID(batch("u", 18, 17)) {
		t.Errorf("ids %s %s %s", a, b, MessageID(batch("u", 17)))
	}
	test := batch("u")
	test.Test = true
	test.Items = []delivery.Item{{Title: "test"}}
	if MessageID(test) == MessageID(test) {
		t.Errorf("a test notification's id repeats")
	}
}

func TestSendClassifiesAnswers(t *testing.T) {
	for _, tc := range []struct {
		status    int
		ok, retry bool
	}{
		{200, true, false},
		{202, true, false},
		{204, true, false},
		{301, false, false},
		{302, false, false},
		{400, false, false},
		{401, false, false},
		{404, false, false},
		{410, false, false},
		{408, false, true},
		{429, false, true},
		{500, false, true},
		{502, false, true},
		{503, false, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			r := newReceiver(t, func(int) int { return tc.status })
			retry, err := newSender(t, Options{AllowPrivate: true}).Send(t.Context(), batch(r.srv.URL, 1))
			if (err == nil) != tc.ok || retry != tc.retry {
				t.Errorf("answer %d: retryable %v, err %v; want ok %v, retryable %v", tc.status, retry, err, tc.ok, tc.retry)
			}
		})
	}
}

func TestSendRefusesLoopbackUnlessAllowed(t *testing.T) {
	r := newReceiver(t, func(int) int { return 200 })
	retry, err := newSender(t, Options{}).Send(t.Context(), batch(r.srv.URL, 1))
	if !errors.Is(err, outbound.ErrPrivate) || retry {
		t.Fatalf("send to %s: retryable %v, err %v; want a permanent ErrPrivate", r.srv.URL, retry, err)
	}
	if n := len(r.received()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
	if _, err := newSender(t, Options{AllowPrivate: true}).Send(t.Context(), batch(r.srv.URL, 1)); err != nil {
		t.Errorf("with allow_private: %v", err)
	}
}

func TestSendTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	retry, err := newSender(t, Options{AllowPrivate: true, Timeout: 50 * time.Millisecond}).Send(t.Context(), batch(srv.URL, 1))
	if err == nil || !retry {
		t.Fatalf("retryable %v, err %v; want a retryable timeout", retry, err)
	}
}

func TestConfirmPostsTheLink(t *testing.T) {
	r := newReceiver(t, func(int) int { return 200 })
	s := newSender(t, Options{AllowPrivate: true})
	c := delivery.Confirmation{User: "alice", Destination: store.Destination{Kind: Kind, Address: r.srv.URL},
		Code: "abc", Link: "https://hark.example.org/confirm/7/abc", Expires: time.Now().Add(time.Hour)}
	if err := s.Confirm(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := r.received()
	if len(got) != 1 || got[0].doc.Type != TypeConfirmation {
		t.Fatalf("received %+v", got)
	}
	r2 := newReceiver(t, func(int) int { return 404 })
	c.Destination.Address = r2.srv.URL
	if err := s.Confirm(context.Background(), c); err == nil {
		t.Error("a confirmation answered 404 succeeded")
	}
}

func TestSecrets(t *testing.T) {
	s, err := ParseSecret(testSecret.String())
	if err != nil || string(s) != string(testSecret) {
		t.Fatalf("ParseSecret(%s) = %q, %v", testSecret, s, err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!", "abc", "whsec_" + "c2hvcnQ="} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
	key := []byte("0123456789abcdef")
	a := DeriveSecret(key, store.Destination{ID: 1, Address: "https://a.example/"})
	b := DeriveSecret(key, store.Destination{ID: 2, Address: "https://a.example/"})
	if string(a) == string(b) || string(a) != string(DeriveSecret(key, store.Destination{ID: 1, Address: "https://a.example/"})) {
		t.Error("derived secrets are not per destination and stable")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://ci.example.org/hooks/hark", true},
		{"http://127.0.0.1:8080/x", true}, // the guard decides when dialing
		{"ftp://example.org/", false},
		{"https://", false},
		{"example.org/hook", false},
		{"https://user:pw@example.org/", false},
		{"https://example.org/#x", false},
	} {
		if err := CheckURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}
