package ntfy

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/delivery"
	"hark/internal/outbound"
	"hark/store"
)

// published is one request as an ntfy server reads it.
type published struct {
	method, path, body string
	header             http.Header
}

// TestPublishAPIAtInProcessReceiverNoNtfyServerInstallable checks the
// requests against ntfy's documented publish API at an in-process
// receiver: no ntfy server can be installed on the test machines.
func TestPublishAPIAtInProcessReceiverNoNtfyServerInstallable(t *testing.T) {
	var mu sync.Mutex
	var got []published
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, published{r.Method, r.URL.Path, string(body), r.Header})
		mu.Unlock()
		io.WriteString(w, `{"id":"x","event":"message"}`)
	}))
	defer srv.Close()
	tokenURL := strings.Replace(srv.URL, "http://", "http://:tk_secret123@", 1) + "/hark-alerts"

	for _, tc := range []struct {
		name                        string
		address                     string
		settings                    map[string]string
		batch                       delivery.Batch
		title, priority, tags, auth string
		click, body                 string
	}{
		{
			name: "error with token", address: tokenURL,
			batch: delivery.Batch{Items: []delivery.Item{{
				NotificationID: 1, Title: "koji build failed: nethack-3.6.6-1.fc40", Subtitle: "on x86_64",
				App: "koji", Link: "https://koji.fedoraproject.org/koji/taskinfo?taskID=1", Severity: bus.SeverityError,
			}}},
			title: "koji build failed: nethack-3.6.6-1.fc40", priority: "5", tags: "rotating_light,koji",
			auth: "Bearer tk_secret123", click: "https://koji.fedoraproject.org/koji/taskinfo?taskID=1", body: "on x86_64",
		},
		{
			name: "token as a setting", address: srv.URL + "/hark-alerts", settings: map[string]string{TokenSetting: "tk_setting456"},
			batch: delivery.Batch{Items: []delivery.Item{{NotificationID: 6, Title: "t", App: "koji", Subtitle: "s"}}},
			title: "t", priority: "3", tags: "koji", auth: "Bearer tk_setting456", body: "s",
		},
		{
			name: "info without token", address: srv.URL + "/hark-alerts",
			batch: delivery.Batch{Items: []delivery.Item{{
				NotificationID: 2, Title: "bob commented on nethack", Topic: "org.fedoraproject.prod.bodhi.update.comment",
				App: "bodhi", HistoryLink: "https://hark.example.org/history#n-2", Severity: bus.SeverityInfo,
			}}},
			title: "bob commented on nethack", priority: "3", tags: "bodhi",
			click: "https://hark.example.org/history#n-2", body: "org.fedoraproject.prod.bodhi.update.comment",
		},
		{
			name: "digest takes the highest severity", address: srv.URL + "/hark-alerts",
			batch: delivery.Batch{Digest: delivery.DigestBatched, Items: []delivery.Item{
				{NotificationID: 3, Title: "one", App: "bodhi", Severity: bus.SeverityInfo, HistoryLink: "https://hark.example.org/history#n-3"},
				{NotificationID: 4, Title: "two", App: "koji", Severity: bus.SeverityWarning},
			}},
			title: "2 notifications", priority: "4", tags: "warning,bodhi,koji",
			click: "https://hark.example.org/history#n-3", body: "• one\n• two",
		},
		{
			name: "non-ASCII title", address: srv.URL + "/hark-alerts",
			batch: delivery.Batch{Items: []delivery.Item{{NotificationID: 5, Title: "Zbyněk commented", App: "bodhi", Subtitle: "ok"}}},
			title: "Zbyněk commented", priority: "3", tags: "bodhi", body: "ok",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			b := tc.batch
			b.User, b.Destination = "alice", store.Destination{Kind: Kind, Address: tc.address, Settings: tc.settings}
			if _, err := New(Options{AllowPrivate: true}).Send(t.Context(), &b); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("server got %d requests, want 1", len(got))
			}
			p := got[0]
			title, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Title"))
			if err != nil {
				t.Fatal(err)
			}
			if p.method != http.MethodPost || p.path != "/hark-alerts" || title != tc.title ||
				p.header.Get("Priority") != tc.priority || p.header.Get("Tags") != tc.tags ||
				p.header.Get("Authorization") != tc.auth || p.header.Get("Click") != tc.click || p.body != tc.body {
				t.Errorf("got %s %s title %q priority %q tags %q auth %q click %q body %q",
					p.method, p.path, title, p.header.Get("Priority"), p.header.Get("Tags"),
					p.header.Get("Authorization"), p.header.Get("Click"), p.body)
			}
		})
	}
}

func TestSendClassifiesAnswersAndRefusesLoopback(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	b := &delivery.Batch{Destination: store.Destination{Kind: Kind, Address: srv.URL + "/t"}, Items: []delivery.Item{{Title: "x"}}}

	if retry, err := New(Options{}).Send(t.Context(), b); !errors.Is(err, outbound.ErrPrivate) || retry {
		t.Errorf("loopback without allow_private: retryable %v, %v", retry, err)
	}
	for _, tc := range []struct {
		status    int
		ok, retry bool
	}{{200, true, false}, {429, false, true}, {503, false, true}, {403, false, false}, {301, false, false}} {
		status = tc.status
		retry, err := New(Options{AllowPrivate: true}).Send(t.Context(), b)
		if (err == nil) != tc.ok || retry != tc.retry {
			t.Errorf("answer %d: retryable %v, %v", tc.status, retry, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://ntfy.sh/my-hark-alerts", true},
		{"https://:tk_abc@ntfy.example.org/alerts", true},
		{"https://alice:pw@ntfy.example.org/alerts", true},
		{"https://ntfy.sh/", false},
		{"https://ntfy.sh/a/b", false},
		{"https://alice@ntfy.sh/a", false},
		{"ntfy.sh/a", false},
		{"https://ntfy.sh/a?x=1", false},
	} {
		if err := CheckURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// TestConfirmationPushAtInProcessReceiverNoNtfyServerInstallable: the
// confirmation is one publish to the topic, with the access token, whose
// message carries the code and whose Click opens the link.
func TestConfirmationPushAtInProcessReceiverNoNtfyServerInstallable(t *testing.T) {
	got := make(chan published, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- published{r.Method, r.URL.Path, string(body), r.Header}
	}))
	defer srv.Close()
	c := delivery.Confirmation{
		User: "alice", Code: "abcd234567", Link: "https://hark.example.org/confirm/7/abcd234567",
		Expires:     time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC),
		Destination: store.Destination{ID: 7, Kind: Kind, Address: srv.URL + "/alerts", Settings: map[string]string{TokenSetting: "tk_abc"}},
	}
	if err := New(Options{AllowPrivate: true}).Confirm(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	p := <-got
	if p.method != http.MethodPost || p.path != "/alerts" || !strings.Contains(p.body, "Confirmation code: abcd234567") ||
		p.header.Get("Click") != c.Link || p.header.Get("Authorization") != "Bearer tk_abc" || p.header.Get("Title") == "" {
		t.Errorf("confirmation published as %s %s %q, headers %v", p.method, p.path, p.body, p.header)
	}
}
