package filters_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"hark/bus"
	"hark/filters"
	"hark/filters/synth"
	"hark/meta"
	"hark/rules"
)

type ownership map[string][]string

func (o ownership) Users(pkg string) []string  { return o[pkg] }
func (o ownership) Groups(pkg string) []string { return nil }

// message builds a bodhi comment on nethack by agent, mentioning users.
func message(t testing.TB, agent string, users ...string) (*bus.Envelope, *meta.Description) {
	t.Helper()
	env, err := bus.Decode([]byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"karma": 1}, "msg_id": "2024-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(users)
	return env, &meta.Description{App: "bodhi", Packages: []string{"nethack"}, Agent: agent, Usernames: users}
}

func rule(kind, args string, negate bool) rules.Spec {
	return rules.Spec{Kind: kind, Args: json.RawMessage(args), Negate: negate}
}

func filter(name string, dests []string, rs ...rules.Spec) filters.Filter {
	return filters.Filter{Name: name, Active: true, Destinations: dests, Rules: rs}
}

var (
	email    = []string{"email:alice@example.org"}
	both     = []string{"email:alice@example.org", "irc:alice"}
	ownedMe  = rule("owned-by", `{"users": ["@me"]}`, false)
	agentMe  = rule("agent", `{"names": ["@me"]}`, false)
	appBodhi = rule("app", `{"names": ["bodhi"]}`, false)
	appKoji  = rule("app", `{"names": ["koji"]}`, false)
	missing  = rule("expr", `{"expression": "msg.update.status == \"stable\""}`, false)
)

