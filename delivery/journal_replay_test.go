package delivery_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"hark/delivery"
	"hark/schedule"
	"hark/store"
	"hark/store/sqlite"
)

// noter is the store with delivery.SentNoter: it keeps what it was told.
type noter struct {
	*sqlite.SQLite
	ids     []int64
	details []string
}

func (n *noter) MarkSentNoted(ctx context.Context, ids []int64, detail string, now time.Time) error {
	n.ids = append(n.ids, ids...)
	n.details = append(n.details, detail)
	return n.SQLite.MarkSentNoted(ctx, ids, detail, now)
}

func (w *world) journalPath() string { return filepath.Join(w.dir, "hark.db-sent."+store.KindEmail) }

// TestRestartMarksWhatTheJournalHoldsInsteadOfSendingAgain plays a
// process killed mid-claim: of four notifications it claimed, the first
// was sent and marked, two were sent (journaled) but not marked, the last
// was never handed over. Once the lease runs out, only the last is sent.
func TestRestartMarksWhatTheJournalHoldsInsteadOfSendingAgain(t *testing.T) {
	var n *noter
	w := newWorld(t, setup{opts: func(o *delivery.Options) {
		n = &noter{SQLite: o.Store.(*sqlite.SQLite)}
		o.Store = n
	}})
	w.queue(4)
	ns, err := w.st.Claim(w.ctx, w.dest.ID, w.now, 15*time.Second, 4)
	if err != nil || len(ns) != 4 {
		t.Fatalf("claim = %d, %v", len(ns), err)
	}
	if err := w.st.MarkSent(w.ctx, []int64{ns[0].ID}, w.now); err != nil {
		t.Fatal(err)
	}
	if err := delivery.WriteSentJournal(w.journalPath(), []int64{ns[0].ID, ns[1].ID}, w.now); err != nil {
		t.Fatal(err)
	}
	if err := delivery.WriteSentJournal(w.journalPath(), []int64{ns[2].ID}, w.now); err != nil {
		t.Fatal(err)
	}

	w.pass(16 * time.Second)
	if got := w.smtp.Mails(); len(got) != 1 || got[0].Header.Get("X-Fedmsg-Msg-Id") != ns[3].MsgKey {
		t.Errorf("after the restart %d mails went out, want only %s's", len(got), ns[3].MsgKey)
	}
	if d := w.depth(); d[store.StateSent] != 4 {
		t.Errorf("queue depth %v, want 4 sent", d)
	}
	if !slices.Equal(n.ids, []int64{ns[1].ID, ns[2].ID}) || n.details[0] != delivery.ReplayDetail {
		t.Errorf("the journal marked %v with %q, want the two unmarked sends with its own detail", n.ids, n.details)
	}
	log, err := w.st.DeliveryLog(w.ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	marks, noted := 0, 0
	for _, e := range log {
		if e.NotificationID == ns[0].ID {
			marks++
		}
		if e.Outcome == store.StateSent && e.Detail == delivery.ReplayDetail {
			noted++
		}
	}
	if noted != 2 {
		t.Errorf("%d log rows say the journal recorded them, want 2", noted)
	}
	if marks != 1 {
		t.Errorf("the send marked before the crash has %d log rows, want 1", marks)
	}
	if fi, err := os.Stat(w.journalPath()); err != nil || fi.Size() != 0 {
		t.Errorf("journal after the replay: %v, %v; want an empty file", fi, err)
	}
}

// refusedAtEndOfData plays a server that has the whole message and then
// refuses it (a content filter, a full queue): the hand-off happened, the
// send failed. The SMTP test server refuses recipients only.
type refusedAtEndOfData struct{}

func (refusedAtEndOfData) Send(_ context.Context, b *delivery.Batch) (bool, error) {
	b.Handed()
	return true, errors.New("451 4.3.0 queue full, try again later")
}

func TestSendRefusedAfterItsHandOffIsNotJournaledAsSent(t *testing.T) {
	w := newWorld(t, setup{opts: func(o *delivery.Options) {
		o.Senders = delivery.Senders{store.KindEmail: refusedAtEndOfData{}}
	}})
	w.queue(1)
	w.pass(0)
	if d := w.depth(); d[store.StateFailed] != 1 {
		t.Errorf("queue depth %v, want the refused notification failed", d)
	}
	if fi, err := os.Stat(w.journalPath()); err != nil || fi.Size() != 0 {
		t.Errorf("journal after the refusal: %v, %v; want an empty file, so a restart does not mark it sent", fi, err)
	}
}

func TestNothingIsSentWithoutAWritableJournal(t *testing.T) {
	w := newWorld(t, setup{opts: func(o *delivery.Options) {
		o.SentJournal = filepath.Join(o.SentJournal, "no such directory", "sent")
	}})
	w.queue(1)
	if err := w.d.Pass(w.ctx, store.KindEmail); err == nil {
		t.Error("a pass with no journal to write succeeded")
	}
	if m, _ := w.mails(); m != 0 {
		t.Errorf("%d mails sent without a journal", m)
	}
}

// TestDailyDigestKilledMidSendGoesOutOnce plays hark killed at 08:00
// local while the daily digest of alice (Europe/Prague) was being made:
// with nothing handed to the server yet, the restart sends the whole
// digest once; with the digest handed over and journaled but not marked,
// the restart sends nothing more. Either way every entry is sent once.
func TestDailyDigestKilledMidSendGoesOutOnce(t *testing.T) {
	for _, handed := range []bool{false, true} {
		t.Run(map[bool]string{false: "while assembling", true: "after handing it over"}[handed], func(t *testing.T) {
			w := newWorld(t, setup{dest: func(d *store.Destination) { d.DigestAt = "08:00" }})
			w.queue(5)
			loc, err := time.LoadLocation("Europe/Prague")
			if err != nil {
				t.Fatal(err)
			}
			at, err := schedule.Parse("08:00")
			if err != nil {
				t.Fatal(err)
			}
			w.now = at.Next(w.now, loc)
			ns, err := w.st.Claim(w.ctx, w.dest.ID, w.now, 15*time.Second, 5)
			if err != nil || len(ns) != 5 {
				t.Fatalf("claim = %d, %v", len(ns), err)
			}
			want := 1
			if handed {
				var ids []int64
				for _, n := range ns {
					ids = append(ids, n.ID)
				}
				if err := delivery.WriteSentJournal(w.journalPath(), ids, w.now); err != nil {
					t.Fatal(err)
				}
				want = 0 // the killed process's digest is the one
			}
			w.pass(16 * time.Second)
			w.pass(time.Hour)
			if m, e := w.mails(); m != want || e != 5*want {
				t.Errorf("after the restart %d mails with %d entries, want %d digest(s) of 5", m, e, want)
			}
			if d := w.depth(); d[store.StateSent] != 5 {
				t.Errorf("queue depth %v, want all 5 sent once", d)
			}
		})
	}
}

// TestRestartReplaysTheStoreJournal is a process killed mid-claim with
// its sent journal in PostgreSQL: of three notifications it claimed, two
// were handed over and journaled, not marked. Its restart marks those
// sent, sends only the third, and leaves no record behind.
func TestRestartReplaysTheStoreJournal(t *testing.T) {
	w := newWorld(t, setup{postgres: true, opts: func(o *delivery.Options) {
		o.JournalStore, o.SentJournal = o.Store.(store.SentJournal), ""
	}})
	w.queue(3)
	ns, err := w.st.Claim(w.ctx, w.dest.ID, w.now, 15*time.Second, 3)
	if err != nil || len(ns) != 3 {
		t.Fatalf("claim = %d, %v", len(ns), err)
	}
	for _, ids := range [][]int64{{ns[0].ID}, {ns[1].ID}} {
		if _, err := w.st.AppendSent(w.ctx, "default", store.KindEmail, ids, w.now); err != nil {
			t.Fatal(err)
		}
	}
	w.pass(16 * time.Second)
	if got := w.smtp.Mails(); len(got) != 1 || got[0].Header.Get("X-Fedmsg-Msg-Id") != ns[2].MsgKey {
		t.Errorf("after the restart %d mails went out, want only %s's", len(got), ns[2].MsgKey)
	}
	if d := w.depth(); d[store.StateSent] != 3 {
		t.Errorf("queue depth %v, want 3 sent", d)
	}
	if recs, err := w.st.SentRecords(w.ctx, "default", store.KindEmail); err != nil || len(recs) != 0 {
		t.Errorf("journal after the replay and a send: %+v, %v; want no record", recs, err)
	}
}
