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
		// fedocal's reminder text: the meeting's start relative to the
		// message's sent-at, "in 2 days", "in 1 hour", "right now".
		"fedocalStartsIn": fn2(func(meeting, sentAt any) string {
			s, err := fedocalStartsIn(meeting, sentAt)
			if err != nil {
				return ""
			}
			return s
		}),
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
		// Python's json.dumps(v, sort_keys=True, indent=4,
		// separators=(",", ": ")): the base Message's __str__ prints the
		// headers and body this way.
		"pyJSONIndent": fn1(func(v any) string {
			var b strings.Builder
			writePyJSON(&b, v, 0)
			return b.String()
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

func writePyJSON(b *strings.Builder, v any, depth int) {
	indent := func(d int) {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("    ", d))
	}
	switch x := v.(type) {
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
			indent(depth + 1)
			writePyJSONString(b, k)
			b.WriteString(": ")
			writePyJSON(b, x[k], depth+1)
		}
		indent(depth)
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
			indent(depth + 1)
			writePyJSON(b, e, depth+1)
		}
		indent(depth)
		b.WriteByte(']')
	case string:
		writePyJSONString(b, x)
	case nil:
		b.WriteString("null")
	default:
		s, _ := scalar(v)
		b.WriteString(s)
	}
}

// writePyJSONString writes s as Python's json module does by default
// (ensure_ascii): everything outside ASCII as \uXXXX, in surrogate pairs
// beyond the BMP.
func writePyJSONString(b *strings.Builder, s string) {
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
		case r < 0x20 || (r > 0x7e && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
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

// fedocalStartsIn ports fedocal's _casual_timedelta_string: dateutil's
// relativedelta between the meeting's start and the message's sent-at (an
// ISO time, or Unix seconds), named by its largest non-zero unit.
func fedocalStartsIn(meeting, sentAt any) (string, error) {
	m, _ := meeting.(map[string]any)
	date, _ := m["meeting_date"].(string)
	clock, _ := m["meeting_time_start"].(string)
	start, err := time.Parse("2006-01-02 15:04:05", date+" "+clock)
	if err != nil {
		return "", fmt.Errorf("parse meeting start: %w", err)
	}
	var now time.Time
	switch x := sentAt.(type) {
	case string:
		if now, err = time.Parse(time.RFC3339, x); err != nil {
			return "", fmt.Errorf("parse sent-at: %w", err)
		}
	default:
		s, ok := scalar(x)
		f, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			return "", fmt.Errorf("read sent-at %v: not a time", sentAt)
		}
		now = time.Unix(0, int64(f*1e9))
	}
	now = now.UTC()
	d := relativeDelta(start, now)
	for _, u := range []struct {
		n    int
		name string
	}{{d.years, "years"}, {d.months, "months"}, {d.days, "days"}, {d.hours, "hours"}, {d.minutes, "minutes"}} {
		if u.n != 0 {
			name := u.name
			if u.n == 1 {
				name = strings.TrimSuffix(name, "s")
			}
			return fmt.Sprintf("in %d %s", u.n, name), nil
		}
	}
	return "right now", nil
}

type relDelta struct{ years, months, days, hours, minutes, seconds int }

// relativeDelta is dateutil's relativedelta(dt1, dt2): whole months
// first (days clipped to the month's end), the rest as days, hours and
// minutes, all with the sign of dt1 - dt2.
func relativeDelta(dt1, dt2 time.Time) relDelta {
	months := (dt1.Year()-dt2.Year())*12 + int(dt1.Month()) - int(dt2.Month())
	dtm := addMonths(dt2, months)
	if dt1.Before(dt2) {
		for dt1.After(dtm) {
			months++
			dtm = addMonths(dt2, months)
		}
	} else {
		for dt1.Before(dtm) {
			months--
			dtm = addMonths(dt2, months)
		}
	}
	var d relDelta
	d.years, d.months = signedDivMod(months, 12)
	secs := int(dt1.Sub(dtm).Seconds())
	if dt1.Sub(dtm) < 0 && dt1.Sub(dtm)%time.Second != 0 {
		secs-- // timedelta floors to whole seconds
	}
	var minutes, hours int
	minutes, d.seconds = signedDivMod(secs, 60)
	hours, d.minutes = signedDivMod(minutes, 60)
	d.days, d.hours = signedDivMod(hours, 24)
	return d
}

// signedDivMod splits n into whole units of size and the rest, both with
// n's sign (relativedelta's _fix).
func signedDivMod(n, size int) (int, int) {
	s := 1
	if n < 0 {
		s = -1
	}
	return s * (n * s / size), s * (n * s % size)
}

func addMonths(t time.Time, months int) time.Time {
	total := t.Year()*12 + int(t.Month()) - 1 + months
	year, month := total/12, time.Month(total%12+1)
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(year, month, min(t.Day(), last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
