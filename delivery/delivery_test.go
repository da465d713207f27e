package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/delivery/email"
	"hark/internal/testpeer"
	"hark/meta"
	"hark/schedule"
	"hark/store"
	"hark/store/postgres"
	"hark/store/sqlite"
)

// world is a store with alice, her confirmed address and one filter, a
// real SMTP server, and a Deliverer with a sent journal, as hark serve
// has, on a clock the test moves.
type world struct {
	t      testing.TB
	ctx    context.Context
	dir    string
	st     store.Store
	smtp   *testpeer.SMTP
	d      *delivery.Deliverer
	now    time.Time
	user   store.User
	dest   store.Destination
	filter store.Filter
	seq    int
}

type setup struct {
	dest  func(*store.Destination)
	opts  func(*delivery.Options)
	mails email.Options
	// postgres opens the store on the machine's PostgreSQL, in a fresh
	// database, instead of SQLite.
	postgres bool
}

// openStore opens a fresh store: SQLite in dir, or a new database on
// the machine's PostgreSQL.
func openStore(t testing.TB, ctx context.Context, dir string, pg bool) (store.Store, error) {
	if pg {
		return postgres.Open(ctx, testpeer.PostgresDB(t))
	}
	return sqlite.Open(ctx, filepath.Join(dir, "hark.db"))
}

func newWorld(t testing.TB, s setup) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := openStore(t, ctx, dir, s.postgres)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t, ctx: ctx, dir: dir, st: st, smtp: testpeer.StartSMTP(t), now: time.Now()}
	if w.user, err = st.CreateUser(ctx, store.User{Name: "alice", Timezone: "Europe/Prague"}); err != nil {
		t.Fatal(err)
	}
	dest := store.Destination{UserID: w.user.ID, Kind: store.KindEmail, Address: "alice@example.org", Confirmed: true, Enabled: true}
	if s.dest != nil {
		s.dest(&dest)
	}
	if w.dest, err = st.SaveDestination(ctx, dest); err != nil {
		t.Fatal(err)
	}
	w.filter, err = st.SaveFilter(ctx, store.Filter{UserID: w.user.ID, Name: "everything", Active: true,
		Rules: []store.Rule{{Kind: "topic", Args: []byte(`{"pattern": "*"}`)}}, DestinationIDs: []int64{w.dest.ID}})
	if err != nil {
		t.Fatal(err)
	}
	mo := s.mails
	mo.Host, mo.Port, mo.TLS, mo.From, mo.Timeout = w.smtp.Host, w.smtp.Port, email.TLSNone, "hark@example.org", 5*time.Second
	mailer, err := email.New(mo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailer.Close() })
	o := delivery.Options{
		Store: st, Senders: delivery.Senders{store.KindEmail: mailer}, BaseURL: "https://hark.example.org/",
		Key: []byte("0123456789abcdef0123456789abcdef"), Retry: delivery.Retry{MaxAttempts: 3, BackoffMin: time.Minute, BackoffMax: time.Hour},
		Now: func() time.Time { return w.now }, Jitter: func() float64 { return 0.5 },
		SentJournal: filepath.Join(dir, "hark.db-sent"),
	}
	if s.opts != nil {
		s.opts(&o)
	}
	if w.d, err = delivery.New(o); err != nil {
		t.Fatal(err)
	}
	return w
}

// queue enqueues n new bus messages that match alice's filter.
func (w *world) queue(n int) {
	w.t.Helper()
	w.queueBy(w.filter.ID, n)
}

// queueBy enqueues n new bus messages that match alice's filter filterID,
// and says their keys.
func (w *world) queueBy(filterID int64, n int) (keys []string) {
	w.t.Helper()
	var batch []store.Accepted
	for range n {
		w.seq++
		key := fmt.Sprintf("2026-msg-%04d", w.seq)
		m, err := store.NewMessage(key, "org.fedoraproject.prod.bodhi.update.comment", float64(w.now.Unix()), []byte(`{}`),
			meta.Description{App: "bodhi", Subtitle: "update " + key, Usernames: []string{"ralph"}, Packages: []string{"fedmsg"}})
		if err != nil {
			w.t.Fatal(err)
		}
		batch = append(batch, store.Accepted{Message: m, Matches: []store.Match{{UserID: w.user.ID, DestinationID: w.dest.ID, FilterID: filterID}}})
		keys = append(keys, key)
	}
	if _, err := w.st.Enqueue(w.ctx, batch); err != nil {
		w.t.Fatal(err)
	}
	// The store stamps rows with the real clock; the test's clock must
	// not lag behind it.
	if real := time.Now(); real.After(w.now) {
		w.now = real
	}
	return keys
}

