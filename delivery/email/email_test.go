package email

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/internal/testpeer"
	"hark/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// item is a real bus message's notification (bodhi, from the samples).
func item(n int) delivery.Item {
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	return delivery.Item{
		NotificationID: int64(n), MsgID: "2026-0000000" + string(rune('0'+n)),
		Topic: "org.fedoraproject.prod.bodhi.update.comment", App: "bodhi", Title: "bodhi.update.comment",
		Subtitle: "ralph commented on bodhi update fedmsg-0.5.2-1.fc17 (karma: 1)",
		Link:     "https://bodhi.fedoraproject.org/updates/fedmsg-0.5.2-1.fc17", Agent: "ralph",
		Usernames: []string{"ralph", "lmacken"}, Packages: []string{"fedmsg"},
		Time: at.Add(time.Duration(n) * time.Minute), Queued: at.Add(time.Duration(n)*time.Minute + time.Second),
		FilterID: 7, FilterName: "my packages", FilterLink: "https://hark.example.org/filters/7",
		Unsubscribe: "https://hark.example.org/unsubscribe/TOKEN",
		HistoryLink: "https://hark.example.org/history#n-" + string(rune('0'+n)),
		NotLikeThis: "https://hark.example.org/notifications/" + string(rune('0'+n)) + "/exclude",
	}
}

func batch(digest delivery.DigestReason, verbose bool, n int) *delivery.Batch {
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		panic(err)
	}
	b := &delivery.Batch{User: "ralph", Location: loc, Digest: digest, Verbose: verbose,
		Destination: store.Destination{ID: 3, Kind: store.KindEmail, Address: "ralph@example.org"}}
	for i := range n {
		b.Items = append(b.Items, item(i+1))
	}
	return b
}

func TestRenderMatchesGolden(t *testing.T) {
	late := batch(delivery.NotDigest, false, 1)
	late.Items[0].Queued = late.Items[0].Time.Add(3 * time.Hour)
	flood := batch(delivery.DigestFlood, false, 3)
	flood.FloodUntil = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	split := batch(delivery.DigestBatched, false, 2)
	split.Part, split.Parts = 2, 3
	mixed := batch(delivery.DigestBatched, true, 2)
	mixed.Items[1].FilterID, mixed.Items[1].FilterName, mixed.Items[1].FilterLink = 8, "mentions", "https://hark.example.org/filters/8"
	mixed.Items[1].Unsubscribe = "https://hark.example.org/unsubscribe/OTHER"
	mixed.Items[1].Packages = []string{"python-fedmsg-meta"}
	mixed.Items[1].Body = "ralph commented on bodhi update fedmsg-0.5.2-1.fc17 (karma: 1)\n\nlooks good"
	withBody := batch(delivery.NotDigest, false, 1)
	withBody.Items[0].Body = "ralph commented on bodhi update fedmsg-0.5.2-1.fc17 (karma: 1)\n\nlooks good"
	for _, tc := range []struct {
		name string
		b    *delivery.Batch
	}{
		{"single", batch(delivery.NotDigest, false, 1)},
		{"single-late", late},
		{"single-body", withBody},
		{"digest-terse", batch(delivery.DigestBatched, false, 3)},
		{"digest-verbose-two-filters", mixed},
		{"digest-flood", flood},
		{"digest-part", split},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMailer(t, Options{Host: "localhost", TLS: TLSNone, From: "hark@example.org"})
			msg, err := m.Message(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			subject, body, err := m.Render(map[bool]string{true: "single", false: "digest"}[tc.b.Digest == delivery.NotDigest], tc.b)
			if err != nil {
				t.Fatal(err)
			}
			got := "Subject: " + subject + "\r\nX-Fedmsg-Topic: " + Headers(tc.b) + "\r\n" +
				"List-Unsubscribe: " + strings.Join(msg.GetGenHeader("List-Unsubscribe"), ",") + "\r\n\r\n" + body
			golden(t, tc.name+".golden", strings.ReplaceAll(got, "\r\n", "\n"))
		})
	}
}

