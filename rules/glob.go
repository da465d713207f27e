package rules

import (
	"fmt"
	"unicode/utf8"
)

// Glob is a compiled fnmatch pattern with the semantics of Python's
// fnmatch.fnmatchcase, which is what FMN's users wrote their topic
// patterns against: '*' matches any run of characters including dots,
// '?' one character, "[set]" and "[!set]" one character in or out of the
// set. Unlike Python, an unclosed '[' is an error rather than a literal,
// because in a topic pattern it is always a typing mistake.
type Glob struct {
	toks   []globTok
	prefix string // the literal text before the first wildcard
	exact  bool   // no wildcard at all: the pattern is its own prefix
}

type globTokKind uint8

const (
	tokLit globTokKind = iota
	tokAny
	tokStar
	tokSet
)

type globTok struct {
	kind   globTokKind
	r      rune
	negate bool
	set    []runeRange
}

type runeRange struct{ lo, hi rune }

// CompileGlob parses an fnmatch pattern.
func CompileGlob(pattern string) (*Glob, error) {
	if pattern == "" {
		return nil, fmt.Errorf("parse glob: empty pattern")
	}
	p := []rune(pattern)
	g := &Glob{}
	for i := 0; i < len(p); {
		c := p[i]
		i++
		switch c {
		case '*':
			if n := len(g.toks); n == 0 || g.toks[n-1].kind != tokStar {
				g.toks = append(g.toks, globTok{kind: tokStar})
			}
		case '?':
			g.toks = append(g.toks, globTok{kind: tokAny})
		case '[':
			tok, next, err := parseSet(p, i)
			if err != nil {
				return nil, fmt.Errorf("parse glob %q: %w", pattern, err)
			}
			g.toks = append(g.toks, tok)
			i = next
		default:
			g.toks = append(g.toks, globTok{kind: tokLit, r: c})
		}
	}
	var prefix []rune
	for _, t := range g.toks {
		if t.kind != tokLit {
			break
		}
		prefix = append(prefix, t.r)
	}
	g.prefix = string(prefix)
	g.exact = len(prefix) == len(g.toks)
	return g, nil
}

// parseSet parses the set that starts after the '[' at p[i-1] the way
// Python's fnmatch.translate does: a leading '!' negates, a ']' first is a
// member, '-' between two characters is a range, a range whose ends are
// reversed is dropped together with its ends, other '-' are members.
func parseSet(p []rune, i int) (globTok, int, error) {
	j := i
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	if j >= len(p) {
		return globTok{}, 0, fmt.Errorf("'[' at character %d has no closing ']'", i)
	}
	tok := globTok{kind: tokSet}
	start := i
	if p[start] == '!' {
		tok.negate = true
		start++
	}
	// Split at the hyphens that make ranges, as fnmatch.translate does:
	// the first character of the set never starts a range hyphen, and
	// after a range hyphen the next one is searched two characters on.
	var chunks [][]rune
	k := start + 1
	s := start
	for {
		h := -1
		for x := k; x < j; x++ {
			if p[x] == '-' {
				h = x
				break
			}
		}
		if h < 0 {
			break
		}
		chunks = append(chunks, p[s:h])
		s = h + 1
		k = h + 3
	}
	if last := p[s:j]; len(last) > 0 || len(chunks) == 0 {
		chunks = append(chunks, last)
	} else {
		chunks[len(chunks)-1] = append(append([]rune{}, chunks[len(chunks)-1]...), '-')
	}
	for k := len(chunks) - 1; k > 0; k-- {
		prev, cur := chunks[k-1], chunks[k]
		if prev[len(prev)-1] > cur[0] {
			merged := append(append([]rune{}, prev[:len(prev)-1]...), cur[1:]...)
			chunks[k-1] = merged
			chunks = append(chunks[:k], chunks[k+1:]...)
		}
	}
	// Between two chunks is a range from the last character of one to
	// the first of the next; every other character is a member.
	for n, c := range chunks {
		from, to := 0, len(c)
		if n > 0 {
			from = 1
		}
		if n < len(chunks)-1 {
			to = len(c) - 1
			tok.set = append(tok.set, runeRange{c[len(c)-1], chunks[n+1][0]})
		}
		for _, r := range c[from:max(from, to)] {
			tok.set = append(tok.set, runeRange{r, r})
		}
	}
	return tok, j + 1, nil
}

// Match reports whether the whole of s matches the pattern.
func (g *Glob) Match(s string) bool {
	if g.exact {
		return s == g.prefix
	}
	// The classic iterative matcher: on a mismatch, let the last '*'
	// swallow one more character. Linear in practice, O(len(s)·len(toks))
	// at worst, never exponential.
	ti, si := 0, 0
	starTok, starStr := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(g.toks) {
			t := &g.toks[ti]
			switch {
			case t.kind == tokStar:
				starTok, starStr = ti, si
				ti++
				continue
			case t.matches(r):
				ti++
				si += size
				continue
			}
		}
		if starTok < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[starStr:])
		starStr += size
		ti, si = starTok+1, starStr
	}
	for ti < len(g.toks) && g.toks[ti].kind == tokStar {
		ti++
	}
	return ti == len(g.toks)
}

func (t *globTok) matches(r rune) bool {
	switch t.kind {
	case tokLit:
		return t.r == r
	case tokAny:
		return true
	case tokSet:
		in := false
		for _, rr := range t.set {
			if rr.lo <= r && r <= rr.hi {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}

// Prefix returns the literal text every matching string starts with, and
// whether the pattern is nothing but that literal.
func (g *Glob) Prefix() (prefix string, exact bool) { return g.prefix, g.exact }
