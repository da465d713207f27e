package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"hark/internal/testpeer"
)

// TestWebOnlyProcessQueuesConfirmationsForDelivery runs the web UI in a
// process of its own (--roles web), with no connection to any mail
// server, and delivery in another on the same database: a user adds an
// email destination through the API while no delivery runs, the
// delivering process started afterwards mails the confirmation link to a
// real SMTP server, the link confirms the destination, and a test
// notification asked for on the web goes out the same way.
func TestWebOnlyProcessQueuesConfirmationsForDelivery(t *testing.T) {
	smtp := testpeer.StartSMTP(t)
	web := newService(t, "tcp://127.0.0.1:9", mailConfig(smtp, ""))
	web.args = []string{"--roles", "web"}
	delivering := web.sibling(t, "delivery", "--roles", "delivery", "--instance", "mailer-1")
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "a password of alice\n", "user", "passwd", "alice")
	web.start(t)
	alice := loggedIn(t, web, "alice", "a password of alice")

	var dest struct {
		ID        int64 `json:"id"`
		Confirmed bool  `json:"confirmed"`
	}
	alice.api(t, "POST", "/api/v1/destinations", `{"kind": "email", "address": "alice@example.org"}`, &dest)
	if dest.ID == 0 || dest.Confirmed {
		t.Fatalf("added destination %+v, want a new unconfirmed one", dest)
	}
	if n := len(smtp.Mails()); n != 0 {
		t.Fatalf("%d mails before any delivery process runs", n)
	}

	delivering.start(t)
	mail := waitMail(t, smtp, delivering, 1)
	if len(mail.To) != 1 || mail.To[0] != "alice@example.org" {
		t.Errorf("confirmation mailed to %v, want alice@example.org", mail.To)
	}
	link, err := url.Parse(confirmLink.FindString(mail.Body))
	if err != nil || link.Path == "" {
		t.Fatalf("no confirmation link in the mail (%v):\n%s", err, mail.Body)
	}
	// Opening the link asks; the button (a POST) confirms.
	resp, err := http.PostForm("http://"+web.web+link.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Destination confirmed") {
		t.Fatalf("confirming with the mailed link: %d\n%s", resp.StatusCode, body)
	}
	alice.api(t, "GET", fmt.Sprintf("/api/v1/destinations/%d", dest.ID), "", &dest)
	if !dest.Confirmed {
		t.Fatalf("destination not confirmed after the link: %+v", dest)
	}

	alice.api(t, "POST", fmt.Sprintf("/api/v1/destinations/%d/test", dest.ID), "", nil)
	if test := waitMail(t, smtp, delivering, 2); !strings.Contains(test.Body, "Test notification from hark") {
		t.Errorf("the second mail is not the test notification:\n%s", test.Body)
	}
	web.stop(t)
	delivering.stop(t)
	if log := web.log.String(); !strings.Contains(log, "roles=store,index,web ") || strings.Contains(strings.ToLower(log), "smtp") {
		t.Errorf("the web process runs more than store, index and web, or talks of SMTP:\n%s", log)
	}
}

// webUser is a logged-in session on a service's web UI.
type webUser struct {
	base   string
	client *http.Client
}

// loggedIn logs user in to svc's web UI with a password.
func loggedIn(t *testing.T, svc *service, user, password string) webUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := webUser{base: "http://" + svc.web, client: &http.Client{Jar: jar}}
	resp, err := u.client.PostForm(u.base+"/login", url.Values{"username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log in as %s: status %d", user, resp.StatusCode)
	}
	return u
}

// api calls the JSON API and decodes its answer into out (unless nil).
func (u webUser) api(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// waitMail waits until smtp holds n mails and returns the last.
func waitMail(t *testing.T, smtp *testpeer.SMTP, svc *service, n int) testpeer.Mail {
	t.Helper()
	svc.eventually(t, fmt.Sprintf("%d mails arrive", n), func() bool { return len(smtp.Mails()) >= n })
	mails := smtp.Mails()
	return mails[n-1]
}
