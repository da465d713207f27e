package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
)

// TextPredicate returns the regex rule with these arguments as a test of
// a message's Text alone (bus.CompactUTF8 of the envelope, which is how
// the history stores it): the rule's literal prefilter, then the regex.
// It lets a scan over stored messages skip decoding every message the
// rule cannot match, which is most of them; what it lets through is
// still evaluated in full.
func TextPredicate(args json.RawMessage) (func(text []byte) bool, error) {
	pattern, err := decodePattern(args)
	if err != nil {
		return nil, fmt.Errorf("compile regex rule: %w", err)
	}
	re, err := regexp.Compile(pattern)
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
		return re.Match(text)
	}, nil
}

var kelvin, longS = []byte("\u212a"), []byte("\u017f")

// containsLower reports whether text, its ASCII letters lower-cased,
// contains lit (lower-case ASCII), without copying text: the prefilter
// runs over every stored message.
func containsLower(text, lit []byte) bool {
	n := len(lit)
	if n == 0 {
		return true
	}
	first := lit[0]
	for i := 0; i+n <= len(text); i++ {
		if lowerByte(text[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerByte(text[i+j]) == lit[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
