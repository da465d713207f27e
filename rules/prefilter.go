package rules

import (
	"bytes"
	"encoding/json"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"hark/bus"
)

// literalFilter is a cheap necessary condition for a regex to match: a
// literal that every match contains. Searching a message's text for a
// literal is tens of times faster than running the regex, and most
// messages do not contain it, so the regex rarely runs at all.
type literalFilter struct {
	lit  []byte
	fold bool // compare ASCII case-insensitively
	// inToken says the literal has none of JSON's punctuation, so it can
	// only occur inside one token of the text, and the message's tokens
	// (cheaper to gather than the text) are searched instead.
	inToken bool
	// grams are the literal's trigrams, folded to ASCII lower case: a
	// message whose tokens lack one of them cannot contain the literal.
	grams []uint16
}

// requiredLiteral finds a literal every match of pattern contains; ok is
// false when it knows none.
func requiredLiteral(re *syntax.Regexp) (f literalFilter, ok bool) {
	lit, fold := longestLiteral(re.Simplify())
	if lit == "" {
		return f, false
	}
	if fold {
		// Compare in lowerASCII's folding, which is exact for ASCII
		// literals only.
		for _, r := range lit {
			if r >= 0x80 {
				return f, false
			}
		}
		lit = strings.ToLower(lit)
	}
	f = literalFilter{lit: []byte(lit), fold: fold, inToken: !strings.ContainsAny(lit, punctuation)}
	for i := 2; i < len(lit); i++ {
		if g := gram(lit[i-2], lit[i-1], lit[i]); !slices.Contains(f.grams, g) {
			f.grams = append(f.grams, g)
		}
	}
	return f, true
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
	if f.inToken && len(f.grams) > 0 {
		if gs := m.tokenGrams(); gs != nil && !gs.hasAll(f.grams) {
			return false
		}
	}
	var text []byte
	switch {
	case f.inToken && f.fold:
		text = m.lowerTokens()
	case f.inToken:
		text = m.tokens()
	case f.fold:
		text = m.lowerText()
	default:
		text = m.Text()
	}
	return bytes.Contains(text, f.lit)
}

// punctuation is what compact JSON puts between tokens: between any two
// tokens of Text there is at least one of these.
const punctuation = "{}[]:,"

// tokenLocal reports whether no match of re can contain punctuation and
// re asserts nothing but word boundaries, so that every match lies inside
// one token, and re matches Text exactly when it matches the tokens.
// Around a token, Text has punctuation and the tokens have commas: to
// \b and \B both are non-word characters. ^ and $ see different texts.
func tokenLocal(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		return !strings.ContainsAny(string(re.Rune), punctuation)
	case syntax.OpCharClass:
		for _, c := range punctuation {
			for i := 0; i < len(re.Rune); i += 2 {
				if re.Rune[i] <= c && c <= re.Rune[i+1] {
					return false
				}
			}
		}
		return true
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat, syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !tokenLocal(sub) {
				return false
			}
		}
		return true
	}
	return false // any character, line and text anchors
}

// tokens returns the tokens of Text (keys and strings quoted and escaped
// as Text writes them, numbers, true, false, null) in no particular
// order, each followed by a comma, once per message. Gathering them
// skips sorting keys, which is most of the cost of Text.
func (m *Message) tokens() []byte {
	if !m.tokensDone {
		buf := tokenBufs.Get().(*[]byte)
		m.toks = appendTokens((*buf)[:0], m.Env.Fields)
		m.tokensDone = true
	}
	return m.toks
}

func appendTokens(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			b = appendTokenString(b, k)
			b = appendTokens(b, e)
		}
		return b
	case []any:
		for _, e := range v {
			b = appendTokens(b, e)
		}
		return b
	case string:
		return appendTokenString(b, v)
	case json.Number:
		b = append(b, v...)
	case bool:
		if v {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	case nil:
		b = append(b, "null"...)
	default:
		// Whatever else Text can hold is written the way Text writes
		// it: any match inside it is a match inside Text.
		b = append(b, bus.CompactUTF8(v)...)
	}
	return append(b, ',')
}

// appendTokenString writes s as Text does, quoted, escaping (rarely)
// through the encoder Text uses.
func appendTokenString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			b = append(b, bus.CompactUTF8(s)...)
			return append(b, ',')
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"', ',')
}

// lowerText returns Text folded by lowerASCII, once per message.
func (m *Message) lowerText() []byte {
	if m.lower == nil {
		m.lower = lowerASCII(m.Text())
	}
	return m.lower
}

// lowerTokens returns tokens folded by lowerASCII, once per message.
func (m *Message) lowerTokens() []byte {
	if m.lowerToks == nil {
		m.lowerToks = lowerASCII(m.tokens())
	}
	return m.lowerToks
}

// lowerASCII returns b with ASCII letters lower-cased, and the only two
// non-ASCII letters that fold to ASCII ones (KELVIN SIGN to k, LATIN
// SMALL LETTER LONG S to s) replaced by them: in it an ASCII literal
// occurs exactly when a case-folded regex literal can.
func lowerASCII(b []byte) []byte {
	return bytes.Map(func(r rune) rune {
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case r == '\u212a':
			return 'k'
		case r == '\u017f':
			return 's'
		}
		return r
	}, b)
}

// gramSet is the set of a text's trigrams, folded to ASCII lower case and
// hashed into a bitmap: one pass over the text, then a literal that is
// not there is ruled out in a few bit tests rather than by a search.
type gramSet [gramBits / 64]uint64

const gramBits = 1 << 14

// gram hashes three bytes, folded to ASCII lower case.
func gram(a, b, c byte) uint16 {
	return uint16((uint32(foldByte(a))<<16 | uint32(foldByte(b))<<8 | uint32(foldByte(c))) * 0x9e3779b1 >> (32 - 14))
}

func foldByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (gs *gramSet) hasAll(grams []uint16) bool {
	for _, g := range grams {
		if gs[g/64]&(1<<(g%64)) == 0 {
			return false
		}
	}
	return true
}

// tokenGrams returns the trigrams of tokens, once per message; nil when
// the tokens hold one of the two non-ASCII letters that fold to ASCII
// ones, which a bytewise folding does not see.
func (m *Message) tokenGrams() *gramSet {
	if !m.gramsDone {
		m.gramsDone = true
		toks := m.tokens()
		if bytes.Contains(toks, []byte("\u212a")) || bytes.Contains(toks, []byte("\u017f")) {
			return nil
		}
		gs := gramSets.Get().(*gramSet)
		clear(gs[:])
		for i := 2; i < len(toks); i++ {
			g := gram(toks[i-2], toks[i-1], toks[i])
			gs[g/64] |= 1 << (g % 64)
		}
		m.grams = gs
	}
	return m.grams
}

// The per-message buffers of the regex prefilter, reused across messages
// through Release: a message's tokens are as long as its JSON.
var (
	tokenBufs = sync.Pool{New: func() any { return new([]byte) }}
	gramSets  = sync.Pool{New: func() any { return new(gramSet) }}
)

// Release hands the message's reusable buffers back for later messages.
// m must not be used afterwards. Calling it is optional.
func (m *Message) Release() {
	if m.toks != nil {
		buf := m.toks[:0]
		tokenBufs.Put(&buf)
	}
	if m.grams != nil {
		gramSets.Put(m.grams)
	}
	*m = Message{}
}