// pass runs one round of delivery at now+after.
func (w *world) pass(after time.Duration) {
	w.t.Helper()
	w.now = w.now.Add(after)
	if err := w.d.Pass(w.ctx, store.KindEmail); err != nil {
		w.t.Fatal(err)
	}
}

// mails is how many emails and entries (X-Fedmsg-Msg-Id headers) arrived.
func (w *world) mails() (mails, entries int) {
	for _, m := range w.smtp.Mails() {
		mails++
		entries += len(m.Header["X-Fedmsg-Msg-Id"])
	}
	return mails, entries
}

func (w *world) depth() map[store.State]int64 {
	w.t.Helper()
	d, err := w.st.QueueDepth(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

func TestSingleNotificationsGoOutAtOnce(t *testing.T) {
	w := newWorld(t, setup{})
	w.queue(3)
	w.pass(0)
	if m, e := w.mails(); m != 3 || e != 3 {
		t.Errorf("got %d mails with %d entries, want 3 single mails", m, e)
	}
	if d := w.depth(); d[store.StateSent] != 3 {
		t.Errorf("queue depth %v, want 3 sent", d)
	}
}

func TestBatchDeltaDigestWaitsForTheOldest(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.BatchDelta = 90 * time.Second }})
	w.queue(2)
	w.pass(30 * time.Second)
	w.queue(1)
	w.pass(59 * time.Second) // the oldest has waited 89 s
	if m, _ := w.mails(); m != 0 {
		t.Fatalf("%d mails before batch_delta passed", m)
	}
	w.pass(time.Second)
	if m, e := w.mails(); m != 1 || e != 3 {
		t.Errorf("got %d mails with %d entries after 90 s, want one digest of 3", m, e)
	}
}

func TestBatchCountSendsOneDigestPerCount(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.BatchCount = 3 }})
	w.queue(2)
	w.pass(0)
	if m, _ := w.mails(); m != 0 {
		t.Fatalf("%d mails with 2 of 3 queued", m)
	}
	w.queue(5)
	w.pass(0)
	if m, e := w.mails(); m != 2 || e != 6 {
		t.Errorf("got %d mails with %d entries from 7 queued, want 2 digests of 3", m, e)
	}
	if d := w.depth(); d[store.StateQueued] != 1 {
		t.Errorf("queue depth %v, want the 7th still queued", d)
	}
}

func TestOversizedDigestIsSplitNotCut(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.BatchCount = 5 }, mails: email.Options{MaxDigest: 2}})
	w.queue(5)
	w.pass(0)
	mails := w.smtp.Mails()
	if m, e := w.mails(); m != 3 || e != 5 {
		t.Fatalf("got %d mails with %d entries, want 5 entries in 3 parts", m, e)
	}
	if s := mails[2].Header.Get("Subject"); !strings.Contains(s, "part 3 of 3") {
		t.Errorf("last part's subject %q does not say part 3 of 3", s)
	}
}

func TestFloodTurnsAStormIntoADigest(t *testing.T) {
	w := newWorld(t, setup{opts: func(o *delivery.Options) {
		o.Flood = delivery.Flood{Rate: 3, Window: time.Minute, DigestFor: 10 * time.Minute}
	}})
	w.queue(10)
	w.pass(0)
	if m, _ := w.mails(); m != 3 {
		t.Fatalf("got %d mails, want the rate of 3 single mails", m)
	}
	w.pass(9 * time.Minute)
	if m, _ := w.mails(); m != 3 {
		t.Fatalf("got %d mails during the storm, want none more", m)
	}
	w.pass(time.Minute)
	mails := w.smtp.Mails()
	if m, e := w.mails(); m != 4 || e != 10 {
		t.Fatalf("got %d mails with %d entries, want the 7 others in one digest", m, e)
	}
	if body := mails[3].Text("text/plain"); !strings.Contains(body, "Flood control") {
		t.Errorf("the storm's digest does not say why:\n%s", body)
	}
	w.queue(1) // the storm is over: single mails again
	w.pass(0)
	if m, e := w.mails(); m != 5 || e != 11 {
		t.Errorf("got %d mails with %d entries, want a single mail after the storm", m, e)
	}
}

