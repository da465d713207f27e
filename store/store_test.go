package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// openAt opens the store at path, closing it when the test ends.
func openAt(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTest(t testing.TB) *SQLite {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "hark.db"))
}

// fixture is a user with one confirmed email destination and one filter
// sending to it.
type fixture struct {
	user   User
	dest   Destination
	filter Filter
}

func seed(t testing.TB, s *SQLite, name string, oneshot bool) fixture {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, User{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SaveDestination(ctx, Destination{UserID: u.ID, Kind: KindEmail, Address: name + "@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.SaveFilter(ctx, Filter{UserID: u.ID, Name: "bodhi", Active: true, Oneshot: oneshot,
		Rules:          []Rule{{Kind: "topic", Args: json.RawMessage(`{"glob":"*.bodhi.*"}`)}},
		DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{u, d, f}
}

func message(key string, ts time.Time) Message {
	return Message{Key: key, Topic: "org.fedoraproject.prod.bodhi.update.comment", Timestamp: ts,
		Envelope: json.RawMessage(`{"msg_id":"` + key + `"}`), Description: json.RawMessage(`{"app":"bodhi"}`)}
}

func (f fixture) accepted(key string) Accepted {
	return Accepted{Message: message(key, time.Unix(1700000000, 0)), Matches: []Match{{
		UserID: f.user.ID, DestinationID: f.dest.ID, FilterID: f.filter.ID, Oneshot: f.filter.Oneshot,
		Why: json.RawMessage(`[{"kind":"topic","matched":true}]`)}}}
}

func TestMigrationsFromEmptyReachTheCurrentVersion(t *testing.T) {
	s := openTest(t)
	var v int
	if err := s.r.QueryRow(selectSchemaVersion).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
}

func TestReopeningKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	if _, err := s.UserByName(context.Background(), "alice"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	s := openAt(t, path)
	if _, err := s.w.Exec(updateSchemaVersion, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), path); err == nil {
		t.Error("opened a database from a newer hark")
	}
}

func TestUserNamesAreUnique(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, User{Name: "alice"}); !errors.Is(err, ErrExists) {
		t.Errorf("second alice: got %v, want ErrExists", err)
	}
}

func TestPasswordRoundTrip(t *testing.T) {
	defer func(c int) { passwordCost = c }(passwordCost)
	passwordCost = bcrypt.MinCost
	s := openTest(t)
	ctx := context.Background()
	seed(t, s, "alice", false)
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "alice", hash); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UserByName(ctx, "alice")
	if !CheckPassword(u.PasswordHash, "correct horse") || CheckPassword(u.PasswordHash, "wrong") {
		t.Error("stored hash does not check the password")
	}
	if err := s.SetPasswordHash(ctx, "nobody", hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
}

// TestSquattedAddressCanBeClaimedByItsOwner: mallory adds carol's
// address first; carol can still add it, and confirming it makes it
// hers, mallory's claim gone.
func TestSquattedAddressCanBeClaimedByItsOwner(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	claim := func(user, code string) Destination {
		t.Helper()
		u, err := s.CreateUser(ctx, User{Name: user})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.SaveDestination(ctx, Destination{UserID: u.ID, Kind: KindEmail, Address: "carol@example.org",
			ConfirmCode: code, ConfirmExpires: now.Add(time.Hour), Enabled: true})
		if err != nil {
			t.Fatalf("%s adds carol@example.org: %v", user, err)
		}
		return d
	}
	squat := claim("mallory", "m1")
	own := claim("carol", "c1")
	if err := s.ConfirmDestination(ctx, own.ID, "c1", now); err != nil {
		t.Fatalf("carol confirms: %v", err)
	}
	if _, err := s.DestinationByID(ctx, squat.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("mallory's claim after carol confirmed: %v, want ErrNotFound", err)
	}
	if err := s.ConfirmDestination(ctx, squat.ID, "m1", now); !errors.Is(err, ErrBadCode) {
		t.Errorf("mallory confirms after carol: %v, want ErrBadCode", err)
	}
	if d, err := s.DestinationByAddress(ctx, KindEmail, "carol@example.org"); err != nil || d.ID != own.ID || !d.Confirmed {
		t.Errorf("DestinationByAddress = %+v, %v; want carol's, confirmed", d, err)
	}
}

func TestConfirmedAddressBelongsToOneUser(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	alice := seed(t, s, "alice", false)
	bob := seed(t, s, "bob", false)
	// Claiming it looks like claiming a fresh address…
	d, err := s.SaveDestination(ctx, Destination{UserID: bob.user.ID, Kind: KindEmail, Address: alice.dest.Address,
		ConfirmCode: "b1", ConfirmExpires: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("bob claims alice's address: %v", err)
	}
	// …but it cannot be confirmed, by code or by an admin.
	if err := s.ConfirmDestination(ctx, d.ID, "b1", now); !errors.Is(err, ErrTaken) {
		t.Errorf("bob confirms alice's address: %v, want ErrTaken", err)
	}
	d.Confirmed = true
	if _, err := s.SaveDestination(ctx, d); !errors.Is(err, ErrTaken) {
		t.Errorf("bob's claim saved confirmed: %v, want ErrTaken", err)
	}
	if _, err := s.SaveDestination(ctx, Destination{UserID: alice.user.ID, Kind: KindEmail, Address: alice.dest.Address}); !errors.Is(err, ErrExists) {
		t.Errorf("alice adds her address again: %v, want ErrExists", err)
	}
}

func TestUnconfirmedDestinationsLapse(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	old := time.Now().Add(-72 * time.Hour)
	d, err := s.SaveDestination(ctx, Destination{UserID: f.user.ID, Kind: KindIRC, Address: "alice", Created: old})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneUnconfirmed(ctx, time.Now().Add(-48*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneUnconfirmed = %d, %v; want 1", n, err)
	}
	if _, err := s.DestinationByID(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("old unconfirmed destination: %v, want ErrNotFound", err)
	}
	if _, err := s.DestinationByID(ctx, f.dest.ID); err != nil {
		t.Errorf("confirmed destination pruned: %v", err)
	}
}

// TestMigrationToClaimsKeepsDestinationsAndTheirLinks rebuilds the
// destinations table of a version 6 database: nothing that refers to a
// destination may go with the old table.
func TestMigrationToClaimsKeepsDestinationsAndTheirLinks(t *testing.T) {
	s := openAfter(t, 6,
		`INSERT INTO users (id, name, created) VALUES (1, 'alice', 1), (2, 'bob', 1)`,
		`INSERT INTO destinations (id, user_id, kind, address, confirmed, created) VALUES (7, 1, 'email', 'alice@example.org', 1, 1)`,
		`INSERT INTO filters (id, user_id, name, position, created, updated) VALUES (3, 1, 'mine', 0, 1, 1)`,
		`INSERT INTO filter_destinations (filter_id, destination_id) VALUES (3, 7)`,
		`INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, next_attempt, created) VALUES ('m', 1, 7, 3, 'queued', 0, 1)`)
	ctx := context.Background()
	fs, err := s.ListFilters(ctx, 1)
	if err != nil || len(fs) != 1 || !slices.Equal(fs[0].DestinationIDs, []int64{7}) {
		t.Fatalf("filters after migration: %+v, %v; want filter 3 sending to destination 7", fs, err)
	}
	if depth, err := s.QueueDepth(ctx); err != nil || depth[StateQueued] != 1 {
		t.Errorf("queue after migration: %+v, %v; want the notification kept", depth, err)
	}
	if _, err := s.SaveDestination(ctx, Destination{UserID: 2, Kind: KindEmail, Address: "alice@example.org"}); err != nil {
		t.Errorf("claim on a confirmed address after migration: %v", err)
	}
	// Foreign keys are on again: deleting the user takes the rest along.
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DestinationByID(ctx, 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("destination of a deleted user: %v, want ErrNotFound", err)
	}
}

func TestDestinationConfirmation(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	now := time.Unix(1700000000, 0)
	d := f.dest
	d.Confirmed, d.ConfirmCode, d.ConfirmExpires = false, "abc123", now.Add(time.Hour)
	d, err := s.SaveDestination(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		code string
		at   time.Time
		want error
	}{
		{"wrong code", "nope", now, ErrBadCode},
		{"expired", "abc123", now.Add(2 * time.Hour), ErrBadCode},
		{"right code in time", "abc123", now, nil},
		{"code is single use", "abc123", now, ErrBadCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ConfirmDestination(ctx, d.ID, tc.code, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFiltersKeepRulesDestinationsAndOrder(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	second, err := s.SaveFilter(ctx, Filter{UserID: f.user.ID, Name: "first", Position: -1, Active: true,
		Rules: []Rule{{Kind: "user", Args: json.RawMessage(`{"names":["@me"]}`)}, {Kind: "agent", Args: json.RawMessage(`{"names":["@me"]}`), Negate: true}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListFilters(ctx, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != second.ID || len(got[0].Rules) != 2 || !got[0].Rules[1].Negate ||
		got[1].DestinationIDs[0] != f.dest.ID || string(got[1].Rules[0].Args) != `{"glob":"*.bodhi.*"}` {
		t.Errorf("got %+v", got)
	}
}

func TestActiveFiltersSkipInactiveAndDisabledUsers(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice := seed(t, s, "alice", false)
	seed(t, s, "bob", false)
	carol := seed(t, s, "carol", false)
	if err := s.SetUserDisabled(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	carol.filter.Active = false
	if _, err := s.SaveFilter(ctx, carol.filter); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActiveFilters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != alice.filter.ID {
		t.Errorf("got %+v, want alice's filter only", got)
	}
}

func TestSettingsVersionMovesOnEveryChange(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", true)
	for _, tc := range []struct {
		name   string
		change func() error
	}{
		{"filter saved", func() error { _, err := s.SaveFilter(ctx, f.filter); return err }},
		{"destination saved", func() error { _, err := s.SaveDestination(ctx, f.dest); return err }},
		{"user disabled", func() error { return s.SetUserDisabled(ctx, "alice", true) }},
		{"one-shot used up", func() error { _, err := s.Enqueue(ctx, []Accepted{f.accepted("m1")}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.SettingsVersion(ctx)
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			if after, _ := s.SettingsVersion(ctx); after <= before {
				t.Errorf("version %d → %d", before, after)
			}
		})
	}
}

func TestReEnqueueAfterCrashMakesNoDuplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	// The service died after committing but before recording progress;
	// on restart it sees m1 again (replay, or a publisher's resend).
	s.Close()
	s = openAt(t, path)
	res, err := s.Enqueue(ctx, []Accepted{f.accepted("m1"), f.accepted("m2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notifications != 1 || res.Messages != 1 {
		t.Errorf("re-enqueue made %+v, want only m2 new", res)
	}
	depth, _ := s.QueueDepth(ctx)
	if depth[StateQueued] != 2 {
		t.Errorf("queued %d, want 2", depth[StateQueued])
	}
}

// TestOneshotFiresOnceUnderRaces races writers in two "processes" (two
// stores on one file), each with several goroutines, all matching the
// same one-shot filter with different messages.
func TestOneshotFiresOnceUnderRaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	stores := []*SQLite{openAt(t, path), openAt(t, path)}
	f := seed(t, stores[0], "alice", true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var usedUp, made int
	for i := range 8 {
		wg.Go(func() {
			res, err := stores[i%2].Enqueue(context.Background(), []Accepted{f.accepted(fmt.Sprintf("m%d", i))})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			usedUp += len(res.UsedUp)
			made += res.Notifications
			mu.Unlock()
		})
	}
	wg.Wait()
	depth, _ := stores[0].QueueDepth(context.Background())
	if usedUp != 1 || made != 1 || depth[StateQueued] != 1 {
		t.Errorf("used up %d times, %d notifications reported, %d queued; want 1, 1, 1", usedUp, made, depth[StateQueued])
	}
	got, _ := stores[1].ListFilters(context.Background(), f.user.ID)
	if got[0].Active {
		t.Error("the one-shot filter is still active")
	}
}

func TestConcurrentWritersAcrossProcessesNeverFailBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hark.db")
	stores := []*SQLite{openAt(t, path), openAt(t, path), openAt(t, path)}
	f := seed(t, stores[0], "alice", false)
	var wg sync.WaitGroup
	const writers, perWriter = 6, 40
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				s := stores[w%len(stores)]
				if _, err := s.Enqueue(context.Background(), []Accepted{f.accepted(fmt.Sprintf("w%d-%d", w, i))}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if i%10 == 0 { // the admin CLI writing meanwhile
					if _, err := s.SaveDestination(context.Background(), f.dest); err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	depth, _ := stores[0].QueueDepth(context.Background())
	if depth[StateQueued] != writers*perWriter {
		t.Errorf("queued %d, want %d", depth[StateQueued], writers*perWriter)
	}
}

func TestClaimLeasesDueNotifications(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	first, err := s.Claim(ctx, f.dest.ID, now, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := s.Claim(ctx, f.dest.ID, now, time.Minute, 10)
	afterLease, _ := s.Claim(ctx, f.dest.ID, now.Add(2*time.Minute), time.Minute, 10)
	if len(first) != 2 || first[0].MsgKey != "m1" || first[0].Attempts != 1 || len(second) != 1 || second[0].MsgKey != "m3" || len(afterLease) != 3 {
		t.Errorf("claims: %d (%+v), %d, %d after the lease", len(first), first, len(second), len(afterLease))
	}
}

func TestOutcomesMoveStateAndLog(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []Accepted{f.accepted("m1"), f.accepted("m2")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	ns, _ := s.Claim(ctx, f.dest.ID, now, time.Minute, 10)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.MarkSent(ctx, []int64{ns[0].ID}, now))
	must(s.MarkFailed(ctx, []int64{ns[1].ID}, "connection refused", now.Add(time.Minute), now))
	if p, _ := s.Pending(ctx, now); len(p) != 0 {
		t.Errorf("a failed notification is due before its retry: %+v", p)
	}
	if p, _ := s.Pending(ctx, now.Add(time.Minute)); len(p) != 1 || p[0].Due != 1 {
		t.Errorf("pending at retry time: %+v", p)
	}
	must(s.MarkDead(ctx, []int64{ns[1].ID}, "gave up", now))
	depth, _ := s.QueueDepth(ctx)
	if depth[StateSent] != 1 || depth[StateDead] != 1 {
		t.Errorf("depth %v", depth)
	}
	if n, err := s.RequeueDead(ctx, nil, now); err != nil || n != 1 {
		t.Errorf("requeued %d, %v", n, err)
	}
	log, _ := s.DeliveryLog(ctx, NotificationQuery{User: "alice"})
	var outcomes []State
	for _, e := range log {
		outcomes = append(outcomes, e.Outcome)
	}
	if fmt.Sprint(outcomes) != "[queued dead failed sent]" {
		t.Errorf("log outcomes newest first: %v", outcomes)
	}
	list, _ := s.ListNotifications(ctx, NotificationQuery{User: "alice"})
	if len(list) != 2 || list[1].State != StateSent || list[1].Sent.IsZero() || list[1].FilterName != "bodhi" ||
		list[1].Destination != "email:alice@example.org" || list[0].State != StateQueued {
		t.Errorf("listing: %+v", list)
	}
}

func TestHistoryPagesNewestFirst(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Unix(1700000000, 0)
	var msgs []Message
	for i := range 25 {
		msgs = append(msgs, message(fmt.Sprintf("m%02d", i), base.Add(time.Duration(i%5)*time.Second)))
	}
	if n, err := s.AddMessages(ctx, msgs); err != nil || n != 25 {
		t.Fatalf("added %d, %v", n, err)
	}
	var seen []string
	var cur Cursor
	for {
		page, err := s.HistoryPage(ctx, cur, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if len(seen) > 0 && m.Timestamp.After(msgs[0].Timestamp.Add(time.Hour)) {
				t.Fatal("bad timestamp")
			}
			seen = append(seen, m.Key)
		}
		cur = page[len(page)-1].Cursor()
	}
	if len(seen) != 25 || seen[0] != "m24" || seen[24] != "m00" {
		t.Errorf("pages gave %v", seen)
	}
}

func TestPruneHistoryKeepsMessagesAwaitingDelivery(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	old := time.Now().Add(-48 * time.Hour)
	waiting := f.accepted("waiting")
	waiting.Message.Received = old
	stale := message("stale", old)
	stale.Received = old
	if _, err := s.Enqueue(ctx, []Accepted{waiting, {Message: stale}, {Message: message("fresh", time.Now())}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneHistory(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	got, _ := s.MessagesByKey(ctx, []string{"waiting", "stale", "fresh"})
	if _, ok := got["stale"]; ok || len(got) != 2 {
		t.Errorf("left %v", got)
	}
}

// TestHistoryPagingUsesTheIndex checks the plan rather than a time: paging
// newest first must walk messages_ts, never sort the whole table.
func TestHistoryPagingUsesTheIndex(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name  string
		query string
		args  []any
	}{
		{"first page", selectHistoryFirst, []any{100}},
		{"later page", selectHistoryPage, []any{0, 0, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, s, tc.query, tc.args...)
			joined := fmt.Sprint(plan)
			if !strings.Contains(joined, "messages_ts") || strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan %v", plan)
			}
		})
	}
}

// A destination deleted after the router matched it must not fail the
// batch (its foreign key would, and the router retries a failed batch
// until it succeeds): the match is dropped, the rest is committed.
func TestEnqueueDropsMatchesToDeletedDestinations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	if err := s.DeleteDestination(ctx, bob.dest.ID); err != nil {
		t.Fatal(err)
	}
	acc := alice.accepted("2026-gone")
	acc.Matches = append(acc.Matches, bob.accepted("2026-gone").Matches...)
	res, err := s.Enqueue(ctx, []Accepted{acc})
	if err != nil {
		t.Fatalf("enqueue with a deleted destination: %v", err)
	}
	if res.Messages != 1 || res.Notifications != 1 || res.Dropped != 1 {
		t.Errorf("result %+v, want the message, alice's notification, bob's match dropped", res)
	}
}
