package main

import (
	"os"
	"testing"
	"time"

	"hark/internal/testpeer"
)

// TestServeOnPostgresEmailsEachNotificationOnce runs `hark serve` and
// the admin commands on PostgreSQL (store.url, here through
// HARK_STORE_URL): messages from the bus reach the SMTP server once each,
// and no SQLite file is made.
func TestServeOnPostgresEmailsEachNotificationOnce(t *testing.T) {
	t.Setenv("HARK_STORE_URL", testpeer.PostgresDB(t))
	svc, pub, smtp := mailService(t, tickFilter)
	const n = 5
	for i := range n {
		tick(t, pub, i)
	}
	mails := smtp.Wait(n, 30*time.Second)
	ids := msgIDs(mails)
	for i := range n {
		if ids[tickID(i)] != 1 {
			t.Errorf("%s mailed %d times, want once", tickID(i), ids[tickID(i)])
		}
	}
	svc.eventually(t, "the notifications are marked sent", func() bool {
		sent := 0
		for _, nt := range listNotifications(t) {
			if nt.State == "sent" {
				sent++
			}
		}
		return sent == n
	})
	if _, err := os.Stat(svc.db); !os.IsNotExist(err) {
		t.Errorf("a SQLite file was made beside a PostgreSQL store: %v", err)
	}
}