func newIndex(t testing.TB, opts filters.Options, user string, fs ...filters.Filter) *filters.Index {
	t.Helper()
	if opts.Owners == nil {
		opts.Owners = func() rules.Ownership { return ownership{"nethack": {"alice"}} }
	}
	ix := filters.New(opts)
	if err := ix.SetUser(user, fs); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestSemantics pins DESIGN.md §3: AND, OR, negation, the empty filter,
// errors, first filter wins per destination, @me.
func TestSemantics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		filters []filters.Filter
		agent   string
		want    []string // "filter→destination"
	}{
		{"rules are ANDed: all hold", []filters.Filter{filter("f", email, ownedMe, appBodhi)}, "bob", []string{"f→email:alice@example.org"}},
		{"rules are ANDed: one fails", []filters.Filter{filter("f", email, ownedMe, appKoji)}, "bob", nil},
		{"filters are ORed", []filters.Filter{filter("koji", email, appKoji), filter("bodhi", email, appBodhi)}, "bob", []string{"bodhi→email:alice@example.org"}},
		{"negation excludes own actions", []filters.Filter{filter("f", email, ownedMe, rule("agent", `{"names": ["@me"]}`, true))}, "alice", nil},
		{"negation lets others through", []filters.Filter{filter("f", email, ownedMe, rule("agent", `{"names": ["@me"]}`, true))}, "bob", []string{"f→email:alice@example.org"}},
		{"a filter with no rules never matches", []filters.Filter{filter("empty", email)}, "bob", nil},
		{"a pure negation matches what it does not exclude", []filters.Filter{filter("f", email, rule("app", `{"names": ["koji"]}`, true))}, "bob", []string{"f→email:alice@example.org"}},
		{"an error fails the filter", []filters.Filter{filter("f", email, appBodhi, missing)}, "bob", nil},
		{"an error fails the filter even negated", []filters.Filter{filter("f", email, appBodhi, rule("expr", `{"expression": "msg.update.status == \"x\""}`, true))}, "bob", nil},
		{"first filter wins per destination", []filters.Filter{filter("first", email, appBodhi), filter("second", both, ownedMe)}, "bob",
			[]string{"first→email:alice@example.org", "second→irc:alice"}},
		{"an inactive filter is ignored", []filters.Filter{{Name: "off", Destinations: email, Rules: []rules.Spec{appBodhi}}}, "bob", nil},
		{"@me is the owner", []filters.Filter{filter("f", email, agentMe)}, "alice", []string{"f→email:alice@example.org"}},
		{"@me is nobody else", []filters.Filter{filter("f", email, agentMe)}, "bob", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := newIndex(t, filters.Options{}, "alice", tc.filters...)
			env, desc := message(t, tc.agent)
			var got []string
			for _, h := range ix.Match(env, desc) {
				got = append(got, h.Filter+"→"+h.Destination)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("hits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRuleErrorsAreCounted(t *testing.T) {
	ix := newIndex(t, filters.Options{}, "alice", filter("f", email, missing))
	env, desc := message(t, "bob")
	ix.Match(env, desc)
	if got := ix.Stats().RuleErrors["expr"]; got != 1 {
		t.Errorf("RuleErrors[expr] = %d, want 1", got)
	}
}

func TestSharedRuleIsCompiledOnce(t *testing.T) {
	ix := filters.New(filters.Options{})
	for _, u := range []string{"alice", "bob"} {
		if err := ix.SetUser(u, []filters.Filter{filter("f", email, appBodhi)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ix.Stats().Rules; got != 1 {
		t.Errorf("Rules = %d, want 1 shared by both users", got)
	}
}

// TestOneShotFiresExactlyOnce races many goroutines matching messages
// against a one-shot filter: exactly one notification, and the filter
// ends up inactive.
func TestOneShotFiresExactlyOnce(t *testing.T) {
	var fired atomic.Int32
	once := filter("once", email, appBodhi)
	once.OneShot = true
	ix := newIndex(t, filters.Options{OnFire: func(user, f string) { fired.Add(1) }}, "alice", once)
	env, desc := message(t, "bob")
	var hits atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 20 {
				hits.Add(int32(len(ix.Match(env, desc))))
			}
		})
	}
	wg.Wait()
	if hits.Load() != 1 || fired.Load() != 1 {
		t.Errorf("hits = %d, OnFire calls = %d; want 1 and 1", hits.Load(), fired.Load())
	}
	if fs := ix.Filters("alice"); fs[0].Active {
		t.Errorf("one-shot filter still active after firing")
	}
}

func TestOneShotIsNotUsedUpWithoutANotification(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(ix *filters.Index, env *bus.Envelope, desc *meta.Description) []filters.Hit
	}{
		{"dry run", (*filters.Index).DryRun},
		{"an earlier filter served its destination", (*filters.Index).Match},
	} {
		t.Run(tc.name, func(t *testing.T) {
			once := filter("once", email, appBodhi)
			once.OneShot = true
			fs := []filters.Filter{once}
			if tc.name != "dry run" {
				fs = []filters.Filter{filter("first", email, appBodhi), once}
			}
			ix := newIndex(t, filters.Options{}, "alice", fs...)
			env, desc := message(t, "bob")
			tc.run(ix, env, desc)
			tc.run(ix, env, desc)
			if got := ix.Filters("alice"); !got[len(got)-1].Active {
				t.Errorf("one-shot filter used up without producing a notification")
			}
		})
	}
}

func TestSetUserIsAtomic(t *testing.T) {
	ix := newIndex(t, filters.Options{}, "alice", filter("f", email, appBodhi))
	err := ix.SetUser("alice", []filters.Filter{filter("ok", email, appBodhi), filter("bad", email, rule("topic", `{"pattern": "a.[b"}`, false))})
	if err == nil || !strings.Contains(err.Error(), `filter "bad": rule 1`) {
		t.Fatalf("SetUser error = %v, want it to name the filter and rule", err)
	}
	env, desc := message(t, "bob")
	if hits := ix.Match(env, desc); len(hits) != 1 || hits[0].Filter != "f" {
		t.Errorf("after a failed SetUser: hits %v, want the old filter's", hits)
	}
}

func TestRemoveUser(t *testing.T) {
	ix := newIndex(t, filters.Options{}, "alice", filter("f", email, appBodhi))
	ix.RemoveUser("alice")
	env, desc := message(t, "bob")
	if hits := ix.Match(env, desc); len(hits) != 0 {
		t.Errorf("hits after RemoveUser: %v", hits)
	}
	if st := ix.Stats(); st.Rules != 0 || st.Filters != 0 {
		t.Errorf("Stats after RemoveUser = %+v, want nothing left", st)
	}
}

func TestExplainGivesEveryVerdict(t *testing.T) {
	ix := newIndex(t, filters.Options{}, "alice", filter("f", email, appBodhi, rule("agent", `{"names": ["@me"]}`, true)))
	env, desc := message(t, "alice")
	ex := ix.Explain(env, desc)
	if len(ex) != 1 || ex[0].Matched || len(ex[0].Rules) != 2 {
		t.Fatalf("Explain = %+v, want one non-matching filter with two verdicts", ex)
	}
	if v := ex[0].Rules[1]; !v.Value || v.Pass || !v.Negate {
		t.Errorf("verdict of the negated agent rule = %+v, want value true, pass false", v)
	}
}

func loadSamples(t testing.TB) []synth.Sample {
	t.Helper()
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := synth.ReadSamples(f, synth.Expected)
	if err != nil {
		t.Fatal(err)
	}
	return samples
}

// TestIndexAgreesWithNaive is the property test: for random populations
// (several seeds), the index returns exactly what evaluating every filter
// returns, on every sample message, while evaluating far fewer filters.
func TestIndexAgreesWithNaive(t *testing.T) {
	samples := loadSamples(t)
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			pop, err := synth.NewPopulation(seed, synth.Shape{Users: 500, FiltersPerUser: 5, RulesPerFilter: 3}, samples)
			if err != nil {
				t.Fatal(err)
			}
			ix := filters.New(filters.Options{Owners: func() rules.Ownership { return pop.Owners }})
			if err := pop.Load(ix); err != nil {
				t.Fatal(err)
			}
			matched, candidates := 0, 0
			for i, s := range samples {
				got, want := ix.DryRun(s.Env, s.Desc), ix.Naive(s.Env, s.Desc)
				if !slices.Equal(got, want) {
					t.Fatalf("sample %d (%s): index %v, naive %v", i+1, s.Env.Topic, got, want)
				}
				matched += len(got)
				candidates += ix.Candidates(s.Env, s.Desc)
			}
			if matched == 0 {
				t.Errorf("no sample matched anything: the property is vacuous")
			}
			if all := len(samples) * 2500; candidates*5 > all {
				t.Errorf("index evaluated %d of %d filter runs, want under a fifth", candidates, all)
			}
		})
	}
}

// TestIndexAgreesWithNaiveAfterEdits replaces and removes users, which
// frees rules and reuses their ids, and checks the property again: the
// postings of exact rules must follow their rules in and out.
func TestIndexAgreesWithNaiveAfterEdits(t *testing.T) {
	samples := loadSamples(t)
	pop, err := synth.NewPopulation(5, synth.Shape{Users: 400, FiltersPerUser: 5, RulesPerFilter: 3}, samples)
	if err != nil {
		t.Fatal(err)
	}
	ix := filters.New(filters.Options{Owners: func() rules.Ownership { return pop.Owners }})
	if err := pop.Load(ix); err != nil {
		t.Fatal(err)
	}
	for i, u := range pop.Users {
		switch {
		case i%7 == 0:
			ix.RemoveUser(u)
		case i%3 == 0:
			other := pop.Users[(i*13+5)%len(pop.Users)]
			if err := ix.SetUser(u, pop.Filter[other]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, s := range samples {
		got, want := ix.DryRun(s.Env, s.Desc), ix.Naive(s.Env, s.Desc)
		if !slices.Equal(got, want) {
			t.Fatalf("sample %d (%s): index %v, naive %v", i+1, s.Env.Topic, got, want)
		}
	}
}
