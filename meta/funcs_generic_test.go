package meta

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCasualDelta(t *testing.T) {
	for _, tc := range []struct {
		when string
		now  any
		want string
	}{
		{"2026-12-07 02:47:12", json.Number("1796465172"), "in 1 day"}, // now 2026-12-05T10:06:12Z
		{"2026-12-12 00:47:12", "2026-12-09T04:46:34+00:00", "in 2 days"},
		{"2013-09-20 12:00:00", "2013-09-18T20:26:48+00:00", "in 1 day"},
		{"2024-01-01 12:00:00", "2024-01-01T09:59:00Z", "in 2 hours"},
		{"2024-01-01 12:00:00", "2024-01-01T11:52:20Z", "in 7 minutes"},
		{"2024-01-01 12:00:00", "2024-01-01T11:59:04Z", "right now"},
		{"2024-03-31 00:00:00", "2024-01-31T00:00:00Z", "in 2 months"},
		{"2025-02-28 00:00:00", "2024-01-31T00:00:00Z", "in 1 year"},
		{"2013-09-20 12:00:00", "2013-09-22T00:00:00Z", "in -1 days"},
		{"2024-01-01T11:00:00+01:00", json.Number("1704103170.5"), "right now"},
	} {
		got, err := casualDelta(tc.when, tc.now)
		if err != nil || got != tc.want {
			t.Errorf("casualDelta(%q, %v) = %q, %v; want %q", tc.when, tc.now, got, err, tc.want)
		}
	}
	if _, err := casualDelta("soon", json.Number("0")); err == nil {
		t.Error("casualDelta of a non-date: no error")
	}
}

// TestCasualDeltaAgreesWithFedocal checks the helper against the fedocal
// reminders of the data, computed by the schema at their own sent-at.
func TestCasualDeltaAgreesWithFedocal(t *testing.T) {
	n := 0
	for _, m := range loadFMMessages(t) {
		if m.schema != "fedocal.meeting.reminder" || m.expected == nil {
			continue
		}
		meeting := m.env.Fields["msg"].(map[string]any)["meeting"].(map[string]any)
		when := meeting["meeting_date"].(string) + " " + meeting["meeting_time_start"].(string)
		got, err := casualDelta(when, m.env.Fields["timestamp"])
		if want := m.expected["str"].(string); err != nil || !strings.HasSuffix(want, " starts "+got) {
			t.Errorf("line %d: casualDelta = %q, %v; the schema says %q", m.line, got, err, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no fedocal reminder in the data")
	}
}

func TestJoinAndPyJSON(t *testing.T) {
	for _, tc := range []struct {
		tmpl, want string
	}{
		{`{{ joinAnd .msg.none }}`, ""},
		{`{{ joinAnd .msg.one }}`, "a"},
		{`{{ joinAnd .msg.two }}`, "a and b"},
		{`{{ joinAnd .msg.three }}`, "a, b and c"},
		{`{{ pyjson .msg.two }}`, "[\n    \"a\",\n    \"b\"\n]"},
		{`{{ casualDelta "2024-01-02 00:00:00" .timestamp }}`, "in 1 day"},
	} {
		set := newTemplateSet(nil)
		tm, err := compileTemplate("t", tc.tmpl, set)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		env := envelope(t, `{"topic": "x", "timestamp": 1704067200, "msg": {"none": [], "one": ["a"], "two": ["a", "b"], "three": ["a", "", "b", "c"]}}`)
		s := getState()
		got := tm.execute(s, env.Fields)
		putState(s)
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestPyJSONEscapesAsPython(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{"plain", `"plain"`},
		{"a \"q\" \\ b", `"a \"q\" \\ b"`},
		{"tab\there\nnl\r\b\f\x01\x7f", `"tab\there\nnl\r\b\f\u0001\u007f"`},
		{"café 😀", `"caf\u00e9 \ud83d\ude00"`},
		{[]any{}, `[]`},
		{map[string]any{}, `{}`},
		{map[string]any{"b": nil, "a": []any{true, json.Number("1.50")}}, "{\n    \"a\": [\n        true,\n        1.5\n    ],\n    \"b\": null\n}"},
		{[]any{json.Number("10"), json.Number("75.0"), json.Number("1E5"), json.Number("0.00001"), json.Number("1.5e16"),
			json.Number("-0.25"), json.Number("123456789012345678901234"), json.Number("0.0001"), json.Number("2.5e-7")},
			"[\n    10,\n    75.0,\n    100000.0,\n    1e-05,\n    1.5e+16,\n    -0.25,\n    123456789012345678901234,\n    0.0001,\n    2.5e-07\n]"},
	} {
		if got := string(appendPyJSON(nil, tc.in, 0)); got != tc.want {
			t.Errorf("pyjson(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
