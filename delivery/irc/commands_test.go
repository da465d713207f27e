package irc

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/accounts"
	"hark/delivery"
	"hark/internal/testpeer"
	"hark/store"
	"hark/store/sqlite"
)

// commandFixture is a bot with a real store, alice on IRC with an
// unconfirmed destination whose code is "k7q2zpabcd", and two filters of
// hers, one sending to that nick.
type commandFixture struct {
	st    *sqlite.SQLite
	dest  store.Destination
	alice *testpeer.IRCClient
	bot   *Bot
}

func newCommandFixture(t *testing.T) commandFixture {
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
	d, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindIRC, Address: "alice",
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
	ircd := testpeer.StartIRCd(t)
	alice := testpeer.DialIRC(t, ircd.Addr, "alice")
	bot := startBot(t, Options{Server: ircd.Addr, Settings: accounts.New(accounts.Options{Store: st})})
	return commandFixture{st: st, dest: d, alice: alice, bot: bot}
}

// ask sends a private command to the bot and returns the reply lines
// that came after it, once want has arrived.
func (f commandFixture) ask(t *testing.T, command, want string) string {
	t.Helper()
	before, seen := len(f.alice.Lines("PRIVMSG alice :")), len(f.alice.Lines(want))
	f.alice.Privmsg("hark", command)
	f.alice.WaitN(want, seen+1, wait)
	var text []string
	for _, l := range f.alice.Lines("PRIVMSG alice :")[before:] {
		text = append(text, privmsgText(l.Raw))
	}
	return strings.Join(text, "\n")
}

