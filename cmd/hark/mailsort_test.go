package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
	"hark/meta"
)

// sortingScript reads the raw mails (base64, one a line) with Python's
// email package and reports, per mail, what a mail client sorts and
// threads by, and whether its text/html part parses with nothing but the
// elements and attributes hark writes.
const sortingScript = `
import base64, email, email.policy, json, sys
from html.parser import HTMLParser

ALLOWED = {"html", "head", "meta", "title", "body", "p", "strong", "em", "pre", "a",
           "table", "tr", "th", "td", "hr", "ol", "li", "br"}

class Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []
    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED:
            self.bad.append(tag)
        for k, v in attrs:
            if k == "href" and (v.startswith("https://") or v.startswith("http://")):
                continue
            if k in ("align", "charset"):
                continue
            self.bad.append("%s %s=%s" % (tag, k, v))

out = []
for line in sys.stdin:
    msg = email.message_from_bytes(base64.b64decode(line), policy=email.policy.default)
    refs = (msg["References"] or "").split()
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    check = Check()
    body = html.get_content() if html else ""
    check.feed(body)
    check.close()
    out.append({
        "subject": str(msg["Subject"]),
        "filter": str(msg["X-Hark-Filter"]),
        "reason": str(msg["X-Hark-Reason"]),
        "list_id": str(msg["List-Id"]),
        "message_id": str(msg["Message-ID"]),
        "in_reply_to": str(msg["In-Reply-To"] or ""),
        "root": refs[0] if refs else "",
        "date": msg["Date"].datetime.timestamp() if msg["Date"] else 0,
        "has_text": text is not None,
        "html": body,
        "bad_html": check.bad,
    })
json.dump(out, sys.stdout)
`

// TestServeMailSortsAndThreadsItself sends real bodhi and wiki messages
// through hark serve to a real SMTP server, and reads the mails with
// Python's email package: the filter and reason headers, List-Id and the
// event's Date are there; two mails about one bodhi update thread under
// one root, another update under another; the HTML part parses clean and
// shows a hostile wiki title escaped.
func TestServeMailSortsAndThreadsItself(t *testing.T) {
	testpeer.RequirePython(t, "email")
	frs, envs := sampleEnvelopes(t)
	describer, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const update = "https://bodhi.fedoraproject.org/updates/fedmsg-0.2.7-2.el6"
	const other = "https://bodhi.fedoraproject.org/updates/foo"
	const hostile = `<script>alert(1)</script>`
	var same, foo, wiki []int
	for i, env := range envs {
		switch d := describer.Describe(env); {
		case d.App == "bodhi" && d.Link == update:
			same = append(same, i)
		case d.App == "bodhi" && d.Link == other:
			foo = append(foo, i)
		case env.Topic == "org.fedoraproject.stg.wiki.article.edit":
			wiki = append(wiki, i)
		}
	}
	if len(same) < 2 || len(foo) < 1 || len(wiki) < 1 {
		t.Fatalf("samples: %d about %s, %d about %s, %d wiki edits; want 2, 1, 1", len(same), update, len(foo), other, len(wiki))
	}
	var fields map[string]any
	if err := json.Unmarshal(frs[wiki[0]][1], &fields); err != nil {
		t.Fatal(err)
	}
	fields["msg"].(map[string]any)["title"] = hostile
	fields["msg_id"] = "2026-hostile-wiki-title"
	hostileFrames := frames(t, fields)

	_, pub, smtp := mailService(t, `{"name": "bodhi and wiki", "active": true, "destinations": ["email:alice@example.org"],
		"rules": [{"kind": "app", "args": {"names": ["bodhi", "wiki"]}}]}`)
	sent := [][][]byte{frs[same[0]], frs[foo[0]], frs[same[1]], hostileFrames}
	for _, f := range sent {
		pub.Send(f...)
	}
	mails := smtp.Wait(len(sent), 30*time.Second)

	var stdin strings.Builder
	for _, m := range mails {
		stdin.WriteString(base64.StdEncoding.EncodeToString(m.Raw) + "\n")
	}
	var got []struct {
		Subject   string   `json:"subject"`
		Filter    string   `json:"filter"`
		Reason    string   `json:"reason"`
		ListID    string   `json:"list_id"`
		MessageID string   `json:"message_id"`
		InReplyTo string   `json:"in_reply_to"`
		Root      string   `json:"root"`
		Date      float64  `json:"date"`
		HasText   bool     `json:"has_text"`
		HTML      string   `json:"html"`
		BadHTML   []string `json:"bad_html"`
	}
	if err := json.Unmarshal(testpeer.RunPython(t, sortingScript, []byte(stdin.String())), &got); err != nil {
		t.Fatal(err)
	}
	roots := map[string]string{} // link -> root
	for i, m := range got {
		if m.Filter != "bodhi and wiki" || m.Reason != "Application: bodhi, wiki" {
			t.Errorf("mail %q: X-Hark-Filter %q, X-Hark-Reason %q; want the filter and its rule", m.Subject, m.Filter, m.Reason)
		}
		if !strings.HasPrefix(m.ListID, `"bodhi and wiki" <filter-`) || !strings.HasSuffix(m.ListID, ".example.org>") {
			t.Errorf("mail %q: List-Id %q", m.Subject, m.ListID)
		}
		if !m.HasText || m.HTML == "" || len(m.BadHTML) > 0 {
			t.Errorf("mail %q: text part %v, html part %q, disallowed in it: %q", m.Subject, m.HasText, m.HTML, m.BadHTML)
		}
		if m.Root == "" || m.InReplyTo != m.Root || m.Root == m.MessageID {
			t.Errorf("mail %q: References root %q, In-Reply-To %q, Message-ID %q; want a synthetic root both name", m.Subject, m.Root, m.InReplyTo, m.MessageID)
		}
		env := sentEnvelope(t, sent, mails[i].Header.Get("X-Fedmsg-Msg-Id"))
		if want := float64(int64(env.Timestamp)); env.Timestamp != 0 && m.Date != want {
			t.Errorf("mail %q: Date %v, want the event's %v", m.Subject, time.Unix(int64(m.Date), 0), time.Unix(int64(want), 0))
		}
		link := describer.Describe(env).Link
		if r, ok := roots[link]; ok && r != m.Root {
			t.Errorf("mails about %s thread under %s and %s, want one root", link, r, m.Root)
		}
		roots[link] = m.Root
		if strings.Contains(m.Subject, hostile) {
			if strings.Contains(m.HTML, hostile) || !strings.Contains(m.HTML, "&lt;script&gt;") {
				t.Errorf("the hostile title is not escaped in the HTML part:\n%s", m.HTML)
			}
		}
	}
	if roots[update] == "" || roots[update] == roots[other] {
		t.Errorf("roots per update: %q; want one each, distinct", roots)
	}
}

// sentEnvelope is the one of sent whose key is key.
func sentEnvelope(t *testing.T, sent [][][]byte, key string) *bus.Envelope {
	t.Helper()
	for _, f := range sent {
		env, err := bus.Decode(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if env.Key() == key {
			return env
		}
	}
	t.Fatalf("no message sent has the key %q", key)
	return nil
}
