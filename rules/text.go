package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp/syntax"
	"time"
)

// TextPredicate returns the regex rule with these arguments as a test of
// a message's Text alone (bus.CompactUTF8 of the envelope, which is how
// the history stores it): the rule's literal prefilter, then the regex.
// It lets a scan over stored messages skip decoding every message the
// rule cannot match, which is most of them; what it lets through is
// still evaluated in full.
//
// limit, when not nil, gives the deadline and cancellation each text's
// match runs within, as Message.Limit; a text whose match it stops is
// let through, for the full evaluation to fail on it.
func TextPredicate(args json.RawMessage, limit func() (time.Time, <-chan struct{})) (func(text []byte) bool, error) {
	pattern, err := decodePattern(args)
	if err != nil {
		return nil, fmt.Errorf("compile regex rule: %w", err)
	}
	re, err := compileBounded(pattern)
	if err != nil {
		return nil, fmt.Errorf("compile regex rule: args.pattern: %w", err)
	}
	parsed, _ := syntax.Parse(pattern, syntax.Perl) // regexp.Compile accepted it
	lf, hasLiteral := requiredLiteral(parsed)
	return func(text []byte) bool {
		switch {
		case !hasLiteral:
		case !lf.fold:
			if !bytes.Contains(text, lf.lit) {
				return false
			}
		case bytes.Contains(text, kelvin) || bytes.Contains(text, longS):
			// The two non-ASCII letters lowerASCII folds to ASCII ones:
			// rare enough to fold the whole text for.
			if !bytes.Contains(lowerASCII(text), lf.lit) {
				return false
			}
		case !containsLower(text, lf.lit):
			return false
		}
		if limit == nil {
			return re.re.Match(text)
		}
		var m Message
		m.Limit(limit())
		ok, err := re.match(&m, text)
		return ok || err != nil
	}, nil
}

var kelvin, longS = []byte("\u212a"), []byte("\u017f")

// containsLower reports whether text, its ASCII letters lower-cased,
// contains lit (lower-case ASCII), without copying text: the prefilter
// runs over every stored message, so it looks for its candidates with
// bytes.IndexByte (vectorised) rather than byte by byte.
func containsLower(text, lit []byte) bool {
	n := len(lit)
	if n == 0 {
		return true
	}
	// Anchor on a byte that has one case, if the literal has one.
	if j := bytes.IndexFunc(lit, func(r rune) bool { return r < 'a' || r > 'z' }); j >= 0 {
		for off := j; off < len(text); {
			k := bytes.IndexByte(text[off:], lit[j])
			if k < 0 {
				return false
			}
			if start := off + k - j; start+n <= len(text) && equalLower(text[start:start+n], lit) {
				return true
			}
			off += k + 1
		}
		return false
	}
	// Only letters: the first one in either case.
	lo, up := lit[0], lit[0]-'a'+'A'
	nextLo, nextUp := -1, -1
	for i := 0; ; {
		if nextLo < i {
			nextLo = indexFrom(text, lo, i)
		}
		if nextUp < i {
			nextUp = indexFrom(text, up, i)
		}
		k := min(nextLo, nextUp)
		if k+n > len(text) {
			return false
		}
		if equalLower(text[k:k+n], lit) {
			return true
		}
		i = k + 1
	}
}

// indexFrom is the index of c in text at or after from, or len(text)+1
// when there is none (so that min picks the other case).
func indexFrom(text []byte, c byte, from int) int {
	if k := bytes.IndexByte(text[from:], c); k >= 0 {
		return from + k
	}
	return len(text) + 1
}

// equalLower reports whether b, ASCII letters lower-cased, is lit.
func equalLower(b, lit []byte) bool {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}
