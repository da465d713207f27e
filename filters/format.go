package filters

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/destkind"
	"hark/rules"
	"hark/schedule"
)

// FormatVersion is the version of the export format this package writes
// and reads.
const FormatVersion = 1

// Limits on a user's filters, whichever way they come in (web page, API,
// import file, command line): matching costs grow with them, and one
// user must not make it slow for everyone.
const (
	MaxFilters      = 100 // filters of one user
	MaxRules        = 20  // rules of one filter
	MaxNameLen      = 100 // bytes of a filter's name
	MaxDestinations = 20  // destinations of one filter
)

// Export is the export/import format of one user's filters, stable and
// documented for people who keep their filters in git:
//
//	{"version": 1, "user": "alice", "filters": [
//	  {"name": "my packages", "active": true, "oneshot": false,
//	   "destinations": ["email:alice@example.org", "irc:alice"],
//	   "rules": [{"kind": "owned-by", "args": {"users": ["@me"]}, "negate": false}],
//	   "modes": {"email:alice@example.org": "daily 08:00"},
//	   "urgent": false, "snooze": "2026-03-14T09:00:00+01:00", "snooze_then": "digest"}]}
//
// modes, urgent, snooze and snooze_then are optional (files written
// before they existed import unchanged). A snooze already over when the
// file is imported is no snooze: a file kept in git stays importable.
//
// Filter names are unique per user. Importing replaces the user's filters
// with the file's, or with --merge adds and updates them by name; a
// destination the user does not have yet is created unconfirmed, with
// the settings of its kind listed for it under "destinations" (never a
// secret: an export leaves them out), e.g.
//
//	"destinations": [{"destination": "ntfy:https://ntfy.sh/x", "settings": {"key": "value"}}]
//
// Files without "destinations" (all files before it) import as before.
type Export struct {
	Version      int                   `json:"version"`
	User         string                `json:"user"`
	Filters      []Filter              `json:"filters"`
	Destinations []DestinationSettings `json:"destinations,omitempty"`
}

// DestinationSettings are one destination's settings of its kind as an
// export keeps them (destkind's schema; no secrets on export).
type DestinationSettings struct {
	Destination string            `json:"destination"` // kind:address
	Settings    map[string]string `json:"settings"`
}

// SettingsOf is the settings e lists for destination (kind:address).
func (e *Export) SettingsOf(destination string) map[string]string {
	i := slices.IndexFunc(e.Destinations, func(d DestinationSettings) bool { return d.Destination == destination })
	if i < 0 {
		return nil
	}
	return e.Destinations[i].Settings
}

