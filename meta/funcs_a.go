package meta

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// Template functions for the fedora-messaging processors of anitya,
// the-new-hotness, koschei, copr and mirrormanager (fm-*.yaml). Their
// names carry the group's prefix so that they cannot collide with the
// engine's or another group's.
func init() {
	// appsaPyDumps V: Python's json.dumps(V, sort_keys=True, indent=4,
	// separators=(",", ": ")), the text fedora-messaging's base
	// Message.__str__ prints for the headers and the body of classes that
	// write no __str__ of their own (copr, the-new-hotness's update.drop).
	templateFuncs["appsaPyDumps"] = fn1(func(v any) string {
		var b strings.Builder
		appsaWritePyJSON(&b, v, 0)
		return b.String()
	})
}

// appsaWritePyJSON writes v as Python's json.dumps does with sort_keys,
// indent=4 and the default ensure_ascii: numbers keep the text they came
// with (json.Number), which is Python's own when Python wrote them.
func appsaWritePyJSON(b *strings.Builder, v any, depth int) {
	newline := func(d int) {
		b.WriteByte('\n')
		for range d {
			b.WriteString("    ")
		}
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		appsaWritePyString(b, x)
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
			appsaWritePyString(b, k)
			b.WriteString(": ")
			appsaWritePyJSON(b, x[k], depth+1)
		}
		newline(depth)
		b.WriteByte('}')
	case []any, []string:
		l := toList(x)
		if len(l) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range l {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			appsaWritePyJSON(b, e, depth+1)
		}
		newline(depth)
		b.WriteByte(']')
	default:
		if s, ok := scalar(v); ok {
			b.WriteString(s)
			return
		}
		fmt.Fprint(b, v)
	}
}

// appsaWritePyString writes s as a JSON string the way Python's
// ensure_ascii encoder does: printable ASCII as is, the usual short
// escapes, everything else as lower-case \uXXXX (surrogate pairs beyond
// the BMP).
func appsaWritePyString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	u := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[(r>>shift)&0xf])
		}
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			u(r1)
			u(r2)
		default:
			u(r)
		}
	}
	b.WriteByte('"')
}