func TestRetryableFailureBacksOffThenDelivers(t *testing.T) {
	w := newWorld(t, setup{})
	w.queue(1)
	w.smtp.Refuse(451)
	w.pass(0)
	ns, err := w.st.ListNotifications(w.ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// Jitter 0.5 takes a quarter off the first backoff of one minute.
	// The store keeps milliseconds.
	if n := ns[0]; n.State != store.StateFailed || n.NextAttempt.Sub(w.now) <= 45*time.Second-time.Millisecond || n.NextAttempt.Sub(w.now) > 45*time.Second {
		t.Fatalf("after a 451: state %s, retry in %v; want failed, retry in 45s", n.State, n.NextAttempt.Sub(w.now))
	}
	w.smtp.Refuse(0)
	w.pass(44 * time.Second)
	if m, _ := w.mails(); m != 0 {
		t.Fatal("retried before the backoff ran out")
	}
	w.pass(time.Second)
	if m, _ := w.mails(); m != 1 {
		t.Errorf("got %d mails after the backoff, want 1", m)
	}
}

func TestDeadLetterAfterMaxAttemptsCanBeResent(t *testing.T) {
	w := newWorld(t, setup{})
	w.queue(1)
	w.smtp.Refuse(451)
	for range 3 {
		w.pass(time.Hour)
	}
	if d := w.depth(); d[store.StateDead] != 1 {
		t.Fatalf("queue depth %v after 3 failed attempts, want 1 dead", d)
	}
	w.smtp.Refuse(0)
	if n, err := w.d.Resend(w.ctx, nil); err != nil || n != 1 {
		t.Fatalf("Resend = %d, %v; want 1", n, err)
	}
	w.pass(0)
	if m, _ := w.mails(); m != 1 {
		t.Errorf("got %d mails after resending the dead letter, want 1", m)
	}
}

func TestPermanentFailuresDisableTheDestination(t *testing.T) {
	w := newWorld(t, setup{})
	w.smtp.Refuse(550)
	w.queue(4)
	w.pass(0)
	ds, err := w.st.ListDestinations(w.ctx, w.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ds[0].DisabledReason, "550") {
		t.Errorf("DisabledReason = %q, want the bounce", ds[0].DisabledReason)
	}
	if d := w.depth(); d[store.StateDead] != 3 || d[store.StateQueued] != 1 {
		t.Errorf("queue depth %v, want 3 dead (the bounces) and 1 left queued", d)
	}
}

func TestOnlyConfirmedEnabledDestinationsReceive(t *testing.T) {
	for _, tc := range []struct {
		name string
		dest func(*store.Destination)
	}{
		{"unconfirmed", func(d *store.Destination) { d.Confirmed = false }},
		{"disabled by its owner", func(d *store.Destination) { d.Enabled = false }},
		{"disabled by delivery", func(d *store.Destination) { d.DisabledReason = "bounced" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, setup{dest: tc.dest})
			w.queue(1)
			w.pass(0)
			if m, _ := w.mails(); m != 0 {
				t.Errorf("got %d mails", m)
			}
		})
	}
}

