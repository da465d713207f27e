package irc

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"hark/delivery"
	"hark/templates"
)

// mIRC formatting codes. Colours are always written with two digits so
// that text starting with a digit is not read as part of the code.
const (
	bold   = '\x02'
	colour = '\x03'
)

var colours = map[string]string{"blue": "12", "grey": "14", "green": "03", "red": "04"}

// lateAfter is how old an event must be when it is sent before its own
// time is shown: a notification sent at once needs no time, a retried or
// batched one does.
const lateAfter = 5 * time.Minute

// compactAbove is the digest size above which entries are packed several
// to a line, so that a storm of a hundred notifications is a dozen lines
// rather than a hundred.
const compactAbove = 8

// DefaultMaxLines is how many lines one notification may take when no
// limit is configured.
const DefaultMaxLines = 5

// Renderer turns batches into IRC lines with the templates of
// templates/irc. It is safe for concurrent use.
type Renderer struct {
	base *template.Template
	now  func() time.Time
	// maxLines caps the lines of one notification, so that a message with
	// a huge subtitle does not hold the bot's line budget (and every
	// other user's notifications behind it) for minutes.
	maxLines int
}

// NewRenderer parses the embedded templates; now is the clock that decides
// whether an event is late (nil: time.Now).
func NewRenderer(now func() time.Time) (*Renderer, error) {
	if now == nil {
		now = time.Now
	}
	t, err := template.New("lines").Funcs(funcs(nil, false, now)).ParseFS(templates.IRC, "irc/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse irc templates: %w", err)
	}
	return &Renderer{base: t, now: now, maxLines: DefaultMaxLines}, nil
}

// SetMaxLines caps the lines of one notification at n (at least 2: some
// text, and the line that says where the rest is). It is called before
// the renderer is used.
func (r *Renderer) SetMaxLines(n int) {
	r.maxLines = max(n, 2)
}

// funcs are the template functions for one batch: its time zone, its
// markup and verbosity preferences.
func funcs(b *delivery.Batch, markup bool, now func() time.Time) template.FuncMap {
	local := func(t time.Time) time.Time { return t.UTC() }
	verbose := false
	if b != nil {
		local, verbose = b.LocalTime, b.Verbose
	}
	return template.FuncMap{
		"b": func(s string) string {
			if !markup || s == "" {
				return s
			}
			return string(bold) + s + string(bold)
		},
		"c": func(name, s string) string {
			code, ok := colours[name]
			if !markup || !ok || s == "" {
				return s
			}
			if s[0] == ',' { // would be read as a background colour
				s = string(bold) + string(bold) + s
			}
			return string(colour) + code + s + string(colour)
		},
		"when":    func(t time.Time) string { return local(t).Format("2006-01-02 15:04 MST") },
		"late":    func(it *delivery.Item) bool { return !it.Time.IsZero() && now().Sub(it.Time) > lateAfter },
		"verbose": func() bool { return verbose },
	}
}

// Lines renders b as IRC lines of at most width bytes of text each: a
// single notification as one line (split if long), a digest as a summary
// line and one line per entry, or entries packed several to a line when
// there are more than compactAbove.
func (r *Renderer) Lines(b *delivery.Batch, width int) ([]string, error) {
	t, err := r.base.Clone()
	if err != nil {
		return nil, fmt.Errorf("render irc lines: %w", err)
	}
	t.Funcs(funcs(b, b.Markup, r.now))
	if len(b.Items) == 0 {
		return nil, fmt.Errorf("render irc lines for %s: empty batch", b.Destination.Address)
	}
	if len(b.Items) == 1 && b.Digest == delivery.NotDigest {
		lines, err := exec(t, "notification", &b.Items[0], width)
		if err != nil {
			return nil, err
		}
		return r.capped(t, lines, r.maxLines, &b.Items[0], width)
	}
	lines, err := exec(t, "summary", b, width)
	if err != nil {
		return nil, err
	}
	if len(b.Items) <= compactAbove {
		for i := range b.Items {
			entry, err := exec(t, "entry", &b.Items[i], width)
			if err == nil {
				entry, err = r.capped(t, entry, r.maxLines, &b.Items[i], width)
			}
			if err != nil {
				return nil, err
			}
			lines = append(lines, entry...)
		}
		return lines, nil
	}
	var cur string
	for i := range b.Items {
		entry, err := exec(t, "compact", &b.Items[i], width)
		if err == nil {
			// A compact entry is a glimpse: one line and where the rest is.
			entry, err = r.capped(t, entry, 2, &b.Items[i], width)
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entry {
			switch {
			case cur == "":
				cur = e
			case len(cur)+len(" | ")+len(e) <= width:
				cur += " | " + e
			default:
				lines, cur = append(lines, cur), e
			}
		}
	}
	return append(lines, cur), nil
}

// capped keeps lines to n: the first n-1, then a line that says how many
// were left out and links to the notification in the web UI.
func (r *Renderer) capped(t *template.Template, lines []string, n int, it *delivery.Item, width int) ([]string, error) {
	if len(lines) <= n {
		return lines, nil
	}
	kept := lines[:n-1]
	cut, err := exec(t, "cut", map[string]any{"More": len(lines) - len(kept), "Link": it.HistoryLink}, width)
	if err != nil {
		return nil, err
	}
	return append(kept, cut...), nil
}

// Text renders one of the bot's own messages (help, confirmation) as
// lines of at most width bytes.
func (r *Renderer) Text(name string, data any, loc *time.Location, width int) ([]string, error) {
	t, err := r.base.Clone()
	if err != nil {
		return nil, fmt.Errorf("render irc %s: %w", name, err)
	}
	t.Funcs(funcs(&delivery.Batch{Location: loc}, false, r.now))
	return exec(t, name, data, width)
}

// exec runs one named template and splits its output into lines that fit
// width.
func exec(t *template.Template, name string, data any, width int) ([]string, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render irc %s: %w", name, err)
	}
	var lines []string
	for line := range strings.SplitSeq(buf.String(), "\n") {
		lines = append(lines, split(strings.TrimSpace(line), width)...)
	}
	return lines, nil
}
