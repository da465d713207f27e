package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"hark/accounts"
	"hark/app/hark"
	"hark/config"
	"hark/delivery"
	"hark/delivery/webhook"
	"hark/destkind"
	"hark/store"
)

func init() {
	commands["destination"] = command{summary: "set a user's email address, IRC nick, webhook or ntfy topic and its preferences", run: runDestination}
}

func runDestination(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark destination set", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(io.err, `Usage: hark destination set NAME KIND:ADDRESS [key=value]...
       hark destination confirm NAME KIND:ADDRESS CODE

Creates the destination (unconfirmed unless confirmed=true) or updates it.
KIND is %s. A webhook (an http or https URL) gets a signed JSON POST
per notification; give its signing secret as secret=whsec_… or let hark
make one, printed once. An ntfy topic URL is https://ntfy.sh/TOPIC; a
protected topic's access token is token=tk_… (or https://:TOKEN@host/TOPIC).
Keys: %s.
Settings of a kind: %s.
Booleans are true or false; batch_delta is a duration like 90s;
digest_at is a time of day in the user's time zone (08:00: one digest a
day) or a day and time (mon 08:00: one a week), or off; quiet_hours is a
span of the user's day (22:00-07:00) whose matches wait for one digest at
its end, or off; snooze holds everything for a length of time (2h), until
an RFC 3339 time, or until turned off (on; off ends it), and snooze_then
says whether what matched meanwhile goes out as one digest (digest) or is
dropped (drop).

confirm confirms the user's destination with the code it received (an
ntfy topic, an IRC nick or a Matrix ID gets one when added on the web).
`, destkind.Choices(), strings.Join(store.Preferences, ", "), kindSettingsHelp())
		fs.PrintDefaults()
	}
	if len(args) > 0 && args[0] == "confirm" {
		return adminCommand(ctx, "hark destination confirm", fs, args[1:], io, func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error {
			return confirmDestination(ctx, s, args, io)
		})
	}
	if len(args) == 0 || args[0] != "set" {
		fs.SetOutput(io.err)
		fs.Usage()
		return 2
	}
	return adminCommand(ctx, "hark destination set", fs, args[1:], io, func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error {
		if len(args) < 2 {
			return usagef("want NAME and KIND:ADDRESS")
		}
		// The user's own destination of the address, or a new one: others
		// may claim it too (store.SaveDestination refuses confirming an
		// address another user has confirmed).
		u, d, err := userDestination(ctx, s, args[0], args[1])
		if err != nil {
			return err
		}
		kind := d.Kind
		var prefs []accounts.Preference
		for _, kv := range args[2:] {
			key, value, ok := strings.Cut(kv, "=")
			if !ok {
				return usagef("%q is not key=value", kv)
			}
			prefs = append(prefs, accounts.Preference{Key: key, Value: value})
		}
		verb := "updated"
		var made map[string]string
		if d.ID == 0 {
			verb = "created"
			k, _ := destkind.Lookup(kind)
			d.Settings, made = k.Generate(d.Settings)
		}
		d, err = accounts.New(accounts.Options{Store: s}).SetPreferences(ctx, d, prefs, accounts.Admin)
		if _, ok := errors.AsType[*accounts.FieldError](err); ok {
			return usagef("%v", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "%s %s:%s for %s: enabled=%t confirmed=%t batch_count=%d batch_delta=%s digest_at=%s quiet_hours=%s snooze=%s snooze_then=%s verbose=%t markup=%t\n",
			verb, d.Kind, d.Address, u.Name, d.Enabled, d.Confirmed, d.BatchCount, d.BatchDelta, cmp.Or(d.DigestAt, "off"), cmp.Or(d.QuietHours, "off"), cmp.Or(d.SnoozeText(), "off"), d.SnoozeThen(), d.Verbose, d.Markup)
		if k, _ := destkind.Lookup(d.Kind); len(k.Settings) > 0 {
			fmt.Fprintf(io.out, "settings: %s\n", settingsText(k, d.Settings))
		}
		switch {
		case made[webhook.SecretSetting] != "":
			// Shown this once: the receiver needs it to check signatures.
			fmt.Fprintf(io.out, "signing secret (Standard Webhooks): %s\n", made[webhook.SecretSetting])
		case d.Kind == webhook.Kind && d.Settings[webhook.SecretSetting] == "":
			// A destination made before secrets were stored signs with
			// one derived from hark's key, which showing again reveals
			// nothing new.
			key, err := delivery.LoadKey(hark.UnsubscribeKeyPath(cfg))
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "signing secret (Standard Webhooks): %s\n", webhook.DeriveSecret(key, d))
		}
		return nil
	})
}

// confirmDestination is `hark destination confirm NAME KIND:ADDRESS
// CODE`: what the Destinations page does with a typed code.
func confirmDestination(ctx context.Context, s store.Store, args []string, io stdio) error {
	if len(args) != 3 {
		return usagef("want NAME, KIND:ADDRESS and CODE")
	}
	u, d, err := userDestination(ctx, s, args[0], args[1])
	if err != nil {
		return err
	}
	if d.ID == 0 {
		return fmt.Errorf("confirm %s for %s: %w", args[1], u.Name, store.ErrNotFound)
	}
	if err := s.ConfirmDestination(ctx, d.ID, args[2], time.Now()); err != nil {
		return fmt.Errorf("confirm %s for %s: %w", args[1], u.Name, err)
	}
	fmt.Fprintf(io.out, "confirmed %s for %s\n", args[1], u.Name)
	return nil
}

// userDestination is user name's destination spelled kind:address, or
// a new one of theirs (ID 0) when they have none such.
func userDestination(ctx context.Context, s store.Store, name, spelling string) (store.User, store.Destination, error) {
	kind, address, err := destkind.Parse(spelling)
	if err != nil {
		return store.User{}, store.Destination{}, usagef("%v", err)
	}
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return u, store.Destination{}, err
	}
	ds, err := s.ListDestinations(ctx, u.ID)
	if err != nil {
		return u, store.Destination{}, err
	}
	if i := slices.IndexFunc(ds, func(d store.Destination) bool { return d.Kind == kind && d.Address == address }); i >= 0 {
		return u, ds[i], nil
	}
	return u, store.Destination{UserID: u.ID, Kind: kind, Address: address, Enabled: true}, nil
}

// kindSettingsHelp lists each kind's settings for the usage text:
// "webhook: secret; ntfy: token".
func kindSettingsHelp() string {
	var kinds []string
	for _, name := range destkind.Names() {
		k, _ := destkind.Lookup(name)
		var keys []string
		for _, s := range k.Settings {
			keys = append(keys, s.Key)
		}
		if len(keys) > 0 {
			kinds = append(kinds, name+": "+strings.Join(keys, ", "))
		}
	}
	return strings.Join(kinds, "; ")
}

// settingsText is a destination's settings of kind k as the command
// prints them: each key=value, a secret as key=(set), one unset as its
// default.
func settingsText(k destkind.Kind, settings map[string]string) string {
	parts := make([]string, len(k.Settings))
	for i, s := range k.Settings {
		v, ok := settings[s.Key]
		switch {
		case ok && s.Secret:
			v = "(set)"
		case !ok && s.Secret:
			v = "(not set)"
		case !ok:
			v = s.Default
		}
		parts[i] = s.Key + "=" + v
	}
	return strings.Join(parts, " ")
}
