package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// fakeHomeserver answers as a broken Matrix homeserver would, as mode
// says: down (the connection drops), 502, 429, an expired token, or an
// unknown user. Dendrite cannot be made to answer most of these.
type fakeHomeserver struct {
	mu   sync.Mutex
	mode string
}

func (f *fakeHomeserver) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *fakeHomeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case mode == "down":
		panic(http.ErrAbortHandler) // the connection drops unanswered
	case mode == "502":
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	case mode == "429":
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":3600000}`)
	case mode == "expired token":
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errcode":"M_UNKNOWN_TOKEN","error":"Unknown token","soft_logout":false}`)
	case strings.Contains(r.URL.Path, "/account_data/m.direct"):
		fmt.Fprint(w, `{}`)
	case strings.Contains(r.URL.Path, "/profile/"):
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errcode":"M_NOT_FOUND","error":"Profile was not found"}`)
	default:
		http.NotFound(w, r)
	}
}

// TestDestinationPageWordsMatrixErrors: a test notification to a Matrix
// destination fails in each way a homeserver can fail. The API answers
// that it queued the test; once the delivery role has tried it, the
// destination (in the API and on the page) says what went wrong in words
// a user understands. A bad ID is refused naming the field.
func TestDestinationPageWordsMatrixErrors(t *testing.T) {
	hs := &fakeHomeserver{}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	svc := newService(t, fmt.Sprintf("tcp://127.0.0.1:%d", testpeer.FreePort(t)), fmt.Sprintf(`matrix:
  homeserver: %q
  user_id: "@hark:example.org"
  access_token: secret
`, srv.URL))
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "correct horse battery", "user", "passwd", "alice")
	adminMust(t, "", "destination", "set", "alice", "matrix:@carol:example.org", "confirmed=true")
	svc.start(t)
	web := webClient(t, svc, "alice", "correct horse battery")
	var dests []struct {
		ID int64 `json:"id"`
	}
	callAPI(t, web, svc, "GET", "/destinations", nil, &dests)
	if len(dests) != 1 {
		t.Fatalf("destinations: %+v", dests)
	}
	destPath := fmt.Sprintf("/destinations/%d", dests[0].ID)
	testPath := destPath + "/test"

	for _, tc := range []struct{ mode, want string }{
		{"down", "the Matrix homeserver cannot be reached (it may be down)"},
		{"502", "the Matrix homeserver failed (HTTP 502)"},
		{"429", "the Matrix homeserver asks hark to send more slowly (rate limit)"},
		{"expired token", "the Matrix homeserver no longer accepts hark's bot account (its access token expired or was revoked)"},
		{"unknown user", "there is no Matrix user @carol:example.org"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			hs.set(tc.mode)
			status, body := rawAPI(t, web, svc, "POST", testPath, nil)
			if status != http.StatusAccepted || !strings.Contains(body, `"queued"`) {
				t.Errorf("API: %d %s; want 202 queued", status, body)
			}
			problem := waitProblem(t, web, svc, destPath, tc.want)
			if problem.What != "test" || problem.Attempts < 1 || problem.At.IsZero() {
				t.Errorf("API: last problem %+v; want the test's, with its time and attempt", problem)
			}
			resp, err := web.PostForm("http://"+svc.web+testPath, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			text := html.UnescapeString(string(page))
			if !strings.Contains(text, "Test notification queued") {
				t.Errorf("page (%s) does not say the test was queued:\n%s", resp.Status, page)
			}
			if !strings.Contains(text, "hark could not send the test notification") || !strings.Contains(text, tc.want) {
				t.Errorf("page (%s) does not say %q:\n%s", resp.Status, tc.want, page)
			}
		})
	}

	t.Run("bad id", func(t *testing.T) {
		status, body := rawAPI(t, web, svc, "POST", "/destinations", map[string]string{"kind": "matrix", "address": "carol"})
		if status != http.StatusBadRequest || !strings.Contains(body, `"address"`) || !strings.Contains(body, "is not a Matrix user ID (@name:server") {
			t.Errorf("API: %d %s; want 400 naming address", status, body)
		}
	})
}

// sendProblem is a destination's last_problem in the API.
type sendProblem struct {
	At       time.Time `json:"at"`
	What     string    `json:"what"`
	Words    string    `json:"words"`
	Attempts int       `json:"attempts"`
	GaveUp   bool      `json:"gave_up"`
}

// waitProblem polls destination destPath of the API until its last
// problem says want: the delivery role tries queued sends on its own
// time.
func waitProblem(t *testing.T, c *http.Client, svc *service, destPath, want string) sendProblem {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		var dest struct {
			LastProblem *sendProblem `json:"last_problem"`
		}
		callAPI(t, c, svc, "GET", destPath, nil, &dest)
		if p := dest.LastProblem; p != nil && strings.Contains(p.Words, want) {
			return *p
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the destination's last problem is %+v, not %q", waitTimeout, dest.LastProblem, want)
		}
		<-poll.C
	}
}

// rawAPI is callAPI for answers that are not 2xx: the status and body.
func rawAPI(t *testing.T, c *http.Client, svc *service, method, path string, in any) (int, string) {
	t.Helper()
	var body io.Reader = http.NoBody
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+svc.web+"/api/v1"+path, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
