package meta

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"hark/bus"
)

var fmDisagreementsPath = flag.String("meta.fmdisagreements", "",
	"write every disagreement of TestFMScore to this file (default: hark-fm-disagreements.txt in $TMPDIR)")

// fmMessage is one line of testdata/fm-messages.jsonl: a fedora-messaging
// message, fed to hark as the envelope the AMQP source makes of it, and
// what the publisher's own schema class says of it (nil for lines without).
type fmMessage struct {
	line     int
	schema   string
	raw      []byte // the envelope as JSON, as bus.Decode reads it
	env      *bus.Envelope
	expected map[string]any
}

// loadFMMessages reads testdata/fm-messages.jsonl into envelopes:
// {"topic", "msg": body, "msg_id": id, "timestamp": sent-at, "headers"}.
func loadFMMessages(t testing.TB) []fmMessage {
	t.Helper()
	f, err := os.Open("../testdata/fm-messages.jsonl")
	if err != nil {
		t.Fatalf("open fm messages: %v", err)
	}
	defer f.Close()
	var out []fmMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		var in struct {
			ID       string          `json:"id"`
			Topic    string          `json:"topic"`
			Headers  json.RawMessage `json:"headers"`
			Body     json.RawMessage `json:"body"`
			Expected map[string]any  `json:"expected"`
		}
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			t.Fatalf("fm messages line %d: %v", line, err)
		}
		var h struct {
			Schema string `json:"fedora_messaging_schema"`
			SentAt string `json:"sent-at"`
		}
		if err := json.Unmarshal(in.Headers, &h); err != nil {
			t.Fatalf("fm messages line %d: headers: %v", line, err)
		}
		sent, err := time.Parse(time.RFC3339, h.SentAt)
		if err != nil {
			t.Fatalf("fm messages line %d: sent-at: %v", line, err)
		}
		raw, err := json.Marshal(map[string]any{
			"topic": in.Topic, "msg": in.Body, "msg_id": in.ID,
			"timestamp": sent.Unix(), "headers": in.Headers,
		})
		if err != nil {
			t.Fatal(err)
		}
		env, err := bus.Decode(raw)
		if err != nil {
			t.Fatalf("fm messages line %d: %v", line, err)
		}
		out = append(out, fmMessage{line: line, schema: h.Schema, raw: raw, env: env, expected: in.Expected})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read fm messages: %v", err)
	}
	return out
}

// fmFields maps the schema classes' properties to what hark describes.
var fmFields = []struct {
	name string // the property, as in expected
	set  bool
	get  func(*Description) any
}{
	{"summary", false, func(d *Description) any { return d.Subtitle }},
	{"str", false, func(d *Description) any { return d.Body }},
	{"url", false, func(d *Description) any { return d.Link }},
	{"app_name", false, func(d *Description) any { return d.AppName }},
	{"app_icon", false, func(d *Description) any { return d.Icon }},
	{"agent_name", false, func(d *Description) any { return d.Agent }},
	{"usernames", true, func(d *Description) any { return d.Usernames }},
	{"packages", true, func(d *Description) any { return d.Packages }},
	{"groups", true, func(d *Description) any { return d.Groups }},
	{"containers", true, func(d *Description) any { return d.Containers }},
	{"modules", true, func(d *Description) any { return d.Modules }},
	{"flatpaks", true, func(d *Description) any { return d.Flatpaks }},
}

// fmTargets are the agreement each field must reach on the lines with
// expected values: issue 15's targets, all reached (measured on merging
// the fm processors: 100 % but agent_name 99.5 %, an address hark drops,
// and packages 99.1 %, containers hark counts as packages). Fields
// without a target are only reported.
var fmTargets = map[string]float64{
	"summary":    0.95,
	"url":        0.95,
	"usernames":  0.97,
	"packages":   0.97,
	"agent_name": 0.97,
	"app_name":   0.97,
	"str":        0.80,
}

// normalizeSpace collapses runs of white space, as the score compares
// texts: line wrapping is not what the schema classes are about.
func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestFMScore describes every fedora-messaging message and compares, on
// the lines the schema classes described, field by field. Every
// disagreement goes to a file; -v logs a summary per field and schema.
func TestFMScore(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := *fmDisagreementsPath
	if path == "" {
		path = filepath.Join(os.TempDir(), "hark-fm-disagreements.txt")
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()

	fields := map[string]*agreement{}
	schemas := map[string]*agreement{} // every field of every line of a schema
	for _, m := range loadFMMessages(t) {
		got := d.Describe(m.env)
		got.Body = LongText(m.env, &got)
		if strings.TrimSpace(got.Subtitle) == "" {
			t.Errorf("line %d (%s, %s): empty summary", m.line, m.schema, m.env.Topic)
		}
		if m.expected == nil {
			continue
		}
		sa := schemas[m.schema]
		if sa == nil {
			sa = &agreement{}
			schemas[m.schema] = sa
		}
		var block strings.Builder // this message's disagreements
		for _, f := range fmFields {
			want, ok := m.expected[f.name]
			if !ok {
				continue
			}
			a := fields[f.name]
			if a == nil {
				a = &agreement{}
				fields[f.name] = a
			}
			var same bool
			var gotText, wantText string
			if f.set {
				g := set(slices.Clone(f.get(&got).([]string)))
				wantSet := expectedSet(want)
				same = slices.Equal(g, wantSet) || len(g) == 0 && len(wantSet) == 0
				gotText, wantText = fmt.Sprintf("%q", g), fmt.Sprintf("%q", wantSet)
			} else {
				g, _ := f.get(&got).(string)
				ws, _ := want.(string) // null: ""
				same = normalizeSpace(g) == normalizeSpace(ws)
				gotText, wantText = fmt.Sprintf("%q", g), fmt.Sprintf("%q", ws)
			}
			a.total++
			sa.total++
			if same {
				a.agree++
				sa.agree++
				continue
			}
			fmt.Fprintf(&block, "  %s\n    want %s\n    got  %s\n", f.name, wantText, gotText)
		}
		if block.Len() > 0 {
			fmt.Fprintf(w, "line %d %s %s\n%s", m.line, m.schema, m.env.Topic, block.String())
		}
	}
	t.Logf("disagreements written to %s", out.Name())
	for _, f := range fmFields {
		if a := fields[f.name]; a != nil {
			t.Logf("%-10s %4d/%4d = %5.1f%%", f.name, a.agree, a.total, 100*a.rate())
		}
	}
	names := make([]string, 0, len(schemas))
	for s := range schemas {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		a := schemas[s]
		t.Logf("schema %-45s %4d/%4d fields = %5.1f%%", s, a.agree, a.total, 100*a.rate())
	}
	for _, f := range fmFields {
		min, ok := fmTargets[f.name]
		if a := fields[f.name]; ok && a != nil && a.rate() < min {
			t.Errorf("%s: agreement %.1f%%, want at least %.0f%% (see %s)", f.name, 100*a.rate(), 100*min, out.Name())
		}
	}
}
