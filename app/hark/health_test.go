package hark

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthzTellsWhatIsStuck(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	const after = 2 * time.Minute
	fine := func() (time.Time, string) { return time.Time{}, "" }
	stuckFor := func(d time.Duration, cause string) func() (time.Time, string) {
		return func() (time.Time, string) { return now.Add(-d), cause }
	}
	for _, tc := range []struct {
		name    string
		ping    error
		commits func() (time.Time, string)
		amqp    func() (time.Time, string)
		code    int
		body    string
	}{
		{"all well", nil, fine, fine, 200, "ok"},
		{"a commit failing for less than stuck_after", nil, stuckFor(after/2, "disk full"), fine, 200, "ok"},
		{"commits failing past stuck_after", nil, stuckFor(after+time.Second, "database or disk is full"), fine, 503, "commits stuck for 2m1s (web.stuck_after 2m0s): database or disk is full"},
		{"no amqp session past stuck_after", nil, fine, stuckFor(3*time.Minute, "connection refused"), 503, "no amqp session for 3m0s (web.stuck_after 2m0s): connection refused"},
		{"store unavailable", errors.New("disk I/O error"), fine, fine, 503, "store unavailable: disk I/O error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := health{
				ping:       func(context.Context) error { return tc.ping },
				stuck:      map[string]func() (time.Time, string){"commits stuck": tc.commits, "no amqp session": tc.amqp},
				stuckAfter: after,
				now:        func() time.Time { return now },
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tc.code || strings.TrimSpace(rec.Body.String()) != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, strings.TrimSpace(rec.Body.String()), tc.code, tc.body)
			}
		})
	}
}