// ParseExport decodes and validates an export file. Every problem is
// reported, each with the file, the line and the field at fault.
func ParseExport(name string, data []byte) (*Export, error) {
	var e Export
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("parse filters %s:%d: %w", name, decodeErrorLine(data, err), err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse filters %s:%d: trailing data after the JSON object", name, indexLines(data).at(data, dec.InputOffset()))
	}
	var lines lines // found on the first error: a good file needs none
	var errs []error
	report := func(path string, err error) {
		if lines == nil {
			lines = positions(data)
		}
		errs = append(errs, fmt.Errorf("parse filters %s:%d: %s: %w", name, lines.of(path), path, err))
	}
	if e.Version != FormatVersion {
		report("version", fmt.Errorf("version %d is not supported (want %d)", e.Version, FormatVersion))
	}
	if strings.TrimSpace(e.User) == "" {
		report("user", errors.New("missing user"))
	}
	check(e.Filters, e.User, true, report)
	for i, d := range e.Destinations {
		at := fmt.Sprintf("destinations[%d]", i)
		kind, _, err := destkind.Parse(d.Destination)
		if err != nil {
			report(at+".destination", err)
			continue
		}
		k, _ := destkind.Lookup(kind)
		if err := k.Validate(d.Settings); err != nil {
			report(at+".settings", err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &e, nil
}

// Validate checks a user's filters: names present and unique, and
// destinations well formed, all within the limits. Rules are checked
// when compiled.
func Validate(fs []Filter) error {
	var errs []error
	check(fs, "", false, func(path string, err error) { errs = append(errs, fmt.Errorf("%s: %w", path, err)) })
	return errors.Join(errs...)
}

// check reports what is wrong with fs, by JSON path; with compile, rules
// are compiled for owner too. Past a limit it looks no further in what
// broke it: a huge file costs no more than a count.
func check(fs []Filter, owner string, compile bool, report func(path string, err error)) {
	if len(fs) > MaxFilters {
		report("filters", fmt.Errorf("%d filters, more than the %d a user may have", len(fs), MaxFilters))
		return
	}
	seen := map[string]int{}
	for i, f := range fs {
		at := fmt.Sprintf("filters[%d]", i)
		switch prev, dup := seen[f.Name]; {
		case strings.TrimSpace(f.Name) == "":
			report(at+".name", errors.New("missing name"))
		case len(f.Name) > MaxNameLen:
			report(at+".name", fmt.Errorf("a name of %d bytes, longer than %d", len(f.Name), MaxNameLen))
		case dup:
			report(at+".name", fmt.Errorf("duplicate name %q (also filters[%d])", f.Name, prev))
		default:
			seen[f.Name] = i
		}
		if len(f.Destinations) > MaxDestinations {
			report(at+".destinations", fmt.Errorf("%d destinations, more than the %d a filter may have", len(f.Destinations), MaxDestinations))
		} else {
			for j, d := range f.Destinations {
				if err := CheckDestination(d); err != nil {
					report(fmt.Sprintf("%s.destinations[%d]", at, j), err)
				}
			}
		}
		checkDelivery(f, at, report)
		if len(f.Rules) > MaxRules {
			report(at+".rules", fmt.Errorf("%d rules, more than the %d a filter may have", len(f.Rules), MaxRules))
			continue
		}
		if !compile {
			continue
		}
		for j, r := range f.Rules {
			if _, err := rules.Compile(r.Kind, r.Args, owner); err != nil {
				report(fmt.Sprintf("%s.rules[%d]", at, j), err)
			}
		}
	}
}

// checkDelivery reports what is wrong with how f at path at says it is
// delivered: modes for destinations it has, that schedule reads, and a
// snooze that is on, off or a time.
func checkDelivery(f Filter, at string, report func(path string, err error)) {
	for _, d := range slices.Sorted(maps.Keys(f.Modes)) {
		path := fmt.Sprintf("%s.modes[%q]", at, d)
		if !slices.Contains(f.Destinations, d) {
			report(path, fmt.Errorf("%q is not one of the filter's destinations", d))
			continue
		}
		if _, err := schedule.ParseMode(f.Modes[d]); err != nil {
			report(path, err)
		}
	}
	if _, err := f.SnoozeUntil(); err != nil {
		report(at+".snooze", err)
	}
	if f.SnoozeThen != "" && f.SnoozeThen != "digest" && f.SnoozeThen != "drop" {
		report(at+".snooze_then", fmt.Errorf("%q is not digest or drop", f.SnoozeThen))
	}
}

// SnoozeUntil is when f's snooze ends: the zero time when it has none or
// it is over, Forever for "on".
func (f Filter) SnoozeUntil() (time.Time, error) {
	switch f.Snooze {
	case "", "off":
		return time.Time{}, nil
	case "on":
		return schedule.Forever, nil
	}
	t, err := time.Parse(time.RFC3339, f.Snooze)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time like 2026-03-14T09:00:00+01:00, on or off", f.Snooze)
	}
	if !t.After(time.Now()) {
		return time.Time{}, nil // over: no snooze
	}
	return t, nil
}

// CheckDestination checks a destination spelled "kind:address", as
// destkind describes the kinds.
func CheckDestination(d string) error {
	kind, addr, ok := strings.Cut(d, ":")
	if !ok || addr == "" {
		return fmt.Errorf("destination %q: want KIND:ADDRESS, KIND %s", d, destkind.Choices())
	}
	if _, known := destkind.Lookup(kind); !known {
		return fmt.Errorf("destination %q: unknown kind %q (want %s)", d, kind, destkind.Choices())
	}
	if err := destkind.Check(kind, addr); err != nil {
		return fmt.Errorf("destination %q: %w", d, err)
	}
	return nil
}

// Import returns a user's filters after importing e: the file's filters,
// or with merge, the current ones updated by name and the file's new ones
// appended in the file's order.
func Import(current []Filter, e *Export, merge bool) []Filter {
	if !merge {
		return slices.Clone(e.Filters)
	}
	out := slices.Clone(current)
	for _, f := range e.Filters {
		if i := slices.IndexFunc(out, func(c Filter) bool { return c.Name == f.Name }); i >= 0 {
			out[i] = f
		} else {
			out = append(out, f)
		}
	}
	return out
}

// NewDestinations returns the destinations fs use that are not in have,
// in order of first use: the ones an import creates, unconfirmed.
func NewDestinations(have []string, fs []Filter) []string {
	seen := make(map[string]bool, len(have))
	for _, d := range have {
		seen[d] = true
	}
	var out []string
	for _, f := range fs {
		for _, d := range f.Destinations {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

//go:embed defaults.json
var defaultsJSON []byte

// Defaults returns the filters a new user starts with, delivering to
// destinations: FMN's defaults, events on packages the user owns and
// events referring to the user, both without the user's own actions and
// the noisiest catch-alls. Their rules say "@me", resolved to the user
// when compiled.
func Defaults(destinations []string) []Filter {
	e, err := ParseExport("defaults.json", defaultsJSON)
	if err != nil {
		panic(err) // embedded data, checked by the tests
	}
	for i := range e.Filters {
		e.Filters[i].Destinations = slices.Clone(destinations)
	}
	return e.Filters
}

// lines maps a JSON path to the line its value starts on.
type lines map[string]int

func (l lines) of(path string) int {
	for {
		if n, ok := l[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 1
		}
		path = path[:i]
	}
}

// positions walks a JSON document and records where each value starts,
// by path ("filters[2].rules[0].args"), so errors found after decoding can
// name a line. data must be valid JSON.
func positions(data []byte) lines {
	dec := json.NewDecoder(bytes.NewReader(data))
	index := indexLines(data)
	out := lines{}
	var walk func(path string)
	walk = func(path string) {
		out[path] = index.at(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return
				}
				key, _ := k.(string)
				if path != "" {
					key = path + "." + key
				}
				walk(key)
			}
			dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				walk(path + "[" + strconv.Itoa(i) + "]")
			}
			dec.Token()
		}
	}
	walk("")
	return out
}

// decodeErrorLine finds the line a decoding error is about.
func decodeErrorLine(data []byte, err error) int {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
	case errors.As(err, &te):
		return 1 + bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n"))
	}
	// encoding/json says which field is unknown but not where: find it.
	if _, field, ok := strings.Cut(err.Error(), "unknown field "); ok {
		field, _ = strconv.Unquote(field)
		best := 0
		for path, line := range positions(data) {
			if (path == field || strings.HasSuffix(path, "."+field)) && (best == 0 || line < best) {
				best = line
			}
		}
		if best > 0 {
			return best
		}
	}
	return 1
}

// lineIndex is where data's line breaks are, found once, so that the
// line of each of a file's values is a binary search rather than a count
// from the start (which made a large file's positions quadratic).
type lineIndex []int

func indexLines(data []byte) lineIndex {
	var l lineIndex
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			return l
		}
		l = append(l, i+j)
		i += j + 1
	}
}

// at returns the line of the first token at or after off.
func (l lineIndex) at(data []byte, off int64) int {
	i := min(int(off), len(data))
	for i < len(data) && strings.IndexByte(" \t\r\n:,", data[i]) >= 0 {
		i++
	}
	n, _ := slices.BinarySearch(l, i) // the breaks before i
	return 1 + n
}
