package bus

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns v as fedmsg's canonical JSON, the text that X.509
// signatures cover: Python's json.dumps(v, sort_keys=True,
// separators=(',', ':')) with its default ensure_ascii, so non-ASCII is
// escaped as lowercase \uXXXX (surrogate pairs above U+FFFF), no HTML
// escaping, numbers kept as their original text, no trailing newline.
func Canonical(v any) []byte {
	return appendJSON(nil, v, true)
}

// CompactUTF8 returns v as compact JSON with sorted keys and non-ASCII
// left as UTF-8: the text the regex rule searches, so a pattern can be
// written with the characters a user sees.
func CompactUTF8(v any) []byte {
	return appendJSON(nil, v, false)
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
		return strconv.AppendFloat(b, v, 'g', -1, 64)
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
		// encoding/json once, then take the canonical path.
		raw, err := json.Marshal(v)
		if err != nil {
			return appendString(b, fmt.Sprint(v), ascii)
		}
		fields, err := decodeValue(raw)
		if err != nil {
			return append(b, raw...)
		}
		return appendJSON(b, fields, ascii)
	}
}

const hexDigits = "0123456789abcdef"

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
				if c < 0x20 {
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
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