func TestRenderConfirmationMatchesGolden(t *testing.T) {
	m := mustMailer(t, Options{Host: "localhost", TLS: TLSNone, From: "hark@example.org"})
	subject, body, err := m.Render("confirm", &delivery.Confirmation{
		User: "ralph", Destination: store.Destination{ID: 3, Kind: store.KindEmail, Address: "ralph@example.org"},
		Code: "abcdefghjk", Link: "https://hark.example.org/confirm/3/abcdefghjk",
		Expires: time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC), Location: time.UTC,
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "confirm.golden", "Subject: "+subject+"\n\n"+body)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./delivery/email -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func mustMailer(t testing.TB, o Options) *Mailer {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func smtpMailer(t testing.TB, srv *testpeer.SMTP) *Mailer {
	return mustMailer(t, Options{Host: srv.Host, Port: srv.Port, TLS: TLSNone, From: "hark@example.org", Timeout: 5 * time.Second})
}

func TestSendCarriesHeadersSubjectAndBody(t *testing.T) {
	srv := testpeer.StartSMTP(t)
	m := smtpMailer(t, srv)
	if _, err := m.Send(context.Background(), batch(delivery.NotDigest, false, 1)); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(1, 5*time.Second)[0]
	for name, want := range map[string]string{
		"Subject":               "ralph commented on bodhi update fedmsg-0.5.2-1.fc17 (karma: 1)",
		"X-Fedmsg-Topic":        "org.fedoraproject.prod.bodhi.update.comment",
		"X-Fedmsg-Category":     "bodhi",
		"X-Fedmsg-Package":      "fedmsg",
		"X-Fedmsg-Msg-Id":       "2026-00000001",
		"Auto-Submitted":        "auto-generated",
		"Precedence":            "bulk",
		"List-Unsubscribe":      "<https://hark.example.org/unsubscribe/TOKEN>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"To":                    "<ralph@example.org>",
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if u := got.Header["X-Fedmsg-Username"]; strings.Join(u, ",") != "ralph,lmacken" {
		t.Errorf("X-Fedmsg-Username = %q, want one header each for ralph and lmacken", u)
	}
	body := got.Text("text/plain")
	for _, want := range []string{"When:     Sat 2026-03-14 10:27:53 CET (+01:00)", `Sent by your filter "my packages": https://hark.example.org/filters/7`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestDigestCarriesOneHeaderPerMessage(t *testing.T) {
	srv := testpeer.StartSMTP(t)
	m := smtpMailer(t, srv)
	if _, err := m.Send(context.Background(), batch(delivery.DigestBatched, false, 3)); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(1, 5*time.Second)[0]
	if ids := got.Header["X-Fedmsg-Msg-Id"]; len(ids) != 3 {
		t.Errorf("X-Fedmsg-Msg-Id = %q, want 3 headers", ids)
	}
	if topics := got.Header["X-Fedmsg-Topic"]; len(topics) != 1 {
		t.Errorf("X-Fedmsg-Topic = %q, want the one distinct topic", topics)
	}
}

func TestHeaderValuesCannotInjectHeaders(t *testing.T) {
	b := batch(delivery.NotDigest, false, 1)
	b.Items[0].Usernames = []string{"eve\r\nBcc: victim@example.org", "zbyněk"}
	h := Headers(b)
	if strings.Contains(h, "\nBcc") {
		t.Errorf("a username broke the header block:\n%s", h)
	}
	if !strings.Contains(h, "X-Fedmsg-Username: =?utf-8?q?zbyn=C4=9Bk?=") {
		t.Errorf("a non-ASCII username is not RFC 2047-encoded:\n%s", h)
	}
}

// TestSendReportsWhetherRetryCanHelp also checks the hand-off (delivery's
// sent journal): once for a message the server got all of, never for one
// it refused before the data.
func TestSendReportsWhetherRetryCanHelp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refuse    int
		down      bool
		fails     bool
		retryable bool
	}{
		{"accepted", 0, false, false, false},
		{"server down", 0, true, true, true},
		{"temporary refusal", 451, false, true, true},
		{"unknown mailbox", 550, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testpeer.StartSMTP(t)
			srv.Refuse(tc.refuse)
			if tc.down {
				srv.Stop()
			}
			m := smtpMailer(t, srv)
			msg, err := m.Message(batch(delivery.NotDigest, false, 1))
			if err != nil {
				t.Fatal(err)
			}
			handed := 0
			retryable, err := m.send(context.Background(), msg, func() { handed++ })
			if (err != nil) != tc.fails || retryable != tc.retryable {
				t.Errorf("send = %v, %v; want failure %v with retryable %v", retryable, err, tc.fails, tc.retryable)
			}
			if want := map[bool]int{false: 1, true: 0}[tc.fails]; handed != want {
				t.Errorf("%d hand-offs, want %d", handed, want)
			}
		})
	}
}

func TestBurstReusesOneConnection(t *testing.T) {
	srv := testpeer.StartSMTP(t)
	m := smtpMailer(t, srv)
	for range 5 {
		if _, err := m.Send(context.Background(), batch(delivery.NotDigest, false, 1)); err != nil {
			t.Fatal(err)
		}
	}
	srv.Wait(5, 5*time.Second)
	if n := srv.Connections(); n != 1 {
		t.Errorf("5 mails used %d connections, want 1", n)
	}
}

func TestSendRedialsAfterTheServerDroppedAnIdleConnection(t *testing.T) {
	srv := testpeer.StartSMTP(t)
	m := smtpMailer(t, srv)
	if _, err := m.Send(context.Background(), batch(delivery.NotDigest, false, 1)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Restart()
	if _, err := m.Send(context.Background(), batch(delivery.NotDigest, false, 1)); err != nil {
		t.Fatalf("send after the server restarted: %v", err)
	}
	srv.Wait(2, 5*time.Second)
}
