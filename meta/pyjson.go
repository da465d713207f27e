package meta

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"hark/bus"
)

// appendPyJSON appends v as Python's json.dumps(v, sort_keys=True,
// indent=4) writes it: keys sorted, four spaces per level, ", " never
// (items end with "," and a newline), ": " between key and value, and
// everything outside printable ASCII escaped (ensure_ascii). The text of
// fedora-messaging's base __str__ is made of it, so it is byte for byte.
func appendPyJSON(b []byte, v any, depth int) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		return appendPyString(b, v)
	case json.Number:
		return appendPyNumber(b, string(v))
	case float64:
		return bus.AppendPythonFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case []any:
		if len(v) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIndent(b, depth+1)
			b = appendPyJSON(b, e, depth+1)
		}
		return append(appendIndent(b, depth), ']')
	case map[string]any:
		if len(v) == 0 {
			return append(b, "{}"...)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIndent(b, depth+1)
			b = appendPyString(b, k)
			b = append(b, ": "...)
			b = appendPyJSON(b, v[k], depth+1)
		}
		return append(appendIndent(b, depth), '}')
	}
	// Not a JSON value Decode makes; its Go JSON is the best guess.
	js, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, js...)
}

// appendPyNumber appends a JSON number as Python reads and writes it
// back: an integer as written, anything with a fraction or exponent as a
// float (1.50 → 1.5, 1E5 → 100000.0).
func appendPyNumber(b []byte, text string) []byte {
	if !strings.ContainsAny(text, ".eE") {
		return append(b, text...)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return append(b, text...)
	}
	return bus.AppendPythonFloat(b, f)
}

func appendIndent(b []byte, depth int) []byte {
	b = append(b, '\n')
	for range depth {
		b = append(b, "    "...)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendPyString appends s as a JSON string with Python's ensure_ascii
// escapes: \" \\ \n \r \t \b \f, and \uXXXX (surrogate pairs beyond the
// BMP) for every other character outside space..~.
func appendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	// Most text is printable ASCII, copied in runs.
	plain := 0
	for plain < len(s) && s[plain] >= ' ' && s[plain] <= '~' && s[plain] != '"' && s[plain] != '\\' {
		plain++
	}
	b = append(b, s[:plain]...)
	for _, r := range s[plain:] {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= ' ' && r <= '~':
			b = append(b, byte(r))
		case r > 0xffff:
			r -= 0x10000
			b = appendU(appendU(b, 0xd800+(r>>10)&0x3ff), 0xdc00+r&0x3ff)
		default:
			b = appendU(b, r)
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// baseStr is fedora-messaging's default __str__ of a message, what a
// schema without its own gives: its id, topic, headers and body, the
// last two as indented JSON.
func baseStr(env *bus.Envelope) string {
	b := make([]byte, 0, 512)
	b = append(b, "Id: "...)
	b = append(b, env.MsgID...)
	b = append(b, "\nTopic: "...)
	b = append(b, env.Topic...)
	b = append(b, "\nHeaders: "...)
	b = appendPyJSON(b, env.Headers, 0)
	b = append(b, "\nBody: "...)
	b = appendPyJSON(b, env.Msg, 0)
	return string(b)
}
