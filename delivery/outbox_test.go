package delivery_test

import (
	"strings"
	"testing"
	"time"

	"hark/store"
)

// TestOutboxSendsWhatIsStillMeant queues a send as the settings service
// does and passes over the outbox: what still means something is
// mailed, the rest is dropped unsent, and either way the outbox is empty
// after.
func TestOutboxSendsWhatIsStillMeant(t *testing.T) {
	for _, tc := range []struct {
		name      string
		confirmed bool
		code      bool // the destination has an unexpired code
		what      store.SendWhat
		mail      string // in the mail; "" for none
	}{
		{"a confirmation with its code", false, true, store.SendConfirmation, "/confirm/"},
		{"a confirmation of a destination confirmed meanwhile", true, false, store.SendConfirmation, ""},
		{"a confirmation whose code expired", false, false, store.SendConfirmation, ""},
		{"a test to a confirmed destination", true, false, store.SendTest, "test notification"},
		{"a test to a destination no longer confirmed", false, false, store.SendTest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, setup{dest: func(d *store.Destination) {
				d.Confirmed = tc.confirmed
				if tc.code {
					d.ConfirmCode, d.ConfirmExpires = "k7q2zpabcd", time.Now().Add(time.Hour)
				}
			}})
			if _, err := w.st.QueueSend(w.ctx, store.Send{DestinationID: w.dest.ID, What: tc.what}); err != nil {
				t.Fatal(err)
			}
			w.now = w.now.Add(time.Second)
			if err := w.d.SendQueued(w.ctx); err != nil {
				t.Fatal(err)
			}
			if tc.mail == "" {
				if n := len(w.smtp.Mails()); n != 0 {
					t.Errorf("%d mails, want none", n)
				}
			} else if body := w.smtp.Wait(1, 5*time.Second)[0].Text("text/plain"); !strings.Contains(body, tc.mail) {
				t.Errorf("mail lacks %q:\n%s", tc.mail, body)
			}
			if left, _ := w.st.ClaimSends(w.ctx, []string{store.KindEmail}, w.now.Add(time.Hour), time.Minute, 10); len(left) != 0 {
				t.Errorf("left in the outbox: %+v", left)
			}
		})
	}
}

// TestOutboxRetriesAFailedSendUntilMaxAttempts has the mail server down
// for two tries of a queued test: it is tried again after each lease,
// sent on the third try when the server is back, and given up after
// that third (Retry.MaxAttempts) when it is not. After each try the
// destination shows the last problem to its owner, until one succeeds.
func TestOutboxRetriesAFailedSendUntilMaxAttempts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		back  bool // the server is back for the third try
		mails int
	}{
		{"the server comes back", true, 1},
		{"the server stays down", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, setup{})
			if _, err := w.st.QueueSend(w.ctx, store.Send{DestinationID: w.dest.ID, What: store.SendTest}); err != nil {
				t.Fatal(err)
			}
			w.smtp.Stop()
			for try := 1; try <= 3; try++ {
				if try == 3 && tc.back {
					w.smtp.Restart()
				}
				w.now = w.now.Add(time.Minute) // past the lease of the last try
				if err := w.d.SendQueued(w.ctx); err != nil {
					t.Fatal(err)
				}
				d, err := w.st.DestinationByID(w.ctx, w.dest.ID)
				if err != nil {
					t.Fatal(err)
				}
				p, sent := d.LastProblem, try == 3 && tc.back
				switch {
				case sent && !p.IsZero():
					t.Errorf("try %d: sent, yet the destination shows the problem %+v", try, p)
				case !sent && (p.What != store.SendTest || p.Attempts != try || p.GaveUp != (try == 3) || !p.At.Equal(w.now.Truncate(time.Millisecond)) || p.Words == ""):
					t.Errorf("try %d: last problem %+v, want the test's attempt %d at %v with words, given up only on the third", try, p, try, w.now)
				}
			}
			if n := len(w.smtp.Mails()); n != tc.mails {
				t.Errorf("%d mails, want %d", n, tc.mails)
			}
			if left, _ := w.st.ClaimSends(w.ctx, []string{store.KindEmail}, w.now.Add(time.Hour), time.Minute, 10); len(left) != 0 {
				t.Errorf("left in the outbox after three tries: %+v", left)
			}
		})
	}
}
