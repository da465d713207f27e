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
		if hasLiteral {
			folded := text
			if lf.fold {
				folded = lowerASCII(text)
			}
			if !bytes.Contains(folded, lf.lit) {
				return false
			}
		}
		return re.Match(text)
	}, nil
}
