package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/router"
	"hark/store"
)

// costlyRules are what mallory saves: an expression that takes 18 s a
// message unbounded, and a regex that takes seconds per megabyte.
var costlyRules = []store.Rule{
	rule("expr", `{"expression": "let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}`, false),
	rule("regex", `{"pattern": "\\w{1000}\\W"}`, false),
}

// bigBodhiMessage is a 1 MB bodhi comment: mallory's regex takes
// some 16 s on it unbounded.
func bigBodhiMessage(t *testing.T, id string) *bus.Envelope {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": id,
		"msg": map[string]any{"comment": map[string]any{"text": strings.Repeat("a", 1<<20)}}})
	env, err := bus.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// withCostlyFilters gives mallory a filter per costly rule, and alice a
// filter on bodhi.
func withCostlyFilters(t *testing.T, w *world) {
	t.Helper()
	f := w.user(t, "mallory", true, false, costlyRules[0])
	f.ID, f.Name, f.Rules = 0, "wide", costlyRules[1:]
	if _, err := w.st.SaveFilter(w.ctx, f); err != nil {
		t.Fatal(err)
	}
	w.user(t, "alice", true, false, rule("app", `{"names": ["bodhi"]}`, false))
}

// Mallory's costly rules delay alice's notification by at most the
// budget per message.
func TestRouterBudgetKeepsOthersNotified(t *testing.T) {
	const budget = 50 * time.Millisecond
	w := newWorldWith(t, filters.Options{Budget: budget})
	withCostlyFilters(t, w)
	ctx, cancel := context.WithCancel(w.ctx)
	handle := make(chan *bus.Envelope)
	var wg sync.WaitGroup
	wg.Go(func() { w.rt.Run(ctx, chanSource(handle)) })
	defer wg.Wait()
	defer cancel()
	waitReloaded(t, w)

	for i := range 3 {
		env := bigBodhiMessage(t, fmt.Sprintf("big-%d", i))
		start := time.Now()
		handle <- env
		// A correctness bound derived from the budget, generous for a
		// loaded machine; unbounded, mallory's rules take minutes.
		limit := 2*time.Second + budget
		for len(w.notifications(t, "alice")) < i+1 {
			if time.Since(start) > limit {
				t.Fatalf("message %d: alice not notified within %v", i, limit)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if n := len(w.notifications(t, "mallory")); n != 0 {
		t.Errorf("mallory got %d notifications from rules over budget", n)
	}
	if st := w.ix.Stats(); st.OverBudget == 0 {
		t.Errorf("no rule counted over budget: %+v", st)
	}
}

// Shutdown does not wait for a running rule, and the message it cut
// short is not committed but handed back to its source.
func TestRouterShutdownStopsRunningRule(t *testing.T) {
	w := newWorldWith(t, filters.Options{Budget: time.Hour})
	withCostlyFilters(t, w)
	ctx, cancel := context.WithCancel(w.ctx)
	handle := make(chan *bus.Envelope)
	done := make(chan struct{})
	go func() {
		w.rt.Run(ctx, chanSource(handle))
		close(done)
	}()
	waitReloaded(t, w)
	env := bigBodhiMessage(t, "cut-short")
	acked := make(chan error, 1)
	env.Ack = func(err error) { acked <- err }
	handle <- env
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("router still running 5 s after shutdown began")
	}
	t.Logf("stopped %v after shutdown began", time.Since(start))
	if err := <-acked; !errors.Is(err, router.ErrShuttingDown) {
		t.Errorf("ack = %v, want %v", err, router.ErrShuttingDown)
	}
}

// waitReloaded waits until the router has loaded the users' filters.
func waitReloaded(t *testing.T, w *world) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.ix.Stats().Users < 2 {
		if time.Now().After(deadline) {
			t.Fatal("filters not loaded within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
