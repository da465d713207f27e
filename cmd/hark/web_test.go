package main

import (
	"context"
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

// TestServeLogsSetupLinkWithoutAdmin: a first start with no admin tells
// the operator the one-time link that creates one.
func TestServeLogsSetupLinkWithoutAdmin(t *testing.T) {
	testpeer.RequireZMQ(t)
	pub := testpeer.StartPub(t)
	svc := newService(t, pub.Endpoint, "")
	svc.start(t)
	svc.stop(t)
	if !regexp.MustCompile(`setup_url=http://` + regexp.QuoteMeta(svc.web) + `/setup/[A-Za-z0-9_-]{43}`).MatchString(svc.log.String()) {
		t.Fatalf("no setup link in the log:\n%s", svc.log)
	}
}

// browser is one Chromium tab on a hark serve, saving a screenshot of
// every page it is shown.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots
	n    int
	axe  string // axe-core's script, for audit
}

// do runs actions with a timeout, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a form's button and waits until the browser has loaded
// the page that answered: the old document is marked, and the answer is
// the first complete document without the mark.
func (b *browser) submit(what, button string) {
	b.t.Helper()
	b.do(what+": mark page", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.harkOld = true"))
		return err
	}), chromedp.Click(chromedp.CSS(button)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.readyState === 'complete' && !window.harkOld"))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-" + what)
			b.t.Fatalf("%s: no new page after clicking %s (%v)", what, button, err)
		}
		time.Sleep(20 * time.Millisecond) // polls the browser, times nothing
	}
}

// text is the visible text of the page's main element.
func (b *browser) text() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		b.t.Fatalf("read page text: %v", err)
	}
	return s
}

// shot saves a full-page screenshot named after the step.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// expect fails unless the page's text contains want.
func (b *browser) expect(want string) {
	b.t.Helper()
	if got := b.text(); !strings.Contains(got, want) {
		b.shot("unexpected")
		b.t.Fatalf("page does not say %q:\n%s", want, got)
	}
}

// location is the URL of the page shown.
func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read location: %v", err)
	}
	return loc
}

var confirmLink = regexp.MustCompile(`https?://[^\s"<>]+/confirm/[0-9]+/[A-Za-z0-9_-]+`)

// TestBrowserJourney drives headless Chromium through what a new user
// does: log in, add an email address and confirm it from the mail a real
// SMTP server received, build a filter of two rules (one negated), and
// preview it, get notified of a matching bus message and find it in the
// history and the preview. Screenshots of every page go to
// $HARK_ARTIFACTS, or a temporary directory named in the log.
func TestBrowserJourney(t *testing.T) {
	testpeer.RequireZMQ(t)
	ctx := testpeer.Chromium(t)
	pub := testpeer.StartPub(t)
	smtp := testpeer.StartSMTP(t)
	svc := newService(t, pub.Endpoint, mailConfig(smtp, ""))
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "correct horse battery\n", "user", "passwd", "alice")
	svc.start(t)
	base := "http://" + svc.web
	dir := os.Getenv("HARK_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	t.Logf("screenshots in %s", dir)
	b := &browser{t: t, ctx: ctx, base: base, dir: dir}

	b.do("open login", chromedp.Navigate(base+"/filters"), chromedp.WaitVisible(chromedp.CSS("#username")))
	b.shot("login")
	b.do("type credentials",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"))
	b.submit("log in", "#login")
	b.expect("Filters")
	b.shot("filters-defaults")

	b.do("type email address",
		chromedp.Navigate(base+"/destinations"),
		chromedp.SendKeys(chromedp.CSS("#address"), "alice@example.org"))
	b.submit("add email destination", "#add")
	b.expect("waiting for confirmation")
	b.shot("destination-unconfirmed")
	mails := smtp.Wait(1, 20*time.Second)
	link := confirmLink.FindString(mails[0].Body)
	if link == "" {
		t.Fatalf("no confirmation link in the mail:\n%s", mails[0].Body)
	}
	b.do("open confirmation link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm-destination")))
	b.shot("confirm-button")
	b.submit("confirm", "#confirm-destination")
	b.expect("Destination confirmed")
	b.shot("confirmed")
	b.do("see destination confirmed", chromedp.Navigate(base+"/destinations"), chromedp.WaitVisible(chromedp.CSS("#destinations")))
	b.expect("confirmed")

	b.do("name filter",
		chromedp.Navigate(base+"/filters"),
		chromedp.SendKeys(chromedp.CSS("#filter-name"), "ticks not by me"))
	b.submit("create filter", "#create-filter")
	b.do("type topic rule",
		chromedp.SetValue(chromedp.CSS("#rule-kind"), "topic"),
		chromedp.SendKeys(chromedp.CSS("#rule-value"), "org.fedoraproject.prod.tick.*"))
	b.submit("add topic rule", "#add-rule-button")
	b.do("type a bad rule",
		chromedp.WaitVisible(chromedp.CSS(`[data-rule="0"]`)),
		chromedp.SetValue(chromedp.CSS("#rule-kind"), "regex"),
		chromedp.SendKeys(chromedp.CSS("#rule-value"), "(unclosed"))
	b.submit("add a bad rule", "#add-rule-button")
	b.expect("missing closing )")
	b.shot("editor-error-next-to-field")
	b.do("type negated agent rule",
		chromedp.SetValue(chromedp.CSS("#rule-kind"), "agent"),
		chromedp.Clear(chromedp.CSS("#rule-value")),
		chromedp.SendKeys(chromedp.CSS("#rule-value"), "@me"),
		chromedp.Click(chromedp.CSS("#rule-negate")))
	b.submit("add negated agent rule", "#add-rule-button")
	// A new filter goes to the confirmed destinations already.
	b.do("see destination ticked",
		chromedp.WaitVisible(chromedp.CSS(`[data-rule="1"].negated`)),
		chromedp.WaitVisible(chromedp.CSS(`#choose-destinations input[name="destination"]:checked`)))
	b.submit("save destinations", "#save-destinations")
	b.do("see destination chosen", chromedp.WaitVisible(chromedp.CSS(`#choose-destinations input[name="destination"]:checked`)))
	b.expect("NOT Acting user")
	b.shot("editor")

	b.submit("open preview", "#preview")
	b.expect("Preview: ticks not by me")
	previewURL := b.location()
	b.shot("preview-empty")

	svc.settle(t, pub)
	// The service reloads filters within a second of a change, so the
	// first ticks may come before it knows the filter's destination:
	// publish one tick a second until one is mailed.
	n, last := 0, time.Time{}
	svc.eventually(t, "a tick is mailed", func() bool {
		for id := range msgIDs(smtp.Mails()) {
			if strings.HasPrefix(id, "2026-tick-") {
				return true
			}
		}
		if time.Since(last) > time.Second {
			n, last = n+1, time.Now()
			tick(t, pub, n)
		}
		return false
	})
	mailed := ""
	for id := range msgIDs(smtp.Mails()) {
		mailed = max(mailed, id)
	}
	b.do("history", chromedp.Navigate(base+"/history"), chromedp.WaitVisible(chromedp.CSS("main")))
	b.expect(mailed)
	b.expect("NOT Acting user")
	b.shot("history")
	b.do("preview again", chromedp.Navigate(previewURL), chromedp.WaitVisible(chromedp.CSS("main")))
	b.expect("org.fedoraproject.prod.tick.n")
	b.shot("preview")
	b.do("account", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#timezone")))
	b.shot("account")
	b.do("filters list", chromedp.Navigate(base+"/filters"), chromedp.WaitVisible(chromedp.CSS("#filters")))
	b.expect("ticks not by me")
	b.shot("filters")
}