// TestDisabledUserReceivesNothingUntilEnabled: what is queued for a
// user an admin disabled (or whose account is gone) waits; enabled
// again, they get it.
func TestDisabledUserReceivesNothingUntilEnabled(t *testing.T) {
	w := newWorld(t, setup{})
	if err := w.st.SetUserDisabled(w.ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	w.queue(2)
	w.pass(0)
	w.pass(time.Hour)
	if m, _ := w.mails(); m != 0 {
		t.Errorf("disabled alice got %d mails", m)
	}
	if err := w.st.SetUserDisabled(w.ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	w.pass(0)
	if m, entries := w.mails(); m != 2 || entries != 2 {
		t.Errorf("enabled again: %d mails of %d entries, want the 2 held", m, entries)
	}
}

func TestUnsubscribeTokenTurnsOffItsFilterOnly(t *testing.T) {
	w := newWorld(t, setup{})
	token := w.d.UnsubscribeToken(w.user.ID, w.filter.ID, w.filter.Created)
	for _, bad := range []string{token[:len(token)-2] + "AA", "", "not-base64!",
		w.d.UnsubscribeToken(w.user.ID+1, w.filter.ID, w.filter.Created),
		w.d.UnsubscribeToken(w.user.ID, w.filter.ID, w.filter.Created.Add(time.Millisecond))} {
		if _, err := w.d.Unsubscribe(w.ctx, bad); err == nil {
			t.Errorf("Unsubscribe(%q) succeeded", bad)
		}
	}
	if id, err := w.d.Unsubscribe(w.ctx, token); err != nil || id != w.filter.ID {
		t.Fatalf("Unsubscribe = %d, %v; want filter %d", id, err, w.filter.ID)
	}
	fs, err := w.st.ListFilters(w.ctx, w.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].Active {
		t.Error("filter still active after unsubscribe")
	}
}

func TestConfirmationIsMailedAndRateLimited(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.Confirmed = false }})
	if err := w.d.SendConfirmation(w.ctx, w.dest); err != nil {
		t.Fatal(err)
	}
	m := w.smtp.Wait(1, 5*time.Second)[0]
	ds, _ := w.st.ListDestinations(w.ctx, w.user.ID)
	link := fmt.Sprintf("https://hark.example.org/confirm/%d/%s", w.dest.ID, ds[0].ConfirmCode)
	if body := m.Text("text/plain"); !strings.Contains(body, link) {
		t.Errorf("confirmation lacks %s:\n%s", link, body)
	}
	w.now = w.now.Add(time.Minute)
	if err := w.d.SendConfirmation(w.ctx, ds[0]); !errors.Is(err, delivery.ErrRateLimited) {
		t.Errorf("second confirmation a minute later: %v, want ErrRateLimited", err)
	}
	w.now = w.now.Add(10 * time.Minute)
	if err := w.d.SendConfirmation(w.ctx, ds[0]); err != nil {
		t.Errorf("confirmation 11 minutes later: %v", err)
	}
	if err := w.st.ConfirmDestination(w.ctx, w.dest.ID, ds[0].ConfirmCode, w.now); err == nil {
		t.Error("the replaced code still confirms")
	}
}

func TestTestNotificationIsSentAtOnce(t *testing.T) {
	w := newWorld(t, setup{})
	if err := w.d.SendTest(w.ctx, w.dest); err != nil {
		t.Fatal(err)
	}
	if body := w.smtp.Wait(1, 5*time.Second)[0].Text("text/plain"); !strings.Contains(body, "test notification") {
		t.Errorf("test notification body:\n%s", body)
	}
}

