package main

import (
	"strings"
	"testing"
	"time"

	"hark/app/hark"
)

// TestServeDailyDigestExactlyOnceAcrossKill9 kills hark serve with
// SIGKILL while it sends a daily digest: 450 matches wait for the digest
// time (digest_at two hours ahead, UTC), hark serve restarts with its
// delivery clock three hours ahead (HARK_TEST_CLOCK_SHIFT, for tests
// only) so the time has come, and is killed as the first of the digest's
// three mails (200 entries a mail) arrives at a slow SMTP server. After
// a restart, the digest's entries have all arrived, each exactly once,
// in as many mails as one digest of 450 takes.
func TestServeDailyDigestExactlyOnceAcrossKill9(t *testing.T) {
	at := time.Now().UTC().Add(2 * time.Hour).Format("15:04")
	svc, pub, smtp := mailService(t, tickFilter, "digest_at="+at)
	const n = 450
	for i := range n {
		tick(t, pub, i)
		time.Sleep(time.Millisecond) // the stream's pace
	}
	svc.eventually(t, "all 450 matches are queued", func() bool { return len(listNotifications(t)) == n })
	if got := len(smtp.Mails()); got != 0 {
		t.Fatalf("%d mails before the digest time %s UTC", got, at)
	}
	svc.kill(t)

	smtp.SlowReplies(time.Second)
	t.Setenv(hark.TestClockEnv, "3h")
	svc.start(t)
	svc.eventually(t, "the digest's first mail arrives", func() bool { return len(smtp.Mails()) > 0 })
	svc.kill(t)
	before := len(smtp.Mails())
	if before >= 3 {
		t.Fatalf("%d mails before the kill: the whole digest went out before it", before)
	}
	smtp.SlowReplies(0)
	svc.start(t)

	deadline := time.Now().Add(60 * time.Second) // a lease of 15 s, and the sends
	for {
		sent := 0
		for _, c := range listNotifications(t) {
			if c.State == "sent" {
				sent++
			}
		}
		if sent == n {
			break
		}
		if time.Now().After(deadline) {
			svc.kill(t)
			t.Fatalf("%d of %d sent after 60 s:\n%s", sent, n, svc.log)
		}
		time.Sleep(100 * time.Millisecond) // between two polls
	}
	svc.stop(t)
	mails := smtp.Mails()
	ids := msgIDs(mails)
	for i := range n {
		if c := ids[tickID(i)]; c != 1 {
			t.Errorf("%s arrived %d times, want once", tickID(i), c)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct entries arrived, want %d", len(ids), n)
	}
	for _, m := range mails {
		if len(m.Header["X-Fedmsg-Msg-Id"]) < 2 || !strings.Contains(m.Header.Get("Subject"), "part") {
			t.Errorf("mail %q with %d entries is not a part of the digest", m.Header.Get("Subject"), len(m.Header["X-Fedmsg-Msg-Id"]))
		}
	}
	if len(mails) != 3 {
		t.Errorf("%d mails, want the 3 that one digest of %d takes", len(mails), n)
	}
	t.Logf("%d mails: %d before the kill, the rest after the restart", len(mails), before)
}
