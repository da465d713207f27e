package delivery_test

import (
	"path/filepath"
	"testing"
	"time"

	"hark/delivery"
	"hark/delivery/email"
	"hark/store"
)

// worker is a delivery process named instance on w's store and SMTP
// server, sharing the destinations by leases of 10 s on 4 partitions, on
// w's clock.
func (w *world) worker(instance string) *delivery.Deliverer {
	return w.workerWith(instance, func(o *delivery.Options) {
		journal := func(name string) string { return filepath.Join(w.dir, "hark.db-sent-"+name) }
		o.SentJournal, o.PeerJournal = journal(instance), journal
	})
}

// storeJournalWorker is worker with its sent journals in the store, as
// hark serve runs on PostgreSQL.
func (w *world) storeJournalWorker(instance string) *delivery.Deliverer {
	return w.workerWith(instance, func(o *delivery.Options) { o.JournalStore = w.st })
}

func (w *world) workerWith(instance string, journal func(*delivery.Options)) *delivery.Deliverer {
	w.t.Helper()
	mailer, err := email.New(email.Options{Host: w.smtp.Host, Port: w.smtp.Port, TLS: email.TLSNone, From: "hark@example.org", Timeout: 5 * time.Second})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { mailer.Close() })
	o := delivery.Options{
		Store: w.st, Senders: delivery.Senders{store.KindEmail: mailer}, BaseURL: "https://hark.example.org/",
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return w.now },
		Leases: w.st, Instance: instance, Partitions: 4, Lease: 10 * time.Second,
	}
	journal(&o)
	d, err := delivery.New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// heldBy counts the partitions each owner holds at w's now.
func (w *world) heldBy() map[string]int {
	w.t.Helper()
	ls, err := w.st.ListLeases(w.ctx, "delivery:")
	if err != nil {
		w.t.Fatal(err)
	}
	held := map[string]int{}
	for _, l := range ls {
		if l.Held(w.now) {
			held[l.Owner]++
		}
	}
	return held
}

func round(t *testing.T, w *world, ds ...*delivery.Deliverer) {
	t.Helper()
	for _, d := range ds {
		if err := d.KeepRound(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWorkersSplitThePartitionsFairly(t *testing.T) {
	w := newWorld(t, setup{})
	a, b := w.worker("a"), w.worker("b")
	round(t, w, a)
	if held := w.heldBy(); held["a"] != 4 {
		t.Fatalf("a alone holds %v, want all 4 partitions", held)
	}
	// b comes: a gives up b's share, b takes it.
	round(t, w, b, a, b)
	if held := w.heldBy(); held["a"] != 2 || held["b"] != 2 {
		t.Errorf("a and b hold %v, want 2 each", held)
	}
	// Renewals keep it so.
	w.now = w.now.Add(5 * time.Second)
	round(t, w, a, b)
	w.now = w.now.Add(6 * time.Second)
	if held := w.heldBy(); held["a"] != 2 || held["b"] != 2 {
		t.Errorf("after renewals a and b hold %v, want 2 each", held)
	}
}

// TestTakeoverReplaysThePredecessorsSentJournal has worker a killed right
// after its medium took a notification, before it marked it sent: b
// takes a's partition over once a's lease lapsed, finds the send in a's
// journal, marks it sent and does not send it again; a, were it only
// paused, is fenced off. The journal is a file beside SQLite, or rows of
// PostgreSQL (where b may run on another machine than a).
func TestTakeoverReplaysThePredecessorsSentJournal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		postgres bool
		worker   func(w *world, instance string) *delivery.Deliverer
		journal  func(w *world, ids []int64) error // a's record of ids
	}{
		{"file on SQLite", false, (*world).worker, func(w *world, ids []int64) error {
			return delivery.WriteSentJournal(filepath.Join(w.dir, "hark.db-sent-a.email"), ids, w.now)
		}},
		{"store on PostgreSQL", true, (*world).storeJournalWorker, func(w *world, ids []int64) error {
			_, err := w.st.AppendSent(w.ctx, "a", store.KindEmail, ids, w.now)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, setup{postgres: tc.postgres})
			a, b := tc.worker(w, "a"), tc.worker(w, "b")
			round(t, w, a)
			w.queue(1)
			leases, err := w.st.ListLeases(w.ctx, "delivery:")
			if err != nil {
				t.Fatal(err)
			}
			var fence store.Fence
			for _, l := range leases {
				if l.Name == "delivery:1" { // alice's destination is id 1
					fence = store.Fence{Lease: l.Name, Token: l.Token}
				}
			}
			aCtx := store.WithFence(w.ctx, fence)
			ns, err := w.st.Claim(aCtx, w.dest.ID, w.now, 15*time.Second, 10)
			if err != nil || len(ns) != 1 {
				t.Fatalf("a's claim: %+v, %v", ns, err)
			}
			if err := tc.journal(w, []int64{ns[0].ID}); err != nil {
				t.Fatal(err)
			}
			// a is gone: its leases and its claim lapse.
			w.now = w.now.Add(20 * time.Second)
			round(t, w, b)
			if held := w.heldBy(); held["b"] != 4 {
				t.Fatalf("b holds %v after a lapsed, want all 4 partitions", held)
			}
			if err := b.Pass(w.ctx, store.KindEmail); err != nil {
				t.Fatal(err)
			}
			n, err := w.st.NotificationByID(w.ctx, ns[0].ID)
			if err != nil || n.State != store.StateSent {
				t.Errorf("the notification a's journal holds: %+v, %v; want sent", n, err)
			}
			if mails, _ := w.mails(); mails != 0 {
				t.Errorf("%d mails sent again; the journal said the medium had it", mails)
			}
			if err := w.st.MarkFailed(aCtx, []int64{ns[0].ID}, "late", w.now, w.now); err == nil {
				t.Error("a, paused past its lease, still recorded an outcome")
			}
		})
	}
}
