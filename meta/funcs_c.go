package meta

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Template functions for the fedora-messaging processors of pagure, the
// webhook forges (forgejo, github, gitlab, pretix), the git hook and
// discourse (fm-*.yaml). Their names say which Python idiom they copy, so
// they do not collide with the engine's.
func init() {
	// pyDumpsIndent V: Python's json.dumps(V, sort_keys=True, indent=4), the
	// text fedora-messaging's default Message.__str__ prints for schema
	// classes that define no __str__ of their own (pretix, git.receive).
	templateFuncs["pyDumpsIndent"] = fn1(func(v any) string {
		var b strings.Builder
		fmcWritePyJSON(&b, v, 0)
		return b.String()
	})
	// pyFirstLine S: Python's S.splitlines()[0], the first line of a commit
	// message in the forges' push summaries.
	templateFuncs["pyFirstLine"] = fn1(func(s string) string {
		if i := strings.IndexFunc(s, fmcIsPyLineBreak); i >= 0 {
			return s[:i]
		}
		return s
	})
	// pyTitle S: Python's str.title(), every run of letters capitalised
	// ("action_run" -> "Action_Run").
	templateFuncs["pyTitle"] = fn1(func(s string) string {
		var b strings.Builder
		prevLetter := false
		for _, r := range s {
			letter := strings.ToUpper(string(r)) != strings.ToLower(string(r))
			switch {
			case letter && !prevLetter:
				b.WriteString(strings.ToUpper(string(r)))
			case letter:
				b.WriteString(strings.ToLower(string(r)))
			default:
				b.WriteRune(r)
			}
			prevLetter = letter
		}
		return b.String()
	})
}

// fmcIsPyLineBreak reports the characters Python's str.splitlines splits on.
func fmcIsPyLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// fmcWritePyJSON writes v as Python's json.dumps with sort_keys=True,
// indent=4 and the default ensure_ascii=True would.
func fmcWritePyJSON(b *strings.Builder, v any, depth int) {
	newline := func(d int) {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("    ", d))
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		fmcWritePyString(b, x)
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			fmcWritePyString(b, k)
			b.WriteString(": ")
			fmcWritePyJSON(b, x[k], depth+1)
		}
		newline(depth)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			fmcWritePyJSON(b, e, depth+1)
		}
		newline(depth)
		b.WriteByte(']')
	case json.Number:
		// The text Python wrote when it published the message.
		b.WriteString(string(x))
	default:
		if s, ok := scalar(v); ok {
			b.WriteString(s)
			return
		}
		fmt.Fprint(b, v)
	}
}

// fmcWritePyString quotes s as Python's json module does with ensure_ascii:
// every non-ASCII character becomes \uXXXX (a surrogate pair above U+FFFF).
func fmcWritePyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r <= 0xffff):
				if r == 0x7f {
					b.WriteRune(r)
					continue
				}
				fmt.Fprintf(b, `\u%04x`, r)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
