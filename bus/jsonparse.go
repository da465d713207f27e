package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// parseObject parses a JSON object into what encoding/json's Decoder
// with UseNumber gives (map[string]any, []any, string, bool, nil and
// json.Number holding the number's text), refusing anything after it.
// It exists for speed: on 1 KB envelopes it is several times faster than
// encoding/json, whose reflection dominated the cost of receiving a
// message. FuzzParseObjectMatchesEncodingJSON holds it to encoding/json's
// results. data must be valid UTF-8 (Decode checks that first).
func parseObject(data []byte) (map[string]any, error) {
	p := parser{data: data, text: string(data)}
	p.skipSpace()
	if p.pos < len(data) && data[p.pos] != '{' {
		if _, err := p.value(); err != nil {
			return nil, err
		}
		return nil, errors.New("not an object")
	}
	if p.pos >= len(data) {
		return nil, errors.New("unexpected end of JSON input")
	}
	fields, err := p.object()
	if err != nil {
		return nil, err
	}
	end := p.pos
	p.skipSpace()
	if p.pos != len(data) {
		return nil, fmt.Errorf("trailing data after the envelope at byte %d", end)
	}
	return fields, nil
}

// maxDepth is encoding/json's nesting limit, kept so both refuse the same
// documents and a hostile one cannot exhaust the stack.
const maxDepth = 10000

type parser struct {
	data []byte
	// text is data as one string, copied once: keys, numbers and strings
	// without escapes are slices of it, which saves an allocation each
	// (most of a message's), at the price of keeping the whole text alive
	// as long as any of them, which the envelope does anyway.
	text  string
	pos   int
	depth int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) errorf(format string, args ...any) error {
	if p.pos >= len(p.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("byte %d: "+format, append([]any{p.pos}, args...)...)
}

func (p *parser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("invalid character %q looking for a value", c)
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *parser) nest() error {
	if p.depth++; p.depth > maxDepth {
		return p.errorf("exceeded max depth")
	}
	p.pos++ // the opening bracket
	p.skipSpace()
	return nil
}

func (p *parser) object() (map[string]any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	m := make(map[string]any)
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("want a string for an object key")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("want ':' after an object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[key] = v // the last of repeated keys wins, as in encoding/json
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			p.depth--
			return m, nil
		default:
			return nil, p.errorf("want ',' or '}' after an object value")
		}
	}
}

func (p *parser) array() ([]any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	a := []any{}
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			p.depth--
			return a, nil
		default:
			return nil, p.errorf("want ',' or ']' after an array element")
		}
	}
}

// number checks JSON's number grammar and keeps the text.
func (p *parser) number() (json.Number, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.digits() == 0:
		return "", p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return "", p.errorf("want a digit after the decimal point")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return "", p.errorf("want a digit in the exponent")
		}
	}
	return json.Number(p.text[start:p.pos]), nil
}

func (p *parser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// string parses a string; most have no escape and cost no copy.
func (p *parser) string() (string, error) {
	p.pos++ // the opening quote
	start := p.pos
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == '"':
			s := p.text[start:p.pos]
			p.pos++
			return s, nil
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return "", p.errorf("invalid control character in string")
		default:
			p.pos++
		}
	}
	return "", p.errorf("")
}

// escapedString finishes a string that has escapes, decoding them as
// encoding/json does: a \u surrogate that is not half of a pair becomes
// U+FFFD.
func (p *parser) escapedString(start int) (string, error) {
	buf := append(make([]byte, 0, p.pos-start+16), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("invalid control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", p.errorf("")
		}
		p.pos++ // the backslash
		switch e := p.data[p.pos]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := p.hex4(p.pos + 1)
			if r < 0 {
				return "", p.errorf("invalid \\u escape")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+2 < len(p.data) && p.data[p.pos+1] == '\\' && p.data[p.pos+2] == 'u' {
					r2 = p.hex4(p.pos + 3)
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					p.pos += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
		p.pos++
	}
	return "", p.errorf("")
}

// hex4 reads four hex digits at i, or returns -1.
func (p *parser) hex4(i int) rune {
	if i+4 > len(p.data) {
		return -1
	}
	var r rune
	for _, c := range p.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
