// Package synth builds synthetic populations of users and filters from
// real bus messages, and measures how fast an index matches them against
// the naive evaluate-everything baseline. `hark bench match`, the
// filters benchmarks and the index's property tests use it.
package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/owners"
	"hark/rules"
)

// Sample is a bus message with its description.
type Sample struct {
	Env  *bus.Envelope
	Desc *meta.Description
}

// ReadSamples reads envelopes, one JSON object a line, and describes each
// with describe.
func ReadSamples(r io.Reader, describe func(*bus.Envelope) meta.Description) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var out []Sample
	for n := 1; sc.Scan(); n++ {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("read samples line %d: %w", n, err)
		}
		d := describe(env)
		out = append(out, Sample{Env: env, Desc: &d})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	return out, nil
}

// Expected describes a sample by its own "expected" annotation (what the
// reference implementation derived) and the app segment of its topic, so
// tests of matching do not depend on the quality of package meta.
func Expected(env *bus.Envelope) meta.Description {
	var d meta.Description
	if parts := strings.Split(env.Topic, "."); len(parts) > 3 {
		d.App = parts[3]
	}
	exp, _ := env.Fields["expected"].(map[string]any)
	strs := func(k string) []string {
		var out []string
		list, _ := exp[k].([]any)
		for _, v := range list {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	d.Usernames, d.Packages = strs("usernames"), strs("packages")
	d.Agent, _ = exp["agent"].(string)
	return d
}

// Population is a synthetic set of users with their filters, and the
// package ownership their owned-by rules refer to.
type Population struct {
	Users  []string
	Filter map[string][]filters.Filter
	Owners *owners.Snapshot
}

// Shape is how big a population is.
type Shape struct {
	Users, FiltersPerUser, RulesPerFilter int
}

// Issue4 is the population of the benchmark in issue 4.
var Issue4 = Shape{Users: 10_000, FiltersPerUser: 5, RulesPerFilter: 3}

// vocabulary is what rules are drawn from: the values of the samples.
type vocabulary struct {
	topics, apps, packages, usernames, agents []string
	regexes, exprs                            []string
}

func vocabularyOf(samples []Sample) vocabulary {
	var v vocabulary
	for _, s := range samples {
		v.topics = append(v.topics, s.Env.Topic)
		if s.Desc.App != "" {
			v.apps = append(v.apps, s.Desc.App)
		}
		v.packages = append(v.packages, s.Desc.Packages...)
		v.usernames = append(v.usernames, s.Desc.Usernames...)
		if s.Desc.Agent != "" {
			v.agents = append(v.agents, s.Desc.Agent)
		}
	}
	for _, l := range []*[]string{&v.topics, &v.apps, &v.packages, &v.usernames, &v.agents} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	v.agents = append(v.agents, v.usernames...)
	// 50 distinct regexes and 20 distinct expressions, in shapes people
	// write, over names that occur in the samples.
	words := append(slices.Clone(v.usernames), v.packages...)
	shapes := []string{`%s`, `"%s"`, `(?i)%s`, `\b%s\b`, `%s[-_.]`}
	for i := 0; len(v.regexes) < 50; i++ {
		p := fmt.Sprintf(shapes[i%len(shapes)], regexp.QuoteMeta(words[(i*7)%len(words)]))
		if !slices.Contains(v.regexes, p) {
			v.regexes = append(v.regexes, p)
		}
	}
	exprShapes := []string{
		`app == %q`,
		`%q in packages`,
		`%q in usernames && agent != %[1]q`,
		`topic endsWith %q`,
		`any(packages, # startsWith %q)`,
	}
	for i := 0; len(v.exprs) < 20; i++ {
		var arg string
		switch i % len(exprShapes) {
		case 0:
			arg = v.apps[i%len(v.apps)]
		case 1, 4:
			arg = v.packages[i%len(v.packages)]
		case 2:
			arg = v.usernames[i%len(v.usernames)]
		case 3:
			parts := strings.Split(v.topics[i*5%len(v.topics)], ".")
			arg = "." + parts[len(parts)-1]
		}
		e := fmt.Sprintf(exprShapes[i%len(exprShapes)], arg)
		if !slices.Contains(v.exprs, e) {
			v.exprs = append(v.exprs, e)
		}
	}
	return v
}

// NewPopulation draws a population of the given shape from samples with
// a seeded generator, so a run can be repeated. Rules are drawn with the
// mix of issue 4: 40% owned-by (@me or another user), 25% topic or app,
// 15% package, 10% user or agent, 5% negated variants of these, 4% regex
// from a pool of 50, 1% expr from a pool of 20. Each sample package is
// owned by a sample user and a group of three users; one user in ten
// owns a package too, so that owned-by @me matches for some and a package
// has about as many owners as a busy Fedora package (the samples have
// fewer than a hundred packages for ten thousand users).
func NewPopulation(seed uint64, shape Shape, samples []Sample) (*Population, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := vocabularyOf(samples)
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	p := &Population{Filter: map[string][]filters.Filter{}}
	for i := range shape.Users {
		p.Users = append(p.Users, fmt.Sprintf("user%05d", i))
	}

	// Ownership, as a pagure_owner_alias.json would have it.
	rpms := map[string][]string{}
	groups := map[string][]string{}
	for _, pkg := range v.packages {
		g := "sig-" + pkg
		rpms[pkg] = []string{pick(v.usernames), "@" + g}
		for range 3 {
			groups[g] = append(groups[g], pick(p.Users))
		}
	}
	for i, u := range p.Users {
		if i%10 == 0 {
			pkg := pick(v.packages)
			rpms[pkg] = append(rpms[pkg], u)
		}
	}
	aliases, _ := json.Marshal(map[string]any{"rpms": rpms})
	members, _ := json.Marshal(groups)
	var err error
	if p.Owners, err = owners.Parse("synthetic aliases", aliases, "synthetic groups", members); err != nil {
		return nil, err
	}

	positive := func(r int) rules.Spec {
		switch {
		case r < 40:
			who := rules.Me
			if rng.IntN(2) == 0 {
				who = pick([]string{pick(v.usernames), pick(p.Users)})
			}
			return spec("owned-by", "users", who)
		case r < 65:
			switch rng.IntN(3) {
			case 0:
				return spec("app", "names", pick(v.apps))
			case 1:
				return spec("topic", "pattern", pick(v.topics))
			default:
				t := pick(v.topics)
				return spec("topic", "pattern", t[:strings.LastIndexByte(t, '.')+1]+"*")
			}
		case r < 80:
			return spec("package", "names", pick(v.packages))
		default:
			if rng.IntN(2) == 0 {
				return spec("user", "names", pick([]string{rules.Me, pick(v.usernames)}))
			}
			return spec("agent", "names", pick(v.agents))
		}
	}
	for _, u := range p.Users {
		fs := make([]filters.Filter, shape.FiltersPerUser)
		for i := range fs {
			f := filters.Filter{Name: fmt.Sprintf("filter %d", i+1), Active: true, Destinations: []string{"email:" + u + "@example.org"}}
			if rng.IntN(2) == 0 {
				f.Destinations = append(f.Destinations, "irc:"+u)
			}
			for range shape.RulesPerFilter {
				var s rules.Spec
				switch r := rng.IntN(100); {
				case r < 90:
					s = positive(r)
				case r < 95:
					s = positive(rng.IntN(90))
					s.Negate = true
				case r < 99:
					s = spec("regex", "pattern", pick(v.regexes))
				default:
					s = spec("expr", "expression", pick(v.exprs))
				}
				f.Rules = append(f.Rules, s)
			}
			fs[i] = f
		}
		p.Filter[u] = fs
	}
	return p, nil
}

// spec builds a rule with one argument; names kinds take a list.
func spec(kind, arg, value string) rules.Spec {
	var args []byte
	if arg == "pattern" || arg == "expression" {
		args, _ = json.Marshal(map[string]string{arg: value})
	} else {
		args, _ = json.Marshal(map[string][]string{arg: {value}})
	}
	return rules.Spec{Kind: kind, Args: args}
}

// Load puts the population into an index.
func (p *Population) Load(ix *filters.Index) error {
	for _, u := range p.Users {
		if err := ix.SetUser(u, p.Filter[u]); err != nil {
			return err
		}
	}
	return nil
}
