package meta

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"hark/bus"
)

var disagreementsPath = flag.String("meta.disagreements", "",
	"write every disagreement of TestScoreAgainstReference to this file (default: hark-meta-disagreements.txt in $TMPDIR)")

// sample is one message of testdata/fedmsg-samples.jsonl with what the
// reference implementation derived from it.
type sample struct {
	line     int
	env      *bus.Envelope
	expected map[string]any
}

// loadSamples reads the samples, stripping the annotations (expected,
// _fixture, x509_signature_check) so Describe sees only the envelope.
func loadSamples(t testing.TB) []sample {
	t.Helper()
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatalf("open samples: %v", err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("samples line %d: %v", line, err)
		}
		s := sample{line: line, env: env}
		s.expected, _ = env.Fields["expected"].(map[string]any)
		for k := range env.Fields {
			if k == "expected" || k == "x509_signature_check" || strings.HasPrefix(k, "_") {
				delete(env.Fields, k)
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read samples: %v", err)
	}
	return out
}

// agreement counts, for one field, the messages whose expected has it.
type agreement struct {
	total, agree           int
	nonEmpty, nonEmptyGood int // sets only: messages whose expected set is not empty
}

func (a agreement) rate() float64 { return ratio(a.agree, a.total) }

func (a agreement) nonEmptyRate() float64 { return ratio(a.nonEmptyGood, a.nonEmpty) }

func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

var (
	setFields    = []string{"usernames", "packages", "objects"}
	stringFields = []string{"link", "subtitle", "title", "icon", "agent"}
)

// TestScoreAgainstReference describes every sample the reference
// implementation described and compares field by field. Every
// disagreement goes to a file, so the ones left can be judged.
func TestScoreAgainstReference(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := *disagreementsPath
	if path == "" {
		// One stable name, overwritten by each run, so runs leave no litter.
		path = filepath.Join(os.TempDir(), "hark-meta-disagreements.txt")
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()

	scores := map[string]*agreement{}
	for _, f := range append(slices.Clone(setFields), stringFields...) {
		scores[f] = &agreement{}
	}
	for _, s := range loadSamples(t) {
		if s.expected == nil {
			continue
		}
		got := d.Describe(s.env)
		gotJSON := map[string]any{
			"usernames": got.Usernames, "packages": got.Packages, "objects": got.Objects,
			"link": got.Link, "subtitle": got.Subtitle, "title": got.Title, "icon": got.Icon, "agent": got.Agent,
		}
		for _, f := range setFields {
			want, ok := s.expected[f]
			if !ok {
				continue
			}
			wantSet := expectedSet(want)
			gotSet := gotJSON[f].([]string)
			if gotSet == nil {
				gotSet = []string{}
			}
			a := scores[f]
			a.total++
			same := slices.Equal(wantSet, gotSet)
			if same {
				a.agree++
			}
			if len(wantSet) > 0 {
				a.nonEmpty++
				if same {
					a.nonEmptyGood++
				}
			}
			if !same {
				fmt.Fprintf(w, "line %d %s %s\n  got  %q\n  want %q\n", s.line, s.env.Topic, f, gotSet, wantSet)
			}
		}
		for _, f := range stringFields {
			want, ok := s.expected[f]
			if !ok {
				continue
			}
			wantStr, _ := want.(string)
			a := scores[f]
			a.total++
			if gotJSON[f] == wantStr {
				a.agree++
			} else {
				fmt.Fprintf(w, "line %d %s %s\n  got  %q\n  want %q\n", s.line, s.env.Topic, f, gotJSON[f], wantStr)
			}
		}
	}
	t.Logf("disagreements written to %s", out.Name())
	names := make([]string, 0, len(scores))
	for f := range scores {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		a := scores[f]
		t.Logf("%-9s %4d/%4d = %5.1f%%  (non-empty expected: %4d/%4d = %5.1f%%)",
			f, a.agree, a.total, 100*a.rate(), a.nonEmptyGood, a.nonEmpty, 100*a.nonEmptyRate())
	}
	for _, target := range []struct {
		field    string
		min      float64
		nonEmpty bool
	}{
		{"usernames", 0.97, false},
		{"usernames", 0.90, true},
		{"packages", 0.97, false},
		{"packages", 0.90, true},
		{"link", 0.90, false},
		{"subtitle", 0.85, false},
	} {
		a := scores[target.field]
		rate, what := a.rate(), "exact agreement"
		if target.nonEmpty {
			rate, what = a.nonEmptyRate(), "exact agreement where the expected set is non-empty"
		}
		if rate < target.min {
			t.Errorf("%s: %s %.1f%%, want at least %.0f%% (see %s)", target.field, what, 100*rate, 100*target.min, out.Name())
		}
	}
}

// expectedSet is the reference's set as sorted, de-duplicated strings.
func expectedSet(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, e := range l {
		if s, ok := scalar(e); ok && s != "" { // odcs objects are numbers
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
