package store

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/destkind"
	"hark/schedule"
)

// Preferences are the keys SetPreference accepts.
var Preferences = []string{"batch_count", "batch_delta", "confirmed", "digest_at", "enabled", "markup", "quiet_hours", "snooze", "snooze_then", "verbose"}

// SetPreference sets one preference, or one of the settings of d's
// kind (destkind.Kind.Settings), from its text form, as an admin types
// it (batch_delta=90s) or a form posts it: booleans are true or false,
// batch_count a whole number, batch_delta a duration, digest_at a time of
// day (08:00) or a day and time (mon 08:00), quiet_hours a span of the
// day (22:00-07:00); both may be off. An error names the
// key and the value.
func (d *Destination) SetPreference(key, value string) error {
	flag := map[string]*bool{"confirmed": &d.Confirmed, "enabled": &d.Enabled, "markup": &d.Markup, "verbose": &d.Verbose}
	switch {
	case flag[key] != nil:
		if value != "true" && value != "false" {
			return fmt.Errorf("%s: %q is not true or false", key, value)
		}
		*flag[key] = value == "true"
	case key == "batch_count":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("%s: %q is not a whole number of 0 or more", key, value)
		}
		d.BatchCount = n
	case key == "batch_delta":
		t, err := time.ParseDuration(value)
		if err != nil || t < 0 || t > math.MaxInt64/2 {
			return fmt.Errorf("%s: %q is not a duration like 90s or 10m", key, value)
		}
		d.BatchDelta = t
	case key == "digest_at":
		if value == "" || value == "off" {
			d.DigestAt = ""
			break
		}
		at, err := schedule.Parse(value)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		d.DigestAt = at.String()
	case key == "quiet_hours":
		if value == "" || value == "off" {
			d.QuietHours = ""
			break
		}
		w, err := schedule.ParseWindow(value)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		d.QuietHours = w.String()
	case key == "snooze":
		until, err := schedule.ParseSnooze(value, time.Now(), time.UTC)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		d.SnoozeUntil = until
	case key == "snooze_then":
		if value != "digest" && value != "drop" {
			return fmt.Errorf("%s: %q is not digest or drop", key, value)
		}
		d.SnoozeDrop = value == "drop"
	default:
		k, ok := destkind.Lookup(d.Kind)
		if _, isSetting := k.Setting(key); !ok || !isSetting {
			return fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(slices.Sorted(slices.Values(append(k.Keys(), Preferences...))), ", "))
		}
		settings, err := k.Set(d.Settings, key, value)
		if err != nil {
			return err
		}
		d.Settings = settings
	}
	return nil
}

// SnoozeText is d's snooze as the snooze preference reads it: "" when
// none (or over), on, or its end in RFC 3339, so that a form sent back
// unchanged keeps it.
func (d Destination) SnoozeText() string { return schedule.SnoozeText(d.SnoozeUntil, time.Now()) }

// SnoozeThen is d's snooze_then preference: digest or drop.
func (d Destination) SnoozeThen() string {
	if d.SnoozeDrop {
		return "drop"
	}
	return "digest"
}

// Forever is the end of a snooze "until I turn it back" (snooze=on).
var Forever = schedule.Forever

// NewMessage is the history record of a received message: key is its bus
// identity (bus.Envelope.Key), timestamp the envelope's seconds since the
// epoch, envelope its JSON, and description anything that marshals to JSON
// (a meta.Description). Taking plain values keeps store free of the bus
// and meta packages.
func NewMessage(key, topic string, timestamp float64, envelope []byte, description any) (Message, error) {
	desc, err := json.Marshal(description)
	if err != nil {
		return Message{}, fmt.Errorf("encode description of %s: %w", key, err)
	}
	var ts time.Time
	if timestamp > 0 {
		sec, frac := math.Modf(timestamp)
		ts = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	m := Message{Key: key, Topic: topic, Timestamp: ts, Envelope: envelope, Description: desc}
	if f, ok := description.(filer); ok {
		var src Filed
		src.App, src.Agent, src.Usernames, src.Packages = f.FiledUnder()
		m.filed = &src
	}
	return m, nil
}

// filer is a description that says what its message is filed under, so
// the history need not decode what NewMessage just encoded (some 5 µs a
// message); *meta.Description is one.
type filer interface {
	FiledUnder() (app, agent string, usernames, packages []string)
}