func (f commandFixture) destination(t *testing.T) store.Destination {
	t.Helper()
	d, err := f.st.DestinationByAddress(context.Background(), store.KindIRC, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCommandConfirmWithTheRightCode(t *testing.T) {
	f := newCommandFixture(t)
	f.ask(t, "confirm WRONG1", "wrong or has expired")
	if f.destination(t).Confirmed {
		t.Fatal("a wrong code confirmed the nick")
	}
	f.ask(t, "confirm K7Q2ZPABCD", "Confirmed")
	if !f.destination(t).Confirmed {
		t.Error("the right code did not confirm the nick")
	}
}

// TestCommandConfirmAmongSquatters: mallory claimed the nick alice after
// alice did; alice's code still confirms her claim, and mallory's goes.
func TestCommandConfirmAmongSquatters(t *testing.T) {
	f := newCommandFixture(t)
	ctx := context.Background()
	m, err := f.st.CreateUser(ctx, store.User{Name: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	squat, err := f.st.SaveDestination(ctx, store.Destination{UserID: m.ID, Kind: store.KindIRC, Address: "alice",
		Enabled: true, ConfirmCode: "m4ll0ryabc", ConfirmExpires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f.ask(t, "confirm k7q2zpabcd", "Confirmed")
	if d := f.destination(t); !d.Confirmed || d.ID != f.dest.ID {
		t.Errorf("nick alice is %+v, want alice's destination confirmed", d)
	}
	if _, err := f.st.DestinationByID(ctx, squat.ID); err == nil {
		t.Error("mallory's claim outlived alice's confirmation")
	}
}

func TestCommandStopAndStart(t *testing.T) {
	f := newCommandFixture(t)
	f.ask(t, "stop", "Stopped")
	if f.destination(t).Enabled {
		t.Fatal("stop left the destination enabled")
	}
	f.ask(t, "START", "not confirmed yet")
	if !f.destination(t).Enabled {
		t.Error("start left the destination disabled")
	}
}

func TestCommandSnooze(t *testing.T) {
	f := newCommandFixture(t)
	f.ask(t, "snooze 2h", "Snoozed until")
	if until := f.destination(t).SnoozeUntil; until.Before(time.Now().Add(time.Hour)) || until.After(time.Now().Add(3*time.Hour)) {
		t.Errorf("snooze 2h set the end to %v", until)
	}
	f.ask(t, "snooze soon", `snooze: "soon" is not a length of time`)
	f.ask(t, "snooze off", "Snooze off")
	if until := f.destination(t).SnoozeUntil; !until.IsZero() {
		t.Errorf("snooze off left the end at %v", until)
	}
}

func TestCommandListFilters(t *testing.T) {
	f := newCommandFixture(t)
	got := f.ask(t, "list filters", "koji once")
	for _, want := range []string{"2 filters", "1. my packages (sends here)", "2. koji once (inactive, one-shot)"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply lacks %q:\n%s", want, got)
		}
	}
}

func TestCommandHelpAndUnknown(t *testing.T) {
	f := newCommandFixture(t)
	for _, tc := range []struct{ command, want string }{
		{"help", "confirm CODE"},
		{"frobnicate", `Unknown command "frobnicate"`},
	} {
		t.Run(tc.command, func(t *testing.T) { f.ask(t, tc.command, tc.want) })
	}
}

func TestCommandFromANickHarkDoesNotKnow(t *testing.T) {
	f := newCommandFixture(t)
	f.st.SaveDestination(context.Background(), store.Destination{ID: f.dest.ID, UserID: f.dest.UserID, Kind: store.KindIRC, Address: "alice_away"})
	f.ask(t, "stop", "not a destination of any hark user")
}

// TestConfirmationRoundTrip is the whole flow: delivery makes a code and
// the bot sends it to the nick, whose owner answers with it.
func TestConfirmationRoundTrip(t *testing.T) {
	f := newCommandFixture(t)
	ctx := context.Background()
	d, err := delivery.New(delivery.Options{Store: f.st, Key: []byte("a key of sixteen bytes or more"),
		Senders: delivery.Senders{store.KindIRC: f.bot}, BaseURL: "https://hark.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SendConfirmation(ctx, f.destination(t)); err != nil {
		t.Fatal(err)
	}
	_, code, _ := strings.Cut(f.alice.Wait("reply: confirm ").Raw, "reply: confirm ")
	code, _, _ = strings.Cut(code, " ")
	if code == "k7q2zpabcd" || len(code) != len(delivery.NewCode()) {
		t.Fatalf("the bot sent %q, not a new code", code)
	}
	f.ask(t, "confirm "+strings.ToUpper(code), "Confirmed")
	if !f.destination(t).Confirmed {
		t.Error("the code the bot sent did not confirm the nick")
	}
}

func TestCommandSnoozeFilter(t *testing.T) {
	f := newCommandFixture(t)
	ctx := context.Background()
	filter := func() store.Filter {
		t.Helper()
		fs, err := f.st.ListFilters(ctx, f.dest.UserID)
		if err != nil || len(fs) == 0 || fs[0].Name != "my packages" {
			t.Fatalf("filters %+v, %v", fs, err)
		}
		return fs[0]
	}
	f.ask(t, "snooze My Packages 2h drop", "my packages snoozed until")
	if got := filter(); got.SnoozeUntil.Before(time.Now().Add(time.Hour)) || got.SnoozeUntil.After(time.Now().Add(3*time.Hour)) || !got.SnoozeDrop {
		t.Errorf("snooze 2h drop set %v (drop %v)", got.SnoozeUntil, got.SnoozeDrop)
	}
	if d := f.destination(t); !d.SnoozeUntil.IsZero() {
		t.Errorf("snoozing a filter snoozed the nick until %v", d.SnoozeUntil)
	}
	f.ask(t, "snooze my packages tomorrow 25:00", `snooze: "tomorrow 25:00" is not like tomorrow 09:00`)
	f.ask(t, "snooze nosuch filter 2h", `You have no filter named "nosuch filter"`)
	f.ask(t, "snooze my packages off", "Snooze of my packages off")
	if got := filter(); !got.SnoozeUntil.IsZero() {
		t.Errorf("snooze off left the end at %v", got.SnoozeUntil)
	}
}
