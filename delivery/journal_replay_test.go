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
