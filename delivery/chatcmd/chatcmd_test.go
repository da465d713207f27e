package chatcmd_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/accounts"
	"hark/delivery/chatcmd"
	"hark/destkind"
	"hark/store"
	"hark/store/sqlite"
)

const alice = "@alice:example.org"

// fixture is Commands for Matrix IDs on a real store, with alice's
// unconfirmed destination (code k7q2zpabcd) and two filters of hers,
// one sending there.
func fixture(t *testing.T) (*chatcmd.Commands, *sqlite.SQLite) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: destkind.Matrix, Address: alice,
		Enabled: true, ConfirmCode: "k7q2zpabcd", ConfirmExpires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	rule := []store.Rule{{Kind: "topic", Args: json.RawMessage(`{"glob":"*.bodhi.*"}`)}}
	for _, f := range []store.Filter{
		{UserID: u.ID, Name: "my packages", Active: true, Rules: rule, DestinationIDs: []int64{d.ID}},
		{UserID: u.ID, Name: "koji once", Oneshot: true, Rules: rule},
	} {
		if _, err := st.SaveFilter(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	c := &chatcmd.Commands{Settings: accounts.New(accounts.Options{Store: st}), Kind: destkind.Matrix, Noun: "Matrix ID", Log: slog.New(slog.DiscardHandler),
		Help: func(string) ([]string, error) { return chatcmd.Help("Matrix ID", "in a direct chat"), nil }}
	return c, st
}

// TestAnswer runs commands in order on one destination: each reply
// contains want.
func TestAnswer(t *testing.T) {
	c, st := fixture(t)
	ctx := context.Background()
	for _, tc := range []struct{ from, text, want string }{
		{alice, "help", "confirm CODE: confirm this Matrix ID with the code the bot sent you"},
		{alice, "  ", "I am hark's notification bot. Commands (send them to me in a direct chat):"},
		{alice, "frobnicate now", `Unknown command "frobnicate now". Send help for the list.`},
		{"@bob:example.org", "stop", "The Matrix ID @bob:example.org is not a destination of any hark user"},
		{alice, "STOP", "Stopped: hark sends nothing to this Matrix ID until you send start."},
		{alice, "start", "Started, but this Matrix ID is not confirmed yet"},
		{alice, "list filters", "You have 2 filters:\n1. my packages (sends here)\n2. koji once (inactive, one-shot)"},
		{alice, "snooze 2h", "Snoozed until "},
		{alice, "snooze soon", `snooze: "soon" is not a length of time`},
		{alice, "snooze My Packages on drop", "my packages snoozed until you send snooze my packages off; what it matches meanwhile is dropped."},
		{alice, "snooze nosuch 2h", `You have no filter named "nosuch"`},
		{alice, "snooze 2h drop", "Send snooze FILTER 2h"},
		{alice, "confirm", "Send confirm followed by the code"},
		{alice, "confirm wrong1", "That code is wrong or has expired"},
		{alice, "confirm K7Q2ZPABCD", "Confirmed: hark will send your notifications to this Matrix ID."},
		{alice, "confirm k7q2zpabcd", "This Matrix ID is already confirmed."},
		{alice, "snooze off", "Snooze off: notifications come as usual."},
	} {
		got, err := c.Answer(ctx, chatcmd.Request{From: tc.from, Text: tc.text})
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if !strings.Contains(strings.Join(got, "\n"), tc.want) {
			t.Errorf("%s: reply\n%s\nlacks %q", tc.text, strings.Join(got, "\n"), tc.want)
		}
	}
	d, err := st.DestinationByAddress(ctx, destkind.Matrix, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Enabled || !d.Confirmed || !d.SnoozeUntil.IsZero() {
		t.Errorf("after the commands alice's destination is %+v", d)
	}
}

// TestAnswerVouchAndNoSettings: a refusal of Vouch, or a bot without
// settings, answers without changing anything; help needs neither.
func TestAnswerVouchAndNoSettings(t *testing.T) {
	c, st := fixture(t)
	ctx := context.Background()
	refuse := func() (string, error) { return "Identify first.", nil }
	broken := func() (string, error) { return "", errors.New("whois failed") }
	bare := &chatcmd.Commands{Kind: destkind.Matrix, Noun: "Matrix ID", Help: c.Help}
	for _, tc := range []struct {
		name    string
		c       *chatcmd.Commands
		r       chatcmd.Request
		want    string
		wantErr bool
	}{
		{"refused", c, chatcmd.Request{From: alice, Text: "stop", Vouch: refuse}, "Identify first.", false},
		{"help unvouched", c, chatcmd.Request{From: alice, Text: "help", Vouch: refuse}, "help: this text", false},
		{"vouch failed", c, chatcmd.Request{From: alice, Text: "stop", Vouch: broken}, "", true},
		{"no settings", bare, chatcmd.Request{From: alice, Text: "stop"}, "Commands are not available on this hark.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Answer(ctx, tc.r)
			if (err != nil) != tc.wantErr || !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Errorf("reply %q, err %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
			if tc.wantErr {
				if reply := tc.c.Reply(ctx, tc.r); len(reply) != 1 || !strings.HasPrefix(reply[0], "Sorry") {
					t.Errorf("Reply on hark's failure: %q", reply)
				}
			}
		})
	}
	if d, _ := st.DestinationByAddress(ctx, destkind.Matrix, alice); !d.Enabled {
		t.Error("a refused stop stopped the destination")
	}
}
