package bus

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns v as fedmsg's canonical JSON, the text that X.509
// signatures cover: Python's json.dumps(v, sort_keys=True,
// separators=(',', ':')) with its default ensure_ascii, so everything
// outside printable ASCII (DEL included) is escaped as lowercase \uXXXX
// (surrogate pairs above U+FFFF), no HTML escaping, no trailing newline.
//
// Numbers decoded from the wire (json.Number) keep their original text, so
// a message re-serialises to exactly the bytes its publisher signed. Go
// float64 values, and numbers of Go values that go through encoding/json,
// are written the way Python's repr writes a float, so that a Python
// receiver that parses and re-dumps the message gets the same text.
func Canonical(v any) []byte {
	return appendJSON(nil, v, true)
}

// CompactUTF8 returns v as compact JSON with sorted keys and non-ASCII
// left as UTF-8: the text the regex rule searches, so a pattern can be
// written with the characters a user sees (Python's ensure_ascii=False).
func CompactUTF8(v any) []byte {
	return appendJSON(nil, v, false)
}

// AppendCompactUTF8 appends CompactUTF8(v) to b: a caller that writes many
// messages can reuse one buffer.
func AppendCompactUTF8(b []byte, v any) []byte {
	return appendJSON(b, v, false)
}

func appendJSON(b []byte, v any, ascii bool) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v, ascii)
	case float64:
		return AppendPythonFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, ascii)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e, ascii)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // Python sorts by code point; Go's byte order on UTF-8 is the same.
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k, ascii)
			b = append(b, ':')
			b = appendJSON(b, v[k], ascii)
		}
		return append(b, '}')
	default:
		// Values built by Go code (a publisher's payload) go through
		// encoding/json once, then take the canonical path with their
		// numbers rewritten as Python would write them: encoding/json
		// writes 1e-6 as 0.000001 where Python writes 1e-06.
		raw, err := json.Marshal(v)
		if err != nil {
			return appendString(b, fmt.Sprint(v), ascii)
		}
		decoded, err := decodeValue(raw)
		if err != nil {
			return append(b, raw...)
		}
		decoded, err = pythonNumbers(decoded)
		if err != nil {
			return append(b, raw...)
		}
		return appendJSON(b, decoded, ascii)
	}
}

// pythonNumbers rewrites, in place where it can, every json.Number in v
// into the text Python's json.dumps(json.loads(text)) produces: integers
// stay integers ("-0" becomes "0"), everything else becomes a float written
// as repr writes it ("1.50" becomes "1.5", "1E5" becomes "100000.0"). A
// signer needs this so that what it signs is what a Python verifier
// recomputes; a number too large for a float64 has no such text.
func pythonNumbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return pythonNumber(v)
	case []any:
		for i, e := range v {
			n, err := pythonNumbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	case map[string]any:
		for k, e := range v {
			n, err := pythonNumbers(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			v[k] = n
		}
	}
	return v, nil
}

func pythonNumber(n json.Number) (json.Number, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0", nil
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", fmt.Errorf("number %s does not fit a float64", s)
	}
	return json.Number(AppendPythonFloat(nil, f)), nil
}

// appendPythonFloat writes f as Python's float repr does: the shortest
// text that reads back as f, in exponent form when the decimal exponent is
// below -4 or at least 16 ("1e-05", "1e+16"), otherwise positional with at
// least one fractional digit ("100.0", "0.0001"). NaN and the infinities
// are written as Python's json module writes them.
func AppendPythonFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64) // "-1.25e+06": Go already pads the exponent to 2 digits, as Python does
	exp, _ := strconv.Atoi(string(e[strings.IndexByte(string(e), 'e')+1:]))
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if !slices.Contains(b[start:], '.') {
		b = append(b, ".0"...)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as Python's json module does. With ascii
// (ensure_ascii=True) everything outside ' '..'~' is escaped; without it
// only the quote, the backslash and control characters below 0x20 are.
func appendString(b []byte, s string, ascii bool) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				if c < 0x20 || (ascii && c == 0x7f) {
					b = appendU(b, rune(c))
				} else {
					b = append(b, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !ascii {
			b = append(b, s[i:i+size]...)
			i += size
			continue
		}
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = appendU(b, r1)
			b = appendU(b, r2)
		} else {
			b = appendU(b, r)
		}
		i += size
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
