package filters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/rules"
)

// costlyFilters are mallory's: the expression that takes 18 s
// unbounded, a regex that takes over a minute on a 5 MB message, and 300
// regexes, in as many filters of as many rules as a user may have, that
// each take a while on it.
func costlyFilters() []filters.Filter {
	dest := []string{"email:mallory@example.org"}
	fs := []filters.Filter{
		filter("loops", dest, rule("expr", `{"expression": "let r = 1..1000; all(r, {all(r, {all(r, {true})})})"}`, false)),
		filter("wide", dest, rule("regex", `{"pattern": "\\w{1000}\\W"}`, false)),
	}
	for i := range 300 / filters.MaxRules {
		var rs []rules.Spec
		for j := range filters.MaxRules { // all true, after reading the whole text
			rs = append(rs, rule("regex", fmt.Sprintf(`{"pattern": "\\w{%d}\\W"}`, 100+i*filters.MaxRules+j), false))
		}
		fs = append(fs, filter(fmt.Sprintf("r%d", i), dest, rs...))
	}
	return fs
}

// bigMessage is a 5 MB message on nethack.
func bigMessage(t testing.TB) (*bus.Envelope, *meta.Description) {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": "2024-big",
		"msg": map[string]any{"text": strings.Repeat("a", 5<<20)}})
	env, err := bus.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return env, &meta.Description{App: "bodhi", Packages: []string{"nethack"}}
}

// One user's costly rules cost at most the budget per message, and the
// other users' filters still match.
func TestBudgetBoundsOneUsersRules(t *testing.T) {
	const budget = 50 * time.Millisecond
	ix := newIndex(t, filters.Options{Budget: budget}, "mallory", costlyFilters()...)
	if err := ix.SetUser("alice", []filters.Filter{filter("bodhi", email, appBodhi)}); err != nil {
		t.Fatal(err)
	}
	env, desc := bigMessage(t)
	for range 3 {
		start := time.Now()
		hits := ix.Match(env, desc)
		took := time.Since(start)
		if len(hits) != 1 || hits[0].User != "alice" {
			t.Fatalf("hits = %v, want alice's alone", hits)
		}
		// Derived from the budget, with a wide margin for a loaded
		// machine: unbounded, this match takes minutes.
		if limit := budget + 2*time.Second; took > limit {
			t.Errorf("match took %v, more than %v with a budget of %v", took, limit, budget)
		}
	}
	st := ix.Stats()
	if st.OverBudget == 0 {
		t.Errorf("no evaluation counted over budget: %+v", st)
	}
	errs := ix.RuleErrors("mallory")
	if len(errs) == 0 || !strings.Contains(errs[0].Error, "budget") {
		t.Errorf("mallory's filters show no budget error: %+v", errs)
	}
	if errs := ix.RuleErrors("alice"); len(errs) != 0 {
		t.Errorf("alice's filters show errors: %+v", errs)
	}
	// Changing one filter keeps the others' errors, and drops its own.
	fs := costlyFilters()
	fs[1].Rules = []rules.Spec{rule("regex", `{"pattern": "\\w{999}\\W"}`, false)}
	if err := ix.SetUser("mallory", fs); err != nil {
		t.Fatal(err)
	}
	for _, e := range ix.RuleErrors("mallory") {
		if e.Filter == "wide" {
			t.Errorf("the changed filter still shows %q", e.Error)
		}
	}
	if len(ix.RuleErrors("mallory")) != len(errs)-1 {
		t.Errorf("after changing one filter, %d of %d errors are left", len(ix.RuleErrors("mallory")), len(errs))
	}
}

// A budget error is not cached: a user sharing the rule evaluates it
// with a budget of their own.
func TestBudgetIsPerUser(t *testing.T) {
	const budget = 50 * time.Millisecond
	cheap := filter("cheap", email, rule("regex", `{"pattern": "karma"}`, false))
	ix := newIndex(t, filters.Options{Budget: budget}, "mallory", append(costlyFilters(), cheap)...)
	if err := ix.SetUser("alice", []filters.Filter{cheap}); err != nil {
		t.Fatal(err)
	}
	env, desc := message(t, "bob")
	hits := ix.Match(env, desc)
	var users []string
	for _, h := range hits {
		users = append(users, h.User)
	}
	if strings.Join(users, ",") != "alice" {
		t.Errorf("hits = %v, want alice's alone: mallory's budget is spent before their cheap filter", hits)
	}
}

// A cancelled match does not wait for a running rule.
func TestMatchContextStopsRules(t *testing.T) {
	ix := newIndex(t, filters.Options{}, "mallory", costlyFilters()[:2]...)
	env, desc := bigMessage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	ix.MatchContext(ctx, env, desc)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cancelled match took %v", took)
	}
	if ix.Stats().OverBudget == 0 {
		t.Error("the stopped rules are not counted")
	}
}