// A fedora-messaging message whose processor writes no body is mailed
// with fedora-messaging's base text, made from the stored envelope; one
// with a body is mailed with it.
func TestEmailBodyIsTheLongText(t *testing.T) {
	w := newWorld(t, setup{})
	for _, tc := range []struct {
		key, envelope string
		desc          meta.Description
	}{
		{"2026-fm-1", `{"topic":"org.fedoraproject.prod.acme.done","msg":{"n":1},"msg_id":"2026-fm-1","headers":{"fedora_messaging_schema":"base.message"}}`,
			meta.Description{App: "acme", Subtitle: "org.fedoraproject.prod.acme.done"}},
		{"2026-fm-2", `{"topic":"org.fedoraproject.prod.bodhi.update.comment","msg":{},"msg_id":"2026-fm-2","headers":{"fedora_messaging_schema":"bodhi.update.comment.v1"}}`,
			meta.Description{App: "bodhi", Subtitle: "bob commented", Body: "bob commented on FEDORA-1:\n\nship it"}},
	} {
		m, err := store.NewMessage(tc.key, "org.fedoraproject.prod.acme.done", float64(w.now.Unix()), []byte(tc.envelope), tc.desc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.st.Enqueue(w.ctx, []store.Accepted{{Message: m, Matches: []store.Match{{UserID: w.user.ID, DestinationID: w.dest.ID, FilterID: w.filter.ID}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if real := time.Now(); real.After(w.now) {
		w.now = real
	}
	w.pass(0)
	var bodies []string
	for _, m := range w.smtp.Mails() {
		bodies = append(bodies, m.Text("text/plain"))
	}
	all := strings.Join(bodies, "\n====\n")
	for _, want := range []string{
		"Id: 2026-fm-1\nTopic: org.fedoraproject.prod.acme.done\nHeaders: {\n    \"fedora_messaging_schema\": \"base.message\"\n}\nBody: {\n    \"n\": 1\n}",
		"bob commented on FEDORA-1:\n\nship it",
	} {
		if !strings.Contains(strings.ReplaceAll(all, "\r\n", "\n"), want) {
			t.Errorf("no mail says %q; mails:\n%s", want, all)
		}
	}
}

// TestDailyDigestWaitsForTheTimeOfDay: through the store and a real SMTP
// server, what is queued waits until the next 08:00 in alice's zone
// (Europe/Prague) and then goes out as one digest.
func TestDailyDigestWaitsForTheTimeOfDay(t *testing.T) {
	w := newWorld(t, setup{dest: func(d *store.Destination) { d.DigestAt = "08:00" }})
	w.queue(3)
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	at, err := schedule.Parse("08:00")
	if err != nil {
		t.Fatal(err)
	}
	eight := at.Next(w.now, loc)
	w.pass(eight.Add(-time.Second).Sub(w.now))
	w.queue(1)
	if m, _ := w.mails(); m != 0 {
		t.Fatalf("%d mails a second before 08:00 local", m)
	}
	w.pass(time.Second)
	if m, e := w.mails(); m != 1 || e != 4 {
		t.Errorf("got %d mails with %d entries at 08:00 local, want one digest of 4", m, e)
	}
	w.pass(time.Hour)
	if m, _ := w.mails(); m != 1 {
		t.Errorf("%d mails an hour later, want still the one digest", m)
	}
}

// TestQuietHoursHoldThenSendOneDigest: matches during alice's quiet
// hours (Europe/Prague) wait and go out as one digest when they end.
func TestQuietHoursHoldThenSendOneDigest(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(loc).Truncate(time.Minute)
	end := start.Add(2 * time.Hour)
	window := start.Add(-time.Minute).Format("15:04") + "-" + end.Format("15:04")
	w := newWorld(t, setup{dest: func(d *store.Destination) {
		if err := d.SetPreference("quiet_hours", window); err != nil {
			t.Fatal(err)
		}
	}})
	w.queue(2)
	w.pass(0)
	w.queue(1)
	w.pass(time.Hour)
	if m, _ := w.mails(); m != 0 {
		t.Fatalf("%d mails during quiet hours %s", m, window)
	}
	w.pass(end.Sub(w.now))
	if m, e := w.mails(); m != 1 || e != 3 {
		t.Fatalf("got %d mails with %d entries as quiet hours %s ended, want one digest of 3", m, e, window)
	}
	// What matches after them goes out as usual: see
	// TestQuietHoursEndForWhatCameAfter (the store stamps queued rows with
	// the real clock, which this test cannot move past their end).
}

// TestSnoozeKeepsThenDigestsOrDrops: while a destination is snoozed
// nothing goes out; at its end what matched meanwhile goes out as one
// digest, or is dropped (dead, with the reason) when the user chose so.
func TestSnoozeKeepsThenDigestsOrDrops(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(map[bool]string{false: "digest", true: "drop"}[drop], func(t *testing.T) {
			until := time.Now().Add(2 * time.Hour)
			w := newWorld(t, setup{dest: func(d *store.Destination) { d.SnoozeUntil, d.SnoozeDrop = until, drop }})
			w.queue(3)
			w.pass(0)
			w.pass(time.Hour)
			if m, _ := w.mails(); m != 0 {
				t.Fatalf("%d mails while snoozed", m)
			}
			w.pass(until.Sub(w.now))
			want, wantDead := 1, int64(0)
			if drop {
				want, wantDead = 0, 3
			}
			if m, e := w.mails(); m != want || e != 3*want {
				t.Errorf("got %d mails with %d entries as the snooze ended, want %d digest(s) of 3", m, e, want)
			}
			if d := w.depth(); d[store.StateDead] != wantDead || d[store.StateQueued] != 0 {
				t.Errorf("queue depth %v, want %d dropped and nothing left queued", d, wantDead)
			}
			// What matches after the snooze goes out at once: see
			// TestSnoozeEndsForWhatCameAfter (the store stamps queued rows
			// with the real clock, which this test cannot move past until).
		})
	}
}
