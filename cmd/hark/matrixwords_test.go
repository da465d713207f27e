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
// destination fails in each way a homeserver can fail; the API and the
// page say what went wrong in words a user understands, and a bad ID is
// refused naming the field.
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
	testPath := fmt.Sprintf("/destinations/%d/test", dests[0].ID)

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
			var problem struct{ Error string }
			json.Unmarshal([]byte(body), &problem)
			if status != http.StatusBadGateway || !strings.Contains(problem.Error, tc.want) {
				t.Errorf("API: %d %q; want 502 saying %q", status, problem.Error, tc.want)
			}
			resp, err := web.PostForm("http://"+svc.web+testPath, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(html.UnescapeString(string(page)), tc.want) {
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
