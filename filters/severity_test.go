package filters_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"hark/bus"
	"hark/filters"
	"hark/filters/synth"
	"hark/rules"
)

// withSeverity is a copy of env at level (0: absent, as on ZeroMQ).
func withSeverity(env *bus.Envelope, level int) *bus.Envelope {
	e := *env
	e.Severity = level
	return &e
}

var (
	warnOrError = rule("severity", `{"levels": ["warning", "error"]}`, false)
	notInfo     = rule("severity", `{"levels": ["info"]}`, true)
)

// TestSeverityRuleInFilters checks the severity kind through the index,
// where exact rules are decided by postings rather than evaluated, and
// through the naive baseline, which evaluates them.
func TestSeverityRuleInFilters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter filters.Filter
		level  int
		want   bool
	}{
		{"listed level", filter("f", email, warnOrError), bus.SeverityError, true},
		{"unlisted level", filter("f", email, warnOrError), bus.SeverityDebug, false},
		{"zeromq message is info", filter("f", email, rule("severity", `{"levels": ["info"]}`, false)), 0, true},
		{"zeromq message is not warning", filter("f", email, warnOrError), 0, false},
		{"negated info lets a warning through", filter("f", email, notInfo), bus.SeverityWarning, true},
		{"negated info stops a zeromq message", filter("f", email, notInfo), 0, false},
		{"negated info lets an unnamed level through", filter("f", email, notInfo), 25, true},
		{"with another rule: both hold", filter("f", email, appBodhi, warnOrError), bus.SeverityWarning, true},
		{"with another rule: severity fails", filter("f", email, appBodhi, warnOrError), bus.SeverityInfo, false},
		{"with another rule: app fails", filter("f", email, appKoji, warnOrError), bus.SeverityError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := newIndex(t, filters.Options{}, "alice", tc.filter)
			env, desc := message(t, "bob")
			env = withSeverity(env, tc.level)
			for name, match := range map[string]func(*filters.Index) []filters.Hit{
				"index": func(ix *filters.Index) []filters.Hit { return ix.DryRun(env, desc) },
				"naive": func(ix *filters.Index) []filters.Hit { return ix.Naive(env, desc) },
			} {
				if got := len(match(ix)) == 1; got != tc.want {
					t.Errorf("%s: matched = %v, want %v", name, got, tc.want)
				}
			}
		})
	}
}

// TestIndexAgreesWithNaiveOnSeverity is the property test of
// TestIndexAgreesWithNaive with severity rules added to the population
// (plain, negated, alone and beside other rules) and the samples given
// every level, named or not, as AMQP would deliver them.
func TestIndexAgreesWithNaiveOnSeverity(t *testing.T) {
	samples := loadSamples(t)
	levels := []int{0, bus.SeverityDebug, bus.SeverityInfo, bus.SeverityWarning, bus.SeverityError, 25}
	choices := [][]string{{"debug"}, {"info"}, {"warning"}, {"error"}, {"warning", "error"}, {"info", "warning"}}
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			pop, err := synth.NewPopulation(seed, synth.Shape{Users: 200, FiltersPerUser: 3, RulesPerFilter: 2}, samples)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(seed, 7))
			ix := filters.New(filters.Options{Owners: func() rules.Ownership { return pop.Owners }})
			for _, u := range pop.Users {
				fs := pop.Filter[u]
				for i := range fs {
					if rng.IntN(2) == 0 {
						continue
					}
					args, _ := json.Marshal(map[string][]string{"levels": choices[rng.IntN(len(choices))]})
					levelRule := rule("severity", string(args), rng.IntN(3) == 0)
					if rng.IntN(4) == 0 {
						fs[i].Rules = []rules.Spec{levelRule} // severity alone
					} else {
						fs[i].Rules = append(fs[i].Rules, levelRule)
					}
				}
				if err := ix.SetUser(u, fs); err != nil {
					t.Fatal(err)
				}
			}
			matched := map[int]int{}
			for i, s := range samples {
				for _, level := range levels {
					env := withSeverity(s.Env, level)
					got, want := ix.DryRun(env, s.Desc), ix.Naive(env, s.Desc)
					if !slices.Equal(got, want) {
						t.Fatalf("sample %d (%s) at level %d: index %v, naive %v", i+1, s.Env.Topic, level, got, want)
					}
					matched[level] += len(got)
				}
			}
			for _, level := range levels {
				if matched[level] == 0 {
					t.Errorf("nothing matched at level %d: the property is vacuous there", level)
				}
			}
		})
	}
}
