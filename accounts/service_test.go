package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"hark/accounts"
	"hark/delivery"
	"hark/store"
	"hark/store/sqlite"
)

// serviceFixture is a settings service on a real SQLite store with one
// user, alice, on a clock the test moves.
type serviceFixture struct {
	st    *sqlite.SQLite
	svc   *accounts.Service
	alice store.User
	now   *time.Time
}

var key = []byte("a key of sixteen bytes or more")

func newServiceFixture(t *testing.T) serviceFixture {
	t.Helper()
	st, _ := openStore(t)
	now := time.Now().Truncate(time.Millisecond)
	f := serviceFixture{st: st, now: &now}
	f.svc = accounts.New(accounts.Options{Store: st, Tokens: delivery.Tokens(key), Now: func() time.Time { return *f.now }})
	var err error
	if f.alice, err = st.CreateUser(context.Background(), store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// queued is what the outbox holds, claimed as delivery would.
func (f serviceFixture) queued(t *testing.T) []store.Send {
	t.Helper()
	sends, err := f.st.ClaimSends(context.Background(), []string{store.KindEmail, store.KindIRC}, f.now.Add(time.Second), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	return sends
}

// field is the field a FieldError names, or "" for another error.
func field(err error) string {
	if fe, ok := errors.AsType[*accounts.FieldError](err); ok {
		return fe.Field
	}
	return ""
}

func TestAddDestinationChecksWhatPeopleType(t *testing.T) {
	f := newServiceFixture(t)
	for _, tc := range []struct {
		name, kind, address string
		field               string // "" when the add works
	}{
		{"an email address", store.KindEmail, "alice@example.org", ""},
		{"an IRC nick", store.KindIRC, "alice", ""},
		{"an unknown kind", "pigeon", "alice", "kind"},
		{"not an email address", store.KindEmail, "alice", "address"},
		{"an address too long", store.KindEmail, string(make([]byte, 300)) + "@example.org", "address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := f.svc.AddDestination(context.Background(), f.alice.ID, tc.kind, tc.address, false)
			if got := field(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v (field %q), want field %q", err, got, tc.field)
			}
			if tc.field == "" && (d.ID == 0 || d.Confirmed || !d.Enabled) {
				t.Errorf("added %+v, want a new enabled, unconfirmed destination", d)
			}
		})
	}
	if _, err := f.svc.AddDestination(context.Background(), f.alice.ID, store.KindEmail, "alice@example.org", false); !errors.Is(err, store.ErrExists) {
		t.Errorf("adding an address twice: %v, want ErrExists", err)
	}
}

func TestAddDestinationRoutesFiltersThatGoNowhere(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	rule := []store.Rule{{Kind: "topic", Args: json.RawMessage(`{"pattern":"*.bodhi.*"}`)}}
	other, err := f.svc.AddDestination(ctx, f.alice.ID, store.KindIRC, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range []store.Filter{{Name: "nowhere", Rules: rule}, {Name: "to irc", Rules: rule, DestinationIDs: []int64{other.ID}}} {
		fl.UserID, fl.Active = f.alice.ID, true
		if _, err := f.svc.SaveFilter(ctx, fl); err != nil {
			t.Fatal(err)
		}
	}
	d, err := f.svc.AddDestination(ctx, f.alice.ID, store.KindEmail, "alice@example.org", true)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := f.svc.ListFilters(ctx, f.alice.ID)
	if !slices.Equal(fs[0].DestinationIDs, []int64{d.ID}) || !slices.Equal(fs[1].DestinationIDs, []int64{other.ID}) {
		t.Errorf("filters' destinations %v and %v, want only the one going nowhere routed to %d", fs[0].DestinationIDs, fs[1].DestinationIDs, d.ID)
	}
}

func TestConfirmationsAreQueuedRateLimitedAndConfirm(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	d, err := f.svc.AddDestination(ctx, f.alice.ID, store.KindEmail, "alice@example.org", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SendTest(ctx, d); !errors.Is(err, accounts.ErrUnconfirmed) {
		t.Errorf("a test to an unconfirmed destination: %v, want ErrUnconfirmed", err)
	}
	for _, step := range []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"the first", 0, nil},
		{"again at once", time.Minute, accounts.ErrRateLimited},
		{"after ten minutes", 10 * time.Minute, nil},
	} {
		*f.now = f.now.Add(step.after)
		d, _ = f.st.DestinationByID(ctx, d.ID)
		if err := f.svc.SendConfirmation(ctx, d); !errors.Is(err, step.want) {
			t.Errorf("%s: %v, want %v", step.name, err, step.want)
		}
	}
	sends := f.queued(t)
	if len(sends) != 2 || sends[0].What != store.SendConfirmation || sends[0].DestinationID != d.ID {
		t.Fatalf("outbox %+v, want two confirmations of %d", sends, d.ID)
	}
	d, _ = f.st.DestinationByID(ctx, d.ID)
	if d.ConfirmCode == "" || !d.ConfirmExpires.Equal(f.now.Add(24*time.Hour)) {
		t.Errorf("code %q valid until %v, want a code for 24h", d.ConfirmCode, d.ConfirmExpires)
	}
	if err := f.svc.Confirm(ctx, d, "wrongcode"); !errors.Is(err, store.ErrBadCode) {
		t.Errorf("a wrong code: %v, want ErrBadCode", err)
	}
	if err := f.svc.Confirm(ctx, d, d.ConfirmCode); err != nil {
		t.Fatal(err)
	}
	d, _ = f.st.DestinationByID(ctx, d.ID)
	if err := f.svc.SendConfirmation(ctx, d); !errors.Is(err, accounts.ErrConfirmed) {
		t.Errorf("confirming a confirmed destination: %v, want ErrConfirmed", err)
	}
	if err := f.svc.SendTest(ctx, d); err != nil {
		t.Fatal(err)
	}
	if sends := f.queued(t); len(sends) != 1 || sends[0].What != store.SendTest {
		t.Errorf("outbox %+v, want one test send", sends)
	}
}

func TestConfirmAddressFindsTheClaimWithTheCode(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	bob, err := f.st.CreateUser(ctx, store.User{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	var claims []store.Destination
	for _, u := range []store.User{f.alice, bob} {
		d, err := f.svc.AddDestination(ctx, u.ID, store.KindIRC, "nick", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SendConfirmation(ctx, d); err != nil {
			t.Fatal(err)
		}
		d, _ = f.st.DestinationByID(ctx, d.ID)
		claims = append(claims, d)
	}
	if err := f.svc.ConfirmAddress(ctx, store.KindIRC, "nick", "nocode"); !errors.Is(err, store.ErrBadCode) {
		t.Errorf("a code of no claim: %v, want ErrBadCode", err)
	}
	if err := f.svc.ConfirmAddress(ctx, store.KindIRC, "nick", claims[1].ConfirmCode); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.svc.DestinationByAddress(ctx, store.KindIRC, "nick"); d.UserID != bob.ID || !d.Confirmed {
		t.Errorf("the nick is %+v, want bob's, confirmed", d)
	}
}

func TestSetPreferencesByWho(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	d, err := f.svc.AddDestination(ctx, f.alice.ID, store.KindEmail, "alice@example.org", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		prefs []accounts.Preference
		who   accounts.Who
		field string
		check func(store.Destination) bool
	}{
		{"owner turns it off", []accounts.Preference{{"enabled", "false"}}, accounts.Owner, "", func(d store.Destination) bool { return !d.Enabled }},
		{"owner sets a digest", []accounts.Preference{{"batch_count", "5"}, {"digest_at", "mon 08:00"}}, accounts.Owner, "",
			func(d store.Destination) bool { return d.BatchCount == 5 && d.DigestAt == "mon 08:00" }},
		{"owner cannot confirm", []accounts.Preference{{"confirmed", "true"}}, accounts.Owner, "confirmed", func(d store.Destination) bool { return !d.Confirmed }},
		{"a wrong value saves nothing", []accounts.Preference{{"enabled", "true"}, {"snooze", "soon"}}, accounts.Owner, "snooze",
			func(d store.Destination) bool { return !d.Enabled }},
		{"a value too long", []accounts.Preference{{"quiet_hours", "22:00-07:00 and then some more text"}}, accounts.Owner, "quiet_hours",
			func(d store.Destination) bool { return d.QuietHours == "" }},
		{"admin confirms", []accounts.Preference{{"confirmed", "true"}}, accounts.Admin, "", func(d store.Destination) bool { return d.Confirmed }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.st.DestinationByID(ctx, d.ID)
			_, err := f.svc.SetPreferences(ctx, before, tc.prefs, tc.who)
			if got := field(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v (field %q), want field %q", err, got, tc.field)
			}
			if after, _ := f.st.DestinationByID(ctx, d.ID); !tc.check(after) {
				t.Errorf("stored %+v", after)
			}
		})
	}
}

func TestSaveFilterChecksItAsItsOwnerWouldHaveIt(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	topic := store.Rule{Kind: "topic", Args: json.RawMessage(`{"pattern":"*.bodhi.*"}`)}
	if _, err := f.svc.SaveFilter(ctx, store.Filter{UserID: f.alice.ID, Name: "bodhi", Active: true, Rules: []store.Rule{topic}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		filter store.Filter
		field  string
	}{
		{"no name", store.Filter{Rules: []store.Rule{topic}}, "name"},
		{"a name taken", store.Filter{Name: "bodhi"}, "name"},
		{"a rule that does not compile", store.Filter{Name: "bad", Rules: []store.Rule{topic, {Kind: "no-such-rule"}}}, "rules[1]"},
		{"someone else's destination", store.Filter{Name: "elsewhere", DestinationIDs: []int64{999}}, "destinations"},
		{"a good one", store.Filter{Name: "koji", Rules: []store.Rule{topic}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.filter.UserID = f.alice.ID
			_, err := f.svc.SaveFilter(ctx, tc.filter)
			if got := field(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v (field %q), want field %q", err, got, tc.field)
			}
		})
	}
}

func TestFilterOrder(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		fl, err := f.svc.SaveFilter(ctx, store.Filter{UserID: f.alice.ID, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fl.ID)
	}
	names := func() string {
		fs, _ := f.svc.ListFilters(ctx, f.alice.ID)
		var out string
		for _, fl := range fs {
			out += fl.Name
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		do    func() error
		field string
		want  string
	}{
		{"move the last up", func() error { return f.svc.MoveFilter(ctx, store.Filter{ID: ids[2], UserID: f.alice.ID}, -1) }, "", "acb"},
		{"move the first up stays", func() error { return f.svc.MoveFilter(ctx, store.Filter{ID: ids[0], UserID: f.alice.ID}, -1) }, "", "acb"},
		{"order by ids", func() error { return f.svc.OrderFilters(ctx, f.alice.ID, []int64{ids[2], ids[1], ids[0]}) }, "", "cba"},
		{"an order naming one twice", func() error { return f.svc.OrderFilters(ctx, f.alice.ID, []int64{ids[0], ids[0], ids[1]}) }, "ids", "cba"},
		{"an order missing one", func() error { return f.svc.OrderFilters(ctx, f.alice.ID, []int64{ids[0]}) }, "ids", "cba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if got := field(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v (field %q), want field %q", err, got, tc.field)
			}
			if got := names(); got != tc.want {
				t.Errorf("order %s, want %s", got, tc.want)
			}
		})
	}
}

func TestUnsubscribeTurnsOffTheFilterItNames(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	fl, err := f.svc.SaveFilter(ctx, store.Filter{UserID: f.alice.ID, Name: "bodhi", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"a token of another key", delivery.Tokens("another key of sixteen bytes").UnsubscribeToken(f.alice.ID, fl.ID, fl.Created), false},
		{"a token of a filter created at another time", delivery.Tokens(key).UnsubscribeToken(f.alice.ID, fl.ID, fl.Created.Add(time.Second)), false},
		{"the filter's token", delivery.Tokens(key).UnsubscribeToken(f.alice.ID, fl.ID, fl.Created), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.svc.Unsubscribe(ctx, tc.token)
			if (err == nil) != tc.ok || (tc.ok && id != fl.ID) {
				t.Fatalf("unsubscribe: %d, %v", id, err)
			}
			got, _ := f.st.FilterByID(ctx, fl.ID)
			if got.Active == tc.ok {
				t.Errorf("filter active=%t after the unsubscribe", got.Active)
			}
		})
	}
}
