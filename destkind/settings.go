package destkind

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Setting is one setting a kind's destinations take beyond the
// preferences every destination has (batching, quiet hours…): a webhook's
// signing secret, an ntfy access token. A destination keeps its settings
// as text by key (store.Destination.Settings); the kind's schema says
// which keys exist and what their values may be.
type Setting struct {
	Key   string // as typed: secret=whsec_…
	Title string // as pages label it
	Help  string // one sentence for help texts and pages
	Type  Type
	// Secret settings are write-only: stored and used, never shown back
	// by the API or pages, nor exported; an error never quotes one.
	Secret bool
	// Default is the value of a setting not set ("" for none).
	Default string
	// Check says, in words a user understands and without quoting a
	// secret, why value is not one this setting takes, or returns it in
	// its one spelling.
	Check func(value string) (string, error)
	// Generate, when set, makes the value of a destination created
	// without one (a webhook's secret), which is shown to its owner once.
	Generate func() string
}

// Type is the kind of value a setting holds, which says how a page asks
// for it.
type Type string

// Types of settings.
const (
	Text Type = "text"
	Bool Type = "bool"
)

// Setting is k's setting called key.
func (k Kind) Setting(key string) (Setting, bool) {
	i := slices.IndexFunc(k.Settings, func(s Setting) bool { return s.Key == key })
	if i < 0 {
		return Setting{}, false
	}
	return k.Settings[i], true
}

// Keys is the keys of k's settings, in order.
func (k Kind) Keys() []string {
	keys := make([]string, len(k.Settings))
	for i, s := range k.Settings {
		keys[i] = s.Key
	}
	return keys
}

// Set checks value against k's setting key and stores it in settings
// (made if nil, which Set returns); an empty value removes the setting,
// which then has its default, except one the kind generates (a
// webhook's secret), which can only be replaced. Errors name the key.
func (k Kind) Set(settings map[string]string, key, value string) (map[string]string, error) {
	s, ok := k.Setting(key)
	if !ok {
		return settings, fmt.Errorf("%s: not a setting of %s destinations", key, k.Name)
	}
	if settings == nil {
		settings = map[string]string{}
	}
	if value == "" && s.Generate != nil {
		return settings, fmt.Errorf("%s: cannot be emptied, only replaced by a new one", key)
	}
	if value == "" {
		delete(settings, key)
		return settings, nil
	}
	v, err := s.check(value)
	if err != nil {
		return settings, fmt.Errorf("%s: %w", key, err)
	}
	settings[key] = v
	return settings, nil
}

// Generate fills in the settings k generates that settings lacks, as a
// new destination gets them, and returns those it made (nil when none),
// to be shown to the destination's owner once.
func (k Kind) Generate(settings map[string]string) (filled, made map[string]string) {
	filled = settings
	for _, s := range k.Settings {
		if _, ok := settings[s.Key]; ok || s.Generate == nil {
			continue
		}
		if filled == nil {
			filled = map[string]string{}
		}
		if made == nil {
			made = map[string]string{}
		}
		filled[s.Key] = s.Generate()
		made[s.Key] = filled[s.Key]
	}
	return filled, made
}

// Get is the value of setting key in settings, or its default.
func (k Kind) Get(settings map[string]string, key string) string {
	if v, ok := settings[key]; ok {
		return v
	}
	s, _ := k.Setting(key)
	return s.Default
}

// Public is settings without the secret ones (and without keys k does
// not know): what the API shows and an export keeps. nil when none.
func (k Kind) Public(settings map[string]string) map[string]string {
	var out map[string]string
	for key, v := range settings {
		if s, ok := k.Setting(key); ok && !s.Secret {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}

// SecretsSet is the keys of k's secret settings that settings holds, in
// order: what a page says is set without showing it.
func (k Kind) SecretsSet(settings map[string]string) []string {
	var keys []string
	for _, s := range k.Settings {
		if _, ok := settings[s.Key]; ok && s.Secret {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// Validate checks every setting in settings against k's schema, as Set
// would: what a store checks before it saves.
func (k Kind) Validate(settings map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		if _, err := k.Set(map[string]string{}, key, settings[key]); err != nil {
			return err
		}
	}
	return nil
}

// check applies s's type and its Check.
func (s Setting) check(value string) (string, error) {
	if s.Type == Bool {
		switch strings.ToLower(value) {
		case "true", "on", "yes", "1":
			value = "true"
		case "false", "off", "no", "0":
			value = "false"
		default:
			return "", fmt.Errorf("%q is not true or false", value)
		}
	}
	if len(value) > maxSetting {
		return "", fmt.Errorf("is longer than %d characters", maxSetting)
	}
	if s.Check == nil {
		return value, nil
	}
	return s.Check(value)
}

// maxSetting bounds a setting's value as typed.
const maxSetting = 512
