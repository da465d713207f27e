package hark

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// health answers /healthz: 503 with the reason when the store does not
// answer, or when a part that should make progress has been stuck longer
// than stuckAfter (commits failing or hanging, as on a full disk; the
// AMQP source without a session, as with its broker down), so a
// supervisor sees what a quiet bus and a wedged service have in common.
type health struct {
	ping       func(context.Context) error
	stuck      map[string]func() (since time.Time, cause string) // by what is stuck
	stuckAfter time.Duration
	now        func() time.Time
}

func (h health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.ping(r.Context()); err != nil {
		http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	for what, stuck := range h.stuck {
		since, cause := stuck()
		if since.IsZero() {
			continue
		}
		if d := h.now().Sub(since); d > h.stuckAfter {
			http.Error(w, fmt.Sprintf("%s for %s (web.stuck_after %s): %s", what, d.Round(time.Second), h.stuckAfter, cause), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}
