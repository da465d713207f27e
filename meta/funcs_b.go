package meta

// Template functions for the fedora-messaging processors of bodhi, koji,
// bugzilla, fedocal, ipa, planet and the messages without a schema of
// their own (fm-*.yaml). Each reproduces one formatting habit of those
// apps' schema classes, which the generic functions cannot express.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

func init() {
	for name, f := range map[string]function{
		// bodhi's truncate(): 40 characters or more are cut to 40 and
		// followed by "…" (one character, not three dots).
		"bodhiTruncate": fn1(func(s string) string { return truncRunes(s, 40, 40, "…") }),
		// bodhi's past_tense(): "obsolete" → "obsoleted", "push" → "pushed".
		"bodhiPastTense": fn1(func(verb string) string {
			if strings.HasSuffix(verb, "e") {
				return verb + "d"
			}
			return verb + "ed"
		}),
		// bodhi's MENTION_RE, (?<!\S)(@\w+): an @name only at the start of
		// the text or after white space, so "test@example.com" names nobody
		// (the engine's mentions takes every @).
		"bodhiMentions": fn1(spacedMentions),
		// bugzilla2fedmsg's title cut: more than 40 characters become the
		// first 40 and "...".
		"bzTruncate": fn1(func(s string) string { return truncRunes(s, 41, 40, "...") }),
		// bugzilla2fedmsg's comma_join: "'a'", "'a' and 'b'",
		// "'a', 'b', and 'c'", "something unknown" for none.
		"bzFieldList": fn1(quotedSeries),
		// koji's build states by number, as the schema's BUILD_STATES enum
		// names them: kojiBuildState 1 → "COMPLETE".
		"kojiBuildState": fn1(func(n int) string {
			if n >= 0 && n < len(kojiBuildStates) {
				return kojiBuildStates[n]
			}
			return ""
		}),
		// The same state as the schema's texts print it: "complete".
		"kojiBuildStatus": fn1(func(n int) string {
			if n >= 0 && n < len(kojiBuildStates) {
				return strings.ToLower(kojiBuildStates[n])
			}
			return ""
		}),
		// koji's date_to_string: an ISO 8601 time as
		// "Fri, 09 Jun 2023 07:16:27 UTC"; anything else (null, a number)
		// is "".
		"kojiDate": fn1(kojiDate),
		// koji's fill_task_template: a task, its files under the base URL
		// and, recursively, its sub-tasks in completion order.
		"kojiTaskText": fn2(func(task any, filesBase string) string {
			var b strings.Builder
			writeKojiTask(&b, task, filesBase)
			return b.String()
		}),
		// IPA's agent: the user part of a Kerberos principal
		// ("admin@EXAMPLE.TEST" → "admin"), Python's partition("@")[0].
		"ipaPrincipalUser": fn1(func(p string) string {
			user, _, _ := strings.Cut(p, "@")
			return user
		}),
		// A JSON document held in a string field (IPA's IPA_API_PARAMS),
		// decoded so templates and paths can read into it; null when it is
		// not JSON.
		"parseJSONText": fn1(func(s string) any {
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			var v any
			if d.Decode(&v) != nil {
				return nil
			}
			return v
		}),
		// Python's repr() of a string: 'title', or "it's" when the text
		// holds a single quote and no double one.
		"pyReprString": fn1(pyRepr),
	} {
		templateFuncs[name] = f
	}
}

// truncRunes cuts s to keep characters followed by tail when it has at
// least atLeast characters (Python slices count characters, not bytes).
func truncRunes(s string, atLeast, keep int, tail string) string {
	if utf8.RuneCountInString(s) < atLeast {
		return s
	}
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + tail
		}
		n++
	}
	return s + tail
}

func spacedMentions(text string) []string {
	var out []string
	prevSpace := true
	for i, r := range text {
		if r == '@' && prevSpace {
			rest := text[i+1:]
			end := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) })
			if end < 0 {
				end = len(rest)
			}
			if end > 0 {
				out = append(out, rest[:end])
			}
		}
		prevSpace = unicode.IsSpace(r)
	}
	return out
}

func quotedSeries(list any) string {
	var items []string
	for _, e := range toList(list) {
		s, ok := scalar(e)
		if !ok {
			s = pyStr(e)
		}
		items = append(items, "'"+s+"'")
	}
	switch len(items) {
	case 0:
		return "something unknown"
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}

// pyStr is Python's str() of a JSON value, for texts the schemas format
// with f-strings: None, True, False, numbers as sent.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	if s, ok := scalar(v); ok {
		return s
	}
	return fmt.Sprint(v)
}

func pyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

var kojiBuildStates = []string{"BUILDING", "COMPLETE", "DELETED", "FAILED", "CANCELED"}

func kojiDate(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	t, zoned, err := parsePyISOTime(s)
	if err != nil {
		return ""
	}
	// strftime's %Z: "UTC" for a zero offset, "UTC+02:00" for another,
	// nothing for a naive time.
	out := t.Format("Mon, 02 Jan 2006 15:04:05 ")
	if zoned {
		out += "UTC"
		if _, off := t.Zone(); off != 0 {
			out += t.Format("-07:00")
		}
	}
	return out
}

// parsePyISOTime reads what Python's datetime.fromisoformat accepts in
// practice: a date, "T" or " ", a time with optional fraction and offset.
// zoned says whether it had an offset.
func parsePyISOTime(s string) (t time.Time, zoned bool, err error) {
	for _, l := range []struct {
		layout string
		zoned  bool
	}{
		{"2006-01-02T15:04:05.999999999Z07:00", true}, {"2006-01-02 15:04:05.999999999Z07:00", true},
		{"2006-01-02T15:04:05.999999999", false}, {"2006-01-02 15:04:05.999999999", false},
		{"2006-01-02T15:04Z07:00", true}, {"2006-01-02T15:04", false}, {"2006-01-02", false},
	} {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t, l.zoned, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("parse time %q: not ISO 8601", s)
}

func writeKojiTask(b *strings.Builder, v any, filesBase string) {
	task, _ := v.(map[string]any)
	host := task["host_name"]
	if h, _ := host.(string); h == "" {
		host = "(unscheduled)"
	}
	fmt.Fprintf(b, "Task %s on %s\nTask Type: %s (%s)\nLink: %s\n",
		pyStr(task["id"]), pyStr(host), pyStr(task["method"]), pyStr(task["arch"]), pyStr(task["url"]))
	// A result that is a string (image builds) lists no files.
	if result, ok := task["result"].(map[string]any); ok {
		for _, kind := range []string{"logs", "rpms", "srpms"} {
			items := toList(result[kind])
			if len(items) == 0 {
				continue
			}
			b.WriteString(kind + ":\n")
			for _, item := range items {
				fmt.Fprintf(b, "  %s/%s\n", filesBase, pyStr(item))
			}
		}
		if item, ok := result["srpm"]; ok {
			fmt.Fprintf(b, "srpm:\n  %s/%s\n", filesBase, pyStr(item))
		}
	}
	children := slices.Clone(toList(task["children"]))
	if len(children) > 0 {
		fmt.Fprintf(b, "\nTask %s has the following sub-tasks:\n", pyStr(task["id"]))
	}
	slices.SortStableFunc(children, func(x, y any) int {
		return compareFloat(completionTime(x), completionTime(y))
	})
	for _, child := range children {
		b.WriteByte('\n')
		writeKojiTask(b, child, filesBase)
	}
}

func completionTime(task any) float64 {
	m, _ := task.(map[string]any)
	s, ok := scalar(m["completion_time"])
	if !ok {
		return 0
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
