// Package storetest is the conformance suite of the store.Store contract:
// what every backend must do, whatever keeps the data. Its own test runs
// it with Run on every backend (store/sqlite and store/postgres), table
// driven.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hark/store"
)

// Backend is how the suite opens the store under test.
type Backend struct {
	// Fresh names a new, empty database for t: for SQLite, a file in
	// t.TempDir().
	Fresh func(t testing.TB) string
	// Open opens the database name. Several opens of one name are
	// several processes sharing it, and a reopen after Close is a
	// restart; the suite closes what it opens.
	Open func(ctx context.Context, name string) (store.Store, error)
}

// Run runs every test of the suite against b, each as a subtest.
func Run(t *testing.T, b Backend) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, b) })
	}
}

// suite is every test of the contract, by name.
var suite = []struct {
	name string
	test func(*testing.T, Backend)
}{
	{"UserNamesAreUnique", testUserNamesAreUnique},
	{"PasswordRoundTrip", testPasswordRoundTrip},
	{"SquattedAddressCanBeClaimedByItsOwner", testSquattedAddressCanBeClaimedByItsOwner},
	{"ConfirmedAddressBelongsToOneUser", testConfirmedAddressBelongsToOneUser},
	{"UnconfirmedDestinationsLapse", testUnconfirmedDestinationsLapse},
	{"DestinationConfirmation", testDestinationConfirmation},
	{"DestinationSettingsRoundTripAndAreChecked", testDestinationSettings},
	{"FiltersKeepRulesDestinationsAndOrder", testFiltersKeepRulesDestinationsAndOrder},
	{"ActiveFiltersSkipInactiveAndDisabledUsers", testActiveFiltersSkipInactiveAndDisabledUsers},
	{"SetUserAdminGrantsAndTakesAway", testSetUserAdmin},
	{"SettingsVersionMovesOnEveryChange", testSettingsVersionMovesOnEveryChange},
	{"ReEnqueueAfterCrashMakesNoDuplicate", testReEnqueueAfterCrashMakesNoDuplicate},
	{"OneNotificationPerMessageAndDestination", testOneNotificationPerMessageAndDestination},
	{"OneshotFiresOnceUnderRaces", testOneshotFiresOnceUnderRaces},
	{"ConcurrentWritersAcrossProcessesNeverFailBusy", testConcurrentWritersAcrossProcessesNeverFailBusy},
	{"ClaimLeasesDueNotifications", testClaimLeasesDueNotifications},
	{"ConcurrentClaimsNeverShareANotification", testConcurrentClaimsNeverShareANotification},
	{"OutcomesMoveStateAndLog", testOutcomesMoveStateAndLog},
	{"HistoryPagesNewestFirst", testHistoryPagesNewestFirst},
	{"PruneHistoryKeepsMessagesAwaitingDelivery", testPruneHistoryKeepsMessagesAwaitingDelivery},
	{"EnqueueDropsMatchesToDeletedDestinations", testEnqueueDropsMatchesToDeletedDestinations},
	{"DeletingADestinationOrUserDropsTheirQueue", testDeletingADestinationOrUserDropsTheirQueue},
	{"SessionLastsUntilExpiry", testSessionLastsUntilExpiry},
	{"RevokeAPITokenOnlyOwn", testRevokeAPITokenOnlyOwn},
	{"FirstLoginIsMarkedOnce", testFirstLoginIsMarkedOnce},
	{"NotificationByIDAndDeadLetters", testNotificationByIDAndDeadLetters},
	{"DeletingAFilterKeepsItsNotificationsUnlinked", testDeletingAFilterKeepsItsNotificationsUnlinked},
	{"QueueDepthCountsEveryState", testQueueDepthCountsEveryState},
	{"ScanHistoryByTermsFindsMessagesNewestFirst", testScanHistoryByTermsFindsMessagesNewestFirst},
	{"ScanHistoryPagesByCursor", testScanHistoryPagesByCursor},
	{"ScanHistoryKeepsWhatKeepAccepts", testScanHistoryKeepsWhatKeepAccepts},
	{"TermValuesAreDistinctAndSorted", testTermValuesAreDistinctAndSorted},
	{"FilterDeliveryRoundTrips", testFilterDeliveryRoundTrips},
	{"FilterModesGoWithTheirDestination", testFilterModesGoWithTheirDestination},
	{"SentJournalRecordsUntilSettled", testSentJournalRecordsUntilSettled},
	{"ImportedFilterModesNameCreatedDestinations", testImportedFilterModesNameCreatedDestinations},
	{"SnoozeFilterOfItsOwnerOnly", testSnoozeFilterOfItsOwnerOnly},
	{"ClaimOnlyPicksByFilter", testClaimOnlyPicksByFilter},
	{"OutboxLeasesSendsByKindUntilFinished", testOutboxLeasesSendsByKindUntilFinished},
	{"OutboxSendsGoWithTheirDestination", testOutboxSendsGoWithTheirDestination},
	{"SendProblemShowsOnTheDestinationUntilCleared", testSendProblemShowsOnTheDestinationUntilCleared},
	{"LeasesElectOneOwner", testLeasesElectOneOwner},
	{"LapsedOwnLeaseGetsANewToken", testLapsedOwnLeaseGetsANewToken},
	{"FencedWritesRefusedAfterTakeover", testFencedWritesRefusedAfterTakeover},
	{"FeedSaysWhatChangedInOrder", testFeedSaysWhatChangedInOrder},
	{"FeedSaysRequeuedDeadAreQueued", testFeedSaysRequeuedDeadAreQueued},
	{"FeedWakesWaitersInOtherProcesses", testFeedWakesWaitersInOtherProcesses},
	{"PruneChangesKeepsTheCursorGoingForward", testPruneChangesKeepsTheCursorGoingForward},
}

