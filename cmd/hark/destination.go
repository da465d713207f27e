package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"hark/accounts"
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

Creates the destination (unconfirmed unless confirmed=true) or updates it.
KIND is %s. A webhook (an http or https URL) gets a signed JSON POST
per notification; its signing secret is printed. An ntfy topic URL is
https://ntfy.sh/TOPIC, or https://:TOKEN@host/TOPIC for a protected topic.
Keys: %s.
Booleans are true or false; batch_delta is a duration like 90s;
digest_at is a time of day in the user's time zone (08:00: one digest a
day) or a day and time (mon 08:00: one a week), or off; quiet_hours is a
span of the user's day (22:00-07:00) whose matches wait for one digest at
its end, or off; snooze holds everything for a length of time (2h), until
an RFC 3339 time, or until turned off (on; off ends it), and snooze_then
says whether what matched meanwhile goes out as one digest (digest) or is
dropped (drop).
`, destkind.Choices(), strings.Join(store.Preferences, ", "))
		fs.PrintDefaults()
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
		kind, address, err := destkind.Parse(args[1])
		if err != nil {
			return usagef("%v", err)
		}
		u, err := s.UserByName(ctx, args[0])
		if err != nil {
			return err
		}
		// The user's own destination of the address, or a new one: others
		// may claim it too (store.SaveDestination refuses confirming an
		// address another user has confirmed).
		ds, err := s.ListDestinations(ctx, u.ID)
		if err != nil {
			return err
		}
		d := store.Destination{UserID: u.ID, Kind: kind, Address: address, Enabled: true}
		if i := slices.IndexFunc(ds, func(d store.Destination) bool { return d.Kind == kind && d.Address == address }); i >= 0 {
			d = ds[i]
		}
		var prefs []accounts.Preference
		for _, kv := range args[2:] {
			key, value, ok := strings.Cut(kv, "=")
			if !ok {
				return usagef("%q is not key=value", kv)
			}
			prefs = append(prefs, accounts.Preference{Key: key, Value: value})
		}
		verb := "updated"
		if d.ID == 0 {
			verb = "created"
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
		if d.Kind == webhook.Kind {
			// The receiver needs the secret to check signatures; it is
			// derived, so showing it again is harmless.
			key, err := delivery.LoadKey(unsubscribeKeyPath(cfg))
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "signing secret (Standard Webhooks): %s\n", webhook.DeriveSecret(key, d))
		}
		return nil
	})
}
