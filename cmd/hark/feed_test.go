package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeAtomFeedRotates: a notification made by hark serve shows in
// the feed `hark feed rotate` gave, and that URL stops working once the
// feed is rotated again.
func TestServeAtomFeedRotates(t *testing.T) {
	svc, pub, smtp := mailService(t, tickFilter)
	tick(t, pub, 1)
	smtp.Wait(1, 20*time.Second)
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first := strings.TrimSpace(adminMust(t, "", "feed", "rotate", "alice"))
	if !strings.HasPrefix(first, "http://"+svc.web+"/feed/") {
		t.Fatalf("hark feed rotate printed %q", first)
	}
	status, body := get(first)
	if status != http.StatusOK || !strings.Contains(body, "<feed xmlns=\"http://www.w3.org/2005/Atom\">") || !strings.Contains(body, "org.fedoraproject.prod.tick.n") {
		t.Fatalf("feed: %d\n%s", status, body)
	}
	second := strings.TrimSpace(adminMust(t, "", "feed", "rotate", "alice"))
	if status, _ := get(first); status != http.StatusNotFound {
		t.Errorf("the rotated URL answers %d, want 404", status)
	}
	if status, _ := get(second); status != http.StatusOK {
		t.Errorf("the new URL answers %d", status)
	}
	svc.stop(t)
}
