package rules

import (
	"bytes"
	"regexp/syntax"
	"strings"
)

// literalFilter is a cheap necessary condition for a regex to match: a
// literal that every match contains. Searching a message's text for a
// literal is tens of times faster than running the regex, and most
// messages do not contain it, so the regex rarely runs at all.
type literalFilter struct {
	lit  []byte
	fold bool // compare ASCII case-insensitively
}

// requiredLiteral finds a literal every match of pattern contains; ok is
// false when it knows none.
func requiredLiteral(pattern string) (f literalFilter, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return f, false
	}
	lit, fold := longestLiteral(re.Simplify())
	if lit == "" {
		return f, false
	}
	if fold {
		// Compare in lowerText's folding, which is exact for ASCII
		// literals only.
		for _, r := range lit {
			if r >= 0x80 {
				return f, false
			}
		}
		lit = strings.ToLower(lit)
	}
	return literalFilter{lit: []byte(lit), fold: fold}, true
}

// longestLiteral returns the longest literal that re requires.
func longestLiteral(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune), re.Flags&syntax.FoldCase != 0
	case syntax.OpCapture:
		return longestLiteral(re.Sub[0])
	case syntax.OpConcat:
		best, bestFold := "", false
		for _, sub := range re.Sub {
			if l, fold := longestLiteral(sub); len(l) > len(best) {
				best, bestFold = l, fold
			}
		}
		return best, bestFold
	}
	return "", false
}

// mayMatch reports whether the text contains the literal.
func (f literalFilter) mayMatch(m *Message) bool {
	if f.fold {
		return bytes.Contains(m.lowerText(), f.lit)
	}
	return bytes.Contains(m.Text(), f.lit)
}

// lowerText returns Text with ASCII letters lower-cased, and the only
// two non-ASCII letters that fold to ASCII ones (KELVIN SIGN to k, LATIN
// SMALL LETTER LONG S to s) replaced by them, once per message: in it an
// ASCII literal occurs exactly when a case-folded regex literal can.
func (m *Message) lowerText() []byte {
	if m.lower == nil {
		m.lower = bytes.Map(func(r rune) rune {
			switch {
			case 'A' <= r && r <= 'Z':
				return r + 'a' - 'A'
			case r == '\u212a':
				return 'k'
			case r == '\u017f':
				return 's'
			}
			return r
		}, m.Text())
	}
	return m.lower
}
