package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hark/internal/testpeer"
)

// audit runs axe-core inside the page shown and fails the test on any
// serious or critical accessibility violation, naming each with the
// elements at fault.
func (b *browser) audit(name string) {
	b.t.Helper()
	b.do("load axe-core on "+name, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](b.axe+"\n;window.harkAxe = ''; true"))
		return err
	}))
	b.do("run axe-core on "+name, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`axe.run(document, {resultTypes: ["violations"]}).then((r) => {
  window.harkAxe = JSON.stringify(r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" "))})));
}); true`))
		return err
	}))
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Poll[string]("window.harkAxe"))
	if err != nil {
		b.t.Fatalf("axe-core on %s: %v", name, err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		b.t.Fatalf("axe-core on %s: %v in %s", name, err, out)
	}
	for _, v := range violations {
		b.t.Errorf("axe-core, %s page: %s violation %s (%s) at %s", name, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
	}
}

// page saves a screenshot of the page shown and audits it.
func (b *browser) page(name string) {
	b.t.Helper()
	b.shot(name)
	b.audit(name)
}

var notLikeThisLink = regexp.MustCompile(`https?://[^\s"<>]+/notifications/[0-9]+/exclude`)

// comment is a bodhi comment by bob on alice's update of pkg.
func comment(t *testing.T, pub *testpeer.Pub, id, pkg string) {
	t.Helper()
	nvr := pkg + "-1.0-1.fc44"
	pub.Send(frames(t, map[string]any{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": id, "timestamp": time.Now().Unix(),
		"msg": map[string]any{"comment": map[string]any{"user": map[string]any{"name": "bob"}, "text": "works for me",
			"update": map[string]any{"title": nvr, "alias": "FEDORA-2026-" + pkg, "user": map[string]any{"name": "alice"},
				"builds": []any{map[string]any{"nvr": nvr}}}}}})...)
}

// TestBrowserFirstTimeUser drives headless Chromium as a first-time user
// at phone and desktop widths: log in, make a filter from a template and
// the app picker without typing a topic or app, preview it, get a bus
// message by email, follow the email's "not like this" link, see what
// the exclusion would stop, confirm it, and find that the next such
// message is not sent while another still is. Every page is audited by
// axe-core and saved as a screenshot in $HARK_ARTIFACTS (or a temporary
// directory named in the log), one directory per width.
func TestBrowserFirstTimeUser(t *testing.T) {
	for _, width := range []int64{400, 1280} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) { firstTimeUser(t, width) })
	}
}

func firstTimeUser(t *testing.T, width int64) {
	testpeer.RequireZMQ(t)
	axe := testpeer.AxeJS(t)
	ctx := testpeer.Chromium(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	svc := newService(t, pub.Endpoint, mailConfig(smtp, ""))
	adminMust(t, "", "user", "add", "alice", "--email", "alice@example.org", "--confirmed", "--admin")
	adminMust(t, "correct horse battery\n", "user", "passwd", "alice")
	svc.start(t)
	base := "http://" + svc.web
	dir := os.Getenv("HARK_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, fmt.Sprintf("first-time-user-%dpx", width))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	b := &browser{t: t, ctx: ctx, base: base, dir: dir, axe: axe}
	b.do("set width", chromedp.EmulateViewport(width, 900))

	b.do("open login", chromedp.Navigate(base+"/filters"), chromedp.WaitVisible(chromedp.CSS("#username")))
	b.page("login")
	b.do("type credentials",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"))
	b.submit("log in", "#login")
	b.expect("Filters")
	b.do("see Admin and the user name in the header", chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`header .logout span`)))
	b.page("filters")

	b.do("choose a template", chromedp.Click(chromedp.CSS(`input[name="template"][value="update-comments"]`)))
	b.submit("create filter from template", "#create-filter")
	b.expect(`Filter "Comments on my updates" created.`)
	b.do("see destination ticked", chromedp.WaitVisible(chromedp.CSS(`#choose-destinations input[name="destination"]:checked`)))
	b.page("editor-from-template")
	b.do("pick application", chromedp.SetValue(chromedp.CSS("#pick-app"), "bodhi"))
	b.submit("add picked rule", "#pick-rule-button")
	b.expect("Rule added.")
	b.expect("Application")
	b.page("editor-picked")

	b.submit("open preview", "#preview")
	b.expect("Preview: Comments on my updates")
	b.page("preview")
	for _, p := range []string{"destinations", "history", "account", "admin"} {
		b.do("open "+p, chromedp.Navigate(base+"/"+p), chromedp.WaitVisible(chromedp.CSS("main")))
		b.page(p)
	}

	svc.settle(t, pub)
	// Filters reload within a second of a change: publish a comment a
	// second until one is mailed.
	n, last := 0, time.Time{}
	var mail testpeer.Mail
	svc.eventually(t, "a comment on nethack is mailed", func() bool {
		for _, m := range smtp.Mails() {
			if id := m.Header.Get("X-Fedmsg-Msg-Id"); strings.HasPrefix(id, "2026-nethack-") {
				mail = m
				return true
			}
		}
		if time.Since(last) > time.Second {
			n, last = n+1, time.Now()
			comment(t, pub, fmt.Sprintf("2026-nethack-%03d", n), "nethack")
		}
		return false
	})
	if subject := mail.Header.Get("Subject"); !strings.Contains(subject, "bob commented on bodhi update nethack-1.0-1.fc44") {
		t.Errorf("subject %q is not the message's summary", subject)
	}
	body := mail.Text("text/plain")
	link := notLikeThisLink.FindString(body)
	if link == "" {
		t.Fatalf("no \"not like this\" link in the mail:\n%s", body)
	}
	b.do("open not like this", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#exclude")))
	b.expect("this would have stopped")
	b.page("not-like-this")
	b.do("choose the package", chromedp.Click(chromedp.CSS(`input[name="by"][value="package:nethack"]`)))
	b.submit("confirm exclusion", "#exclude-button")
	b.expect("no longer sends anything about the package nethack")
	b.expect("NOT Package")
	b.page("editor-excluded")

	// From now on comments on nethack stop and those on dosbox still
	// come: publish one of each a second until a dosbox one is mailed
	// with the nethack one just before it not.
	k, last := 0, time.Time{}
	svc.eventually(t, "dosbox mailed and nethack not", func() bool {
		ids := msgIDs(smtp.Mails())
		for i := 1; i <= k; i++ {
			if ids[fmt.Sprintf("2026-dosbox-%03d", i)] > 0 && ids[fmt.Sprintf("2026-nethack-x%03d", i)] == 0 {
				return true
			}
		}
		if time.Since(last) > time.Second {
			k, last = k+1, time.Now()
			comment(t, pub, fmt.Sprintf("2026-nethack-x%03d", k), "nethack")
			comment(t, pub, fmt.Sprintf("2026-dosbox-%03d", k), "dosbox")
		}
		return false
	})
	b.do("history at the end", chromedp.Navigate(base+"/history"), chromedp.WaitVisible(chromedp.CSS("main")))
	b.expect("dosbox")
	b.page("history-after")
}
