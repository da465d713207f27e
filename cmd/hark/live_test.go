package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hark/internal/testpeer"
)

// waitJS polls the page until expr is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-" + what)
			b.t.Fatalf("%s: %s never true (%v)", what, expr, err)
		}
		time.Sleep(50 * time.Millisecond) // polls the browser, times nothing
	}
}

// TestBrowserLiveFeedMissesNothingAcrossReconnect opens the live feed in
// headless Chromium, publishes on the bus and sees the notification
// appear without a reload; then kills hark serve with SIGKILL, which
// drops the page's stream, restarts it and publishes more while the page
// reconnects: the page resumes with Last-Event-ID and shows every one.
// recordNotifications wraps the page's Notification so that each one
// made is recorded in window.harkNotified; it is still the real one,
// with the permission the browser granted.
const recordNotifications = `(() => {
  const Real = window.Notification;
  if (!Real || window.harkNotified) return;
  window.harkNotified = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.harkNotified.push({ title, body: (options || {}).body || "", tag: (options || {}).tag || "" });
    }
  };
})();`

func TestBrowserLiveFeedMissesNothingAcrossReconnect(t *testing.T) {
	ctx := testpeer.Chromium(t)
	svc, pub, _ := mailService(t, tickFilter)
	adminMust(t, "correct horse battery\n", "user", "passwd", "alice")
	dir := os.Getenv("HARK_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	b := &browser{t: t, ctx: ctx, base: "http://" + svc.web, dir: dir}
	b.do("open login", chromedp.Navigate(b.base+"/live"), chromedp.WaitVisible(chromedp.CSS("#username")))
	b.do("type credentials",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"))
	b.submit("log in", "#login")
	// Desktop notifications: Chromium grants the page's origin the real
	// permission, and Notification is wrapped, before the page loads, to
	// record each one the page makes (a headless browser shows none).
	b.do("grant notifications", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: string(cdpbrowser.PermissionTypeNotifications)},
			Setting:    cdpbrowser.PermissionSettingGranted, Origin: b.base,
		})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordNotifications})
		return err
	}))
	b.do("open live feed", chromedp.Navigate(b.base+"/live"), chromedp.WaitVisible(chromedp.CSS("#live-status")))
	b.waitJS("stream connected", `document.getElementById("live-status").textContent === "connected"`)
	b.waitJS("permission granted", `Notification.permission === "granted"`)
	b.do("opt in to desktop notifications", chromedp.Click(chromedp.CSS("#live-desktop")))
	b.waitJS("opted in", `document.getElementById("live-desktop").checked && localStorage.getItem("hark-desktop") === "1"`)
	b.do("mark page", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.harkSamePage = true"))
		return err
	}))

	shown := func(n int) string {
		return fmt.Sprintf(`document.querySelector('#live li[data-msg-id="%s"]') !== null`, tickID(n))
	}
	tick(t, pub, 1)
	b.waitJS("first tick shown", shown(1))
	b.waitJS("first tick notified", `window.harkNotified.length === 1 && window.harkNotified[0].body.includes(".tick.")`)
	b.shot("live-first")

	svc.kill(t)
	b.waitJS("stream dropped", `document.getElementById("live-status").textContent !== "connected"`)
	svc.start(t)
	svc.settle(t, pub)
	for n := 2; n <= 6; n++ {
		tick(t, pub, n)
	}
	for n := 2; n <= 6; n++ {
		b.waitJS(fmt.Sprintf("tick %d shown", n), shown(n))
	}
	b.waitJS("no reload", "window.harkSamePage === true")
	b.waitJS("each shown once", `document.querySelectorAll("#live li").length === 6`)
	b.waitJS("each notified once", `window.harkNotified.length === 6 && new Set(window.harkNotified.map((n) => n.tag)).size === 6`)
	b.shot("live-after-reconnect")
	svc.stop(t)
	if !strings.Contains(svc.log.String(), "live stream resumed") {
		t.Errorf("the page reconnected without Last-Event-ID:\n%s", svc.log)
	}
}
