package rules

import (
	"math/rand/v2"
	"testing"

	"hark/internal/testpeer"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"org.fedoraproject.prod.bodhi.update.comment", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.fedoraproject.prod.bodhi.update.comment", "org.fedoraproject.prod.bodhi.update.comments", false},
		{"*.bodhi.*", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.*.comment", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.*.comment", "org.fedoraproject.prod.bodhi.update.request", false},
		{"*", "", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "a.c", true},
		{"[ab]x", "bx", true},
		{"[!ab]x", "bx", false},
		{"[!ab]x", "cx", true},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[a-c]", "b", true},
		{"[a-c]", "d", false},
		{"[c-a]", "b", false},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[a-c-e]", "-", true},
		{"[a-c-e]", "d", false},
		{"[a-c-e]", "e", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"é?", "éü", true},
		{"**x", "abx", true},
		{"stg.*", "prod.x", false},
	} {
		t.Run(tc.pattern+"~"+tc.name, func(t *testing.T) {
			g, err := CompileGlob(tc.pattern)
			if err != nil {
				t.Fatalf("CompileGlob(%q): %v", tc.pattern, err)
			}
			if got := g.Match(tc.name); got != tc.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
			}
		})
	}
}

func TestGlobRejectsBadPatterns(t *testing.T) {
	for _, pattern := range []string{"", "org.[abc", "[!"} {
		t.Run(pattern, func(t *testing.T) {
			if _, err := CompileGlob(pattern); err == nil {
				t.Errorf("CompileGlob(%q) succeeded, want an error", pattern)
			}
		})
	}
}

// TestGlobAgreesWithPython checks random patterns and names over a small
// alphabet, rich in metacharacters, against Python's fnmatch.fnmatchcase.
func TestGlobAgreesWithPython(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	const patAlphabet = "ab.-z*?[]!^\\é"
	const nameAlphabet = "ab.-z]!^\\é"
	randString := func(alphabet []rune, n int) string {
		b := make([]rune, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	var pairs [][2]string
	var globs []*Glob
	for len(pairs) < 5000 {
		pattern := randString([]rune(patAlphabet), 8)
		g, err := CompileGlob(pattern)
		if err != nil {
			continue // unclosed '[' and the empty pattern are ours to refuse
		}
		pairs = append(pairs, [2]string{randString([]rune(nameAlphabet), 6), pattern})
		globs = append(globs, g)
	}
	want := testpeer.Fnmatch(t, pairs)
	for i, p := range pairs {
		if got := globs[i].Match(p[0]); got != want[i] {
			t.Errorf("Match(%q, %q) = %v, Python says %v", p[1], p[0], got, want[i])
		}
	}
}