// openAt opens the store named name, closing it when the test ends.
func (b Backend) openAt(t testing.TB, name string) store.Store {
	t.Helper()
	s, err := b.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTest opens a fresh, empty store.
func (b Backend) openTest(t testing.TB) store.Store {
	t.Helper()
	return b.openAt(t, b.Fresh(t))
}

func testUserNamesAreUnique(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("second alice: got %v, want ErrExists", err)
	}
}

func testPasswordRoundTrip(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	seed(t, s, "alice", false)
	// The lowest cost: under the race detector the default takes seconds.
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash := string(h)
	if err := s.SetPasswordHash(ctx, "alice", hash); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UserByName(ctx, "alice")
	if !store.CheckPassword(u.PasswordHash, "correct horse") || store.CheckPassword(u.PasswordHash, "wrong") {
		t.Error("stored hash does not check the password")
	}
	if err := s.SetPasswordHash(ctx, "nobody", hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
}

// testSquattedAddressCanBeClaimedByItsOwner: mallory adds carol's
// address first; carol can still add it, and confirming it makes it
// hers, mallory's claim gone.
func testSquattedAddressCanBeClaimedByItsOwner(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	claim := func(user, code string) store.Destination {
		t.Helper()
		u, err := s.CreateUser(ctx, store.User{Name: user})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: "carol@example.org",
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
	if _, err := s.DestinationByID(ctx, squat.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mallory's claim after carol confirmed: %v, want ErrNotFound", err)
	}
	if err := s.ConfirmDestination(ctx, squat.ID, "m1", now); !errors.Is(err, store.ErrBadCode) {
		t.Errorf("mallory confirms after carol: %v, want ErrBadCode", err)
	}
	if d, err := s.DestinationByAddress(ctx, store.KindEmail, "carol@example.org"); err != nil || d.ID != own.ID || !d.Confirmed {
		t.Errorf("DestinationByAddress = %+v, %v; want carol's, confirmed", d, err)
	}
}

func testConfirmedAddressBelongsToOneUser(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	alice := seed(t, s, "alice", false)
	bob := seed(t, s, "bob", false)
	// Claiming it looks like claiming a fresh address…
	d, err := s.SaveDestination(ctx, store.Destination{UserID: bob.user.ID, Kind: store.KindEmail, Address: alice.dest.Address,
		ConfirmCode: "b1", ConfirmExpires: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("bob claims alice's address: %v", err)
	}
	// …but it cannot be confirmed, by code or by an admin.
	if err := s.ConfirmDestination(ctx, d.ID, "b1", now); !errors.Is(err, store.ErrTaken) {
		t.Errorf("bob confirms alice's address: %v, want ErrTaken", err)
	}
	d.Confirmed = true
	if _, err := s.SaveDestination(ctx, d); !errors.Is(err, store.ErrTaken) {
		t.Errorf("bob's claim saved confirmed: %v, want ErrTaken", err)
	}
	if _, err := s.SaveDestination(ctx, store.Destination{UserID: alice.user.ID, Kind: store.KindEmail, Address: alice.dest.Address}); !errors.Is(err, store.ErrExists) {
		t.Errorf("alice adds her address again: %v, want ErrExists", err)
	}
}

// testDestinationSettings: a destination's settings of its kind come
// back as saved, by every read; saving them again without any clears
// them; a setting the kind's schema refuses is not saved, and neither is
// one an import creates.
func testDestinationSettings(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	secret := "whsec_" + strings.Repeat("QUJD", 8)
	d, err := s.SaveDestination(ctx, store.Destination{UserID: f.user.ID, Kind: store.KindWebhook,
		Address: "https://ci.example.org/hook", Enabled: true, Settings: map[string]string{"secret": secret}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, want map[string]string) {
		t.Helper()
		byID, err := s.DestinationByID(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		byAddr, err := s.DestinationByAddress(ctx, d.Kind, d.Address)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.AllDestinations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(all, func(a store.Destination) bool { return a.ID == d.ID })
		for _, got := range []store.Destination{byID, byAddr, all[i]} {
			if !maps.Equal(got.Settings, want) {
				t.Errorf("%s: settings %v, want %v", what, got.Settings, want)
			}
		}
	}
	check("saved", map[string]string{"secret": secret})
	d.Settings = nil
	if _, err := s.SaveDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	check("cleared", nil)
	d.Settings = map[string]string{"secret": "hunter2"}
	if _, err := s.SaveDestination(ctx, d); err == nil || !strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("saving a bad secret: %v, want an error naming the key and not quoting the value", err)
	}
	check("refused", nil)
	bad := store.Destination{UserID: f.user.ID, Kind: store.KindNtfy, Address: "https://ntfy.sh/x", Settings: map[string]string{"colour": "red"}}
	if _, _, err := s.ImportFilters(ctx, f.user.ID, []store.Destination{bad}, nil); err == nil {
		t.Errorf("importing a destination with an unknown setting: no error")
	}
}

func testUnconfirmedDestinationsLapse(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	old := time.Now().Add(-72 * time.Hour)
	d, err := s.SaveDestination(ctx, store.Destination{UserID: f.user.ID, Kind: store.KindIRC, Address: "alice", Created: old})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneUnconfirmed(ctx, time.Now().Add(-48*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneUnconfirmed = %d, %v; want 1", n, err)
	}
	if _, err := s.DestinationByID(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old unconfirmed destination: %v, want ErrNotFound", err)
	}
	if _, err := s.DestinationByID(ctx, f.dest.ID); err != nil {
		t.Errorf("confirmed destination pruned: %v", err)
	}
}

func testDestinationConfirmation(t *testing.T, b Backend) {
	s := b.openTest(t)
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
		{"wrong code", "nope", now, store.ErrBadCode},
		{"expired", "abc123", now.Add(2 * time.Hour), store.ErrBadCode},
		{"right code in time", "abc123", now, nil},
		{"code is single use", "abc123", now, store.ErrBadCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ConfirmDestination(ctx, d.ID, tc.code, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func testFiltersKeepRulesDestinationsAndOrder(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	second, err := s.SaveFilter(ctx, store.Filter{UserID: f.user.ID, Name: "first", Position: -1, Active: true,
		Rules: []store.Rule{{Kind: "user", Args: json.RawMessage(`{"names":["@me"]}`)}, {Kind: "agent", Args: json.RawMessage(`{"names":["@me"]}`), Negate: true}}})
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

func testActiveFiltersSkipInactiveAndDisabledUsers(t *testing.T, b Backend) {
	s := b.openTest(t)
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

func testSettingsVersionMovesOnEveryChange(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", true)
	for _, tc := range []struct {
		name   string
		change func() error
	}{
		{"filter saved", func() error { _, err := s.SaveFilter(ctx, f.filter); return err }},
		{"destination saved", func() error { _, err := s.SaveDestination(ctx, f.dest); return err }},
		{"user disabled", func() error { return s.SetUserDisabled(ctx, "alice", true) }},
		{"one-shot used up", func() error { _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); return err }},
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

func testReEnqueueAfterCrashMakesNoDuplicate(t *testing.T, b Backend) {
	path := b.Fresh(t)
	ctx := context.Background()
	s, err := b.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	// The service died after committing but before recording progress;
	// on restart it sees m1 again (replay, or a publisher's resend).
	s.Close()
	s = b.openAt(t, path)
	res, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notifications != 1 || res.Messages != 1 {
		t.Errorf("re-enqueue made %+v, want only m2 new", res)
	}
	depth, _ := s.QueueDepth(ctx)
	if depth[store.StateQueued] != 2 {
		t.Errorf("queued %d, want 2", depth[store.StateQueued])
	}
}

// testOneshotFiresOnceUnderRaces races writers in two "processes" (two
// stores on one file), each with several goroutines, all matching the
// same one-shot filter with different messages.
func testOneshotFiresOnceUnderRaces(t *testing.T, b Backend) {
	path := b.Fresh(t)
	stores := []store.Store{b.openAt(t, path), b.openAt(t, path)}
	f := seed(t, stores[0], "alice", true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var usedUp, made int
	for i := range 8 {
		wg.Go(func() {
			res, err := stores[i%2].Enqueue(context.Background(), []store.Accepted{f.accepted(fmt.Sprintf("m%d", i))})
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
	if usedUp != 1 || made != 1 || depth[store.StateQueued] != 1 {
		t.Errorf("used up %d times, %d notifications reported, %d queued; want 1, 1, 1", usedUp, made, depth[store.StateQueued])
	}
	got, _ := stores[1].ListFilters(context.Background(), f.user.ID)
	if got[0].Active {
		t.Error("the one-shot filter is still active")
	}
}

func testConcurrentWritersAcrossProcessesNeverFailBusy(t *testing.T, b Backend) {
	path := b.Fresh(t)
	stores := []store.Store{b.openAt(t, path), b.openAt(t, path), b.openAt(t, path)}
	f := seed(t, stores[0], "alice", false)
	var wg sync.WaitGroup
	const writers, perWriter = 6, 40
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				s := stores[w%len(stores)]
				if _, err := s.Enqueue(context.Background(), []store.Accepted{f.accepted(fmt.Sprintf("w%d-%d", w, i))}); err != nil {
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
	if depth[store.StateQueued] != writers*perWriter {
		t.Errorf("queued %d, want %d", depth[store.StateQueued], writers*perWriter)
	}
}

func testClaimLeasesDueNotifications(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3")}); err != nil {
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

// testConcurrentClaimsNeverShareANotification: claimers in two
// "processes" take one destination's notifications at once; each
// notification goes to one of them, and all of them are taken.
func testConcurrentClaimsNeverShareANotification(t *testing.T, b Backend) {
	path := b.Fresh(t)
	stores := []store.Store{b.openAt(t, path), b.openAt(t, path)}
	f := seed(t, stores[0], "alice", false)
	const queued = 60
	var batch []store.Accepted
	for i := range queued {
		batch = append(batch, f.accepted(fmt.Sprintf("m%d", i)))
	}
	if _, err := stores[0].Enqueue(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for {
				ns, err := stores[i%2].Claim(context.Background(), f.dest.ID, now, time.Minute, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, n := range ns {
					claimed[n.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("notification %d claimed %d times", id, n)
		}
	}
	if len(claimed) != queued {
		t.Errorf("claimed %d notifications, want %d", len(claimed), queued)
	}
}

func testOutcomesMoveStateAndLog(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2")}); err != nil {
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
	if depth[store.StateSent] != 1 || depth[store.StateDead] != 1 {
		t.Errorf("depth %v", depth)
	}
	if n, err := s.RequeueDead(ctx, nil, now); err != nil || n != 1 {
		t.Errorf("requeued %d, %v", n, err)
	}
	log, _ := s.DeliveryLog(ctx, store.NotificationQuery{User: "alice"})
	var outcomes []store.State
	for _, e := range log {
		outcomes = append(outcomes, e.Outcome)
	}
	if fmt.Sprint(outcomes) != "[queued dead failed sent]" {
		t.Errorf("log outcomes newest first: %v", outcomes)
	}
	list, _ := s.ListNotifications(ctx, store.NotificationQuery{User: "alice"})
	if len(list) != 2 || list[1].State != store.StateSent || list[1].Sent.IsZero() || list[1].FilterName != "bodhi" ||
		list[1].Destination != "email:alice@example.org" || list[0].State != store.StateQueued {
		t.Errorf("listing: %+v", list)
	}
}

func testHistoryPagesNewestFirst(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	base := time.Unix(1700000000, 0)
	var msgs []store.Message
	for i := range 25 {
		msgs = append(msgs, message(fmt.Sprintf("m%02d", i), base.Add(time.Duration(i%5)*time.Second)))
	}
	if n, err := s.AddMessages(ctx, msgs); err != nil || n != 25 {
		t.Fatalf("added %d, %v", n, err)
	}
	var seen []string
	var cur store.Cursor
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

func testPruneHistoryKeepsMessagesAwaitingDelivery(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	old := time.Now().Add(-48 * time.Hour)
	waiting := f.accepted("waiting")
	waiting.Message.Received = old
	stale := message("stale", old)
	stale.Received = old
	if _, err := s.Enqueue(ctx, []store.Accepted{waiting, {Message: stale}, {Message: message("fresh", time.Now())}}); err != nil {
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

// A destination deleted after the router matched it must not fail the
// batch (its foreign key would, and the router retries a failed batch
// until it succeeds): the match is dropped, the rest is committed.
func testEnqueueDropsMatchesToDeletedDestinations(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
	if err := s.DeleteDestination(ctx, bob.dest.ID); err != nil {
		t.Fatal(err)
	}
	acc := alice.accepted("2026-gone")
	acc.Matches = append(acc.Matches, bob.accepted("2026-gone").Matches...)
	res, err := s.Enqueue(ctx, []store.Accepted{acc})
	if err != nil {
		t.Fatalf("enqueue with a deleted destination: %v", err)
	}
	if res.Messages != 1 || res.Notifications != 1 || res.Dropped != 1 {
		t.Errorf("result %+v, want the message, alice's notification, bob's match dropped", res)
	}
}

// Deleting a destination, or its user, takes the notifications queued
// for it: they could never be sent, and nothing lists or claims them.
func testDeletingADestinationOrUserDropsTheirQueue(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name   string
		delete func(store.Store, fixture) error
	}{
		{"destination", func(s store.Store, f fixture) error { return s.DeleteDestination(context.Background(), f.dest.ID) }},
		{"user", func(s store.Store, f fixture) error { return s.DeleteUser(context.Background(), f.user.Name) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := b.openTest(t)
			ctx := context.Background()
			alice, bob := seed(t, s, "alice", false), seed(t, s, "bob", false)
			acc := alice.accepted("m1")
			acc.Matches = append(acc.Matches, bob.accepted("m1").Matches...)
			if res, err := s.Enqueue(ctx, []store.Accepted{acc}); err != nil || res.Notifications != 2 {
				t.Fatalf("enqueue: %+v, %v", res, err)
			}
			if err := tc.delete(s, bob); err != nil {
				t.Fatal(err)
			}
			now := time.Now().Add(time.Second)
			if p, err := s.Pending(ctx, now); err != nil || len(p) != 1 || p[0].DestinationID != alice.dest.ID {
				t.Errorf("pending %+v, %v; want alice's only", p, err)
			}
			if ns, _ := s.Claim(ctx, bob.dest.ID, now, time.Minute, 10); len(ns) != 0 {
				t.Errorf("claimed %+v for the deleted destination", ns)
			}
			if ns, _ := s.ListNotifications(ctx, store.NotificationQuery{}); len(ns) != 1 || ns[0].DestinationID != alice.dest.ID {
				t.Errorf("listed %+v; want alice's only", ns)
			}
		})
	}
}

func testSessionLastsUntilExpiry(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	if err := s.CreateSession(ctx, "secret", u.ID, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		at     time.Time
		want   error
	}{
		{"before expiry", "secret", now.Add(59 * time.Minute), nil},
		{"at expiry", "secret", now.Add(time.Hour), store.ErrNotFound},
		{"other secret", "guess", now, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SessionUser(ctx, tc.secret, tc.at)
			if !errors.Is(err, tc.want) || (err == nil && got.Name != "alice") {
				t.Fatalf("SessionUser = %v, %v; want alice, %v", got.Name, err, tc.want)
			}
		})
	}
}

func testRevokeAPITokenOnlyOwn(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	alice, _ := s.CreateUser(ctx, store.User{Name: "alice"})
	bob, _ := s.CreateUser(ctx, store.User{Name: "bob"})
	tok, err := s.CreateAPIToken(ctx, alice.ID, "script", "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, bob.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob revoking alice's token: %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIToken(ctx, alice.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
}

func testFirstLoginIsMarkedOnce(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, store.User{Name: "alice"})
	for i, want := range []bool{true, false} {
		if first, err := s.MarkFirstLogin(ctx, u.ID, time.Now()); err != nil || first != want {
			t.Fatalf("login %d: first = %v, %v; want %v", i+1, first, err, want)
		}
	}
}

func testNotificationByIDAndDeadLetters(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3")}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListNotifications(ctx, store.NotificationQuery{User: "alice"})
	if err != nil || len(all) != 3 {
		t.Fatalf("%d notifications, %v", len(all), err)
	}
	if err := s.MarkDead(ctx, []int64{all[0].ID, all[2].ID}, "mailbox full", time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Run("by id, with names", func(t *testing.T) {
		n, err := s.NotificationByID(ctx, all[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if n.MsgKey != all[1].MsgKey || n.UserName != "alice" || n.FilterName != f.filter.Name || n.Destination == "" || len(n.Why) == 0 {
			t.Errorf("got %+v", n)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		if _, err := s.NotificationByID(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
	})
	t.Run("dead letters newest first", func(t *testing.T) {
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, n := range dead {
			ids = append(ids, n.ID)
			if n.State != store.StateDead || n.LastError != "mailbox full" || n.UserName != "alice" {
				t.Errorf("dead letter %+v", n)
			}
		}
		if want := []int64{all[0].ID, all[2].ID}; !slices.Equal(ids, want) {
			t.Errorf("ids %v, want %v", ids, want)
		}
	})
}

func testDeletingAFilterKeepsItsNotificationsUnlinked(t *testing.T, b Backend) {
	s := b.openTest(t)
	f := seed(t, s, "alice", false)
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFilter(ctx, f.filter.ID); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ListNotifications(ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].FilterID != 0 || ns[0].FilterName != "" || ns[0].State != store.StateQueued {
		t.Errorf("notifications %+v, want one queued with no filter", ns)
	}
}

func testQueueDepthCountsEveryState(t *testing.T, b Backend) {
	s := b.openTest(t)
	f := seed(t, s, "alice", false)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.Enqueue(ctx, []store.Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3"), f.accepted("m4"), f.accepted("m5")}); err != nil {
		t.Fatal(err)
	}
	ns, err := s.Claim(ctx, f.dest.ID, now, time.Minute, 10)
	if err != nil || len(ns) != 5 {
		t.Fatalf("claimed %d, %v", len(ns), err)
	}
	for _, mark := range []error{
		s.MarkSent(ctx, []int64{ns[0].ID, ns[1].ID}, now),
		s.MarkFailed(ctx, []int64{ns[2].ID}, "refused", now.Add(time.Minute), now),
		s.MarkDead(ctx, []int64{ns[3].ID}, "bounced", now),
	} {
		if mark != nil {
			t.Fatal(mark)
		}
	}
	depth, err := s.QueueDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.State]int64{store.StateQueued: 1, store.StateSent: 2, store.StateFailed: 1, store.StateDead: 1}
	for state, n := range want {
		if depth[state] != n {
			t.Errorf("%s: %d, want %d (depth %v)", state, depth[state], n, depth)
		}
	}
}

func testScanHistoryByTermsFindsMessagesNewestFirst(t *testing.T, b Backend) {
	s := b.openTest(t)
	termMessages(t, s)
	for _, tc := range []struct {
		name  string
		terms []store.Term
		want  []string
	}{
		{"package in two messages", []store.Term{{Field: store.TermPackage, Value: "kernel"}}, []string{"m1", "m0"}},
		{"second package of a message", []store.Term{{Field: store.TermPackage, Value: "glibc"}}, []string{"m0"}},
		{"user", []store.Term{{Field: store.TermUser, Value: "alice"}}, []string{"m2", "m0"}},
		{"agent", []store.Term{{Field: store.TermAgent, Value: "bob"}}, []string{"m1"}},
		{"empty agent is not filed", []store.Term{{Field: store.TermAgent, Value: ""}}, nil},
		{"app", []store.Term{{Field: store.TermApp, Value: "pagure"}}, []string{"m2"}},
		{"exact topic", []store.Term{{Field: store.TermTopic, Value: "org.fedoraproject.prod.wiki.article.edit"}}, []string{"m3"}},
		{"topic prefix", []store.Term{{Field: store.TermTopic, Value: "org.fedoraproject.prod.b", Prefix: true}}, []string{"m1", "m0"}},
		{"alternatives once each", []store.Term{{Field: store.TermUser, Value: "alice"}, {Field: store.TermPackage, Value: "kernel"}}, []string{"m2", "m1", "m0"}},
		{"no terms", []store.Term{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ScanHistory(context.Background(), store.Scan{Terms: tc.terms, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got.Kept), tc.want) {
				t.Errorf("got %v, want %v", keys(got.Kept), tc.want)
			}
		})
	}
}

func testScanHistoryPagesByCursor(t *testing.T, b Backend) {
	s := b.openTest(t)
	termMessages(t, s)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		terms []store.Term
	}{
		{"every message", nil},
		{"by terms", []store.Term{{Field: store.TermTopic, Value: "org.", Prefix: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for cur := (store.Cursor{}); ; {
				page, err := s.ScanHistory(ctx, store.Scan{Terms: tc.terms, Before: cur, Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, keys(page.Kept)...)
				if page.Read < 3 {
					break
				}
				cur = page.Last
			}
			if want := []string{"m3", "m2", "m1", "m0"}; !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func testScanHistoryKeepsWhatKeepAccepts(t *testing.T, b Backend) {
	s := b.openTest(t)
	termMessages(t, s)
	got, err := s.ScanHistory(context.Background(), store.Scan{Limit: 10, Keep: func(env []byte) bool { return strings.Contains(string(env), "pagure") }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got.Kept), []string{"m2"}) || got.Read != 4 || got.Last.ID != 1 {
		t.Errorf("kept %v of %d read, last %+v; want m2 of 4, last the oldest", keys(got.Kept), got.Read, got.Last)
	}
}

func testTermValuesAreDistinctAndSorted(t *testing.T, b Backend) {
	s := b.openTest(t)
	termMessages(t, s)
	got, err := s.TermValues(context.Background(), store.TermPackage)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"glibc", "kernel"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// testOneNotificationPerMessageAndDestination: two of a user's filters
// match one message for one destination; it gets one notification.
func testOneNotificationPerMessageAndDestination(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	second, err := s.SaveFilter(ctx, store.Filter{UserID: f.user.ID, Name: "again", Position: 1, Active: true,
		Rules: f.filter.Rules, DestinationIDs: []int64{f.dest.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a := f.accepted("m1")
	again := a.Matches[0]
	again.FilterID = second.ID
	a.Matches = append(a.Matches, again)
	res, err := s.Enqueue(ctx, []store.Accepted{a})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notifications != 1 {
		t.Errorf("Enqueue made %+v, want one notification", res)
	}
	if depth, _ := s.QueueDepth(ctx); depth[store.StateQueued] != 1 {
		t.Errorf("queued %d, want 1", depth[store.StateQueued])
	}
}

func testSetUserAdmin(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, admin := range []bool{true, false} {
		if err := s.SetUserAdmin(ctx, "alice", admin); err != nil {
			t.Fatal(err)
		}
		if u, err := s.UserByName(ctx, "alice"); err != nil || u.Admin != admin {
			t.Errorf("after SetUserAdmin(%t): admin %t, err %v", admin, u.Admin, err)
		}
	}
	if err := s.SetUserAdmin(ctx, "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: err %v, want ErrNotFound", err)
	}
}

func testOutboxLeasesSendsByKindUntilFinished(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	irc, err := s.SaveDestination(ctx, store.Destination{UserID: f.user.ID, Kind: store.KindIRC, Address: "alice", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var queued []store.Send
	for _, q := range []store.Send{{DestinationID: f.dest.ID, What: store.SendConfirmation}, {DestinationID: irc.ID, What: store.SendTest},
		{DestinationID: f.dest.ID, What: store.SendTest}} {
		sent, err := s.QueueSend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, sent)
	}
	for _, step := range []struct {
		name  string
		kinds []string
		at    time.Duration
		want  []int64 // ids, by index into queued
		tries int     // attempts of the first
	}{
		{"email ones, oldest first", []string{store.KindEmail}, time.Second, []int64{0, 2}, 1},
		{"leased ones are not claimed again", []string{store.KindEmail, store.KindIRC}, 2 * time.Second, []int64{1}, 1},
		{"after the lease they are", []string{store.KindEmail}, 2 * time.Minute, []int64{0, 2}, 2},
	} {
		got, err := s.ClaimSends(ctx, step.kinds, now.Add(step.at), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		var want []int64
		for _, i := range step.want {
			want = append(want, queued[i].ID)
		}
		if !slices.Equal(ids, want) || got[0].Attempts != step.tries || got[0].What != queued[step.want[0]].What || got[0].DestinationID != queued[step.want[0]].DestinationID {
			t.Errorf("%s: claimed %+v, want ids %v with %d attempts", step.name, got, want, step.tries)
		}
	}
	for _, q := range queued {
		if err := s.FinishSend(ctx, q.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.ClaimSends(ctx, []string{store.KindEmail, store.KindIRC}, now.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Errorf("finished sends claimed again: %+v", got)
	}
	if err := s.FinishSend(ctx, queued[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finishing twice: %v, want ErrNotFound", err)
	}
}

func testOutboxSendsGoWithTheirDestination(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.QueueSend(ctx, store.Send{DestinationID: f.dest.ID, What: store.SendTest}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDestination(ctx, f.dest.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimSends(ctx, []string{store.KindEmail}, time.Now().Add(time.Second), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("sends of a deleted destination: %+v, %v", got, err)
	}
}

func testSendProblemShowsOnTheDestinationUntilCleared(t *testing.T, b Backend) {
	s := b.openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	at := time.Now().UTC().Truncate(time.Millisecond)
	retrying := store.SendProblem{At: at, What: store.SendTest, Words: "the Matrix homeserver failed (HTTP 502)", Attempts: 1}
	gaveUp := store.SendProblem{At: at.Add(time.Minute), What: store.SendConfirmation, Words: "the mail server refused <a@example.org>", Attempts: 5, GaveUp: true}
	for _, step := range []struct {
		name string
		set  *store.SendProblem // nil: SaveDestination instead
		want store.SendProblem
	}{
		{"none yet", &store.SendProblem{}, store.SendProblem{}},
		{"a failed attempt", &retrying, retrying},
		{"saving the destination keeps it", nil, retrying},
		{"the last attempt replaces it", &gaveUp, gaveUp},
		{"a success clears it", &store.SendProblem{}, store.SendProblem{}},
	} {
		if step.set != nil {
			if err := s.SetSendProblem(ctx, f.dest.ID, *step.set); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		} else {
			d := f.dest
			d.Verbose = true
			if _, err := s.SaveDestination(ctx, d); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		byID, err := s.DestinationByID(ctx, f.dest.ID)
		if err != nil {
			t.Fatal(err)
		}
		listed, err := s.ListDestinations(ctx, f.user.ID)
		if err != nil || len(listed) != 1 {
			t.Fatalf("%s: listed %+v, %v", step.name, listed, err)
		}
		all, err := s.AllDestinations(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("%s: all %+v, %v", step.name, all, err)
		}
		for how, got := range map[string]store.SendProblem{"by id": byID.LastProblem, "listed": listed[0].LastProblem, "all": all[0].LastProblem} {
			if !got.At.Equal(step.want.At) || got.What != step.want.What || got.Words != step.want.Words || got.Attempts != step.want.Attempts || got.GaveUp != step.want.GaveUp {
				t.Errorf("%s: %s: last problem %+v, want %+v", step.name, how, got, step.want)
			}
		}
	}
	if err := s.DeleteDestination(ctx, f.dest.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.SendProblem{retrying, {}} {
		if err := s.SetSendProblem(ctx, f.dest.ID, p); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("problem %+v of a deleted destination: %v, want ErrNotFound", p, err)
		}
	}
}
