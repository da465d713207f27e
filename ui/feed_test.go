package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hark/internal/testpeer"
)

// atomCheck parses a feed with Python's xml.etree, a parser of its own,
// and checks the elements RFC 4287 requires: the feed's id, title,
// updated and author (no entry has its own), each entry's id, title,
// updated, and a link or content. It prints the entries' titles, one a
// line.
const atomCheck = `
import sys, xml.etree.ElementTree as ET
A = "{http://www.w3.org/2005/Atom}"
feed = ET.parse(sys.stdin).getroot()
assert feed.tag == A + "feed", feed.tag
for name in ("id", "title", "updated"):
    assert len(feed.findall(A + name)) == 1, "feed lacks exactly one " + name
assert feed.find(A + "author/" + A + "name") is not None, "feed has no author name"
for e in feed.findall(A + "entry"):
    for name in ("id", "title", "updated"):
        assert len(e.findall(A + name)) == 1, "entry lacks exactly one " + name
    assert e.find(A + "link[@rel='alternate']") is not None or e.find(A + "content") is not None, "entry without link or content"
    print(e.find(A + "title").text)
`

func TestFeedIsAtomAndRotates(t *testing.T) {
	testpeer.RequirePython(t, "xml.etree.ElementTree")
	ts := newTestServer(t)
	c := ts.login(t, "alice", false)
	notified(t, ts, "alice", "2026-a", "2026-b")
	notified(t, ts, "bob", "2026-c")

	rotate := func() string {
		t.Helper()
		resp := c.postJSON("/api/v1/feed", `{}`)
		var out struct{ URL string }
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &out) != nil || !strings.HasPrefix(out.URL, ts.URL+"/feed/") {
			t.Fatalf("POST /api/v1/feed: %d %s", resp.StatusCode, resp.Body)
		}
		return strings.TrimPrefix(out.URL, ts.URL)
	}
	first := rotate()
	resp := ts.client(t).get(first)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("GET feed: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
	}
	out := testpeer.RunPython(t, atomCheck, []byte(resp.Body))
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "bob commented on 2026-b bob commented on 2026-a" {
		t.Errorf("entries %q, want alice's two, newest first", out)
	}

	second := rotate()
	if resp := ts.client(t).get(first); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the rotated URL answers %d, want 404", resp.StatusCode)
	}
	if resp := ts.client(t).get(second); resp.StatusCode != http.StatusOK {
		t.Errorf("the new URL answers %d", resp.StatusCode)
	}
	if resp := ts.client(t).get("/feed/guessed"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a guessed URL answers %d", resp.StatusCode)
	}
}
