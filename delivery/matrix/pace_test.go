package matrix_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"hark/delivery/matrix"
)

// roundTrip is an in-memory homeserver: no sockets, so a synctest
// bubble's clock moves only when the bot waits.
type roundTrip func(*http.Request) string

// An answer "500" is an HTTP 500 with a body that is not JSON.
func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	body, status := f(r), http.StatusOK
	if body == "500" {
		status = http.StatusInternalServerError
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestBotPacesItsMessages sends 6 notices with matrix.rate_limit 2 and
// burst 3: three go at once, then one every half second, on the
// bubble's clock.
func TestBotPacesItsMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var sent []time.Duration
		hs := roundTrip(func(r *http.Request) string {
			switch {
			case strings.Contains(r.URL.Path, "/account_data/m.direct"):
				return `{"@carol:example.org": ["!dm:example.org"]}`
			case strings.Contains(r.URL.Path, "/state/m.room.member/"):
				return `{"membership":"join"}`
			case strings.Contains(r.URL.Path, "/messages"):
				return `{"chunk":[]}`
			case strings.Contains(r.URL.Path, "/send/m.room.message/"):
				sent = append(sent, time.Since(start))
				return `{"event_id":"$e"}`
			}
			return `{}`
		})
		bot, err := matrix.New(matrix.Options{Homeserver: "http://hs.invalid", UserID: "@hark:example.org", AccessToken: "t",
			RateLimit: 2, Burst: 3, HTTPClient: &http.Client{Transport: hs}})
		if err != nil {
			t.Fatal(err)
		}
		for range 6 {
			if _, err := bot.Send(context.Background(), batch("@carol:example.org", 1)); err != nil {
				t.Fatal(err)
			}
		}
		want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		if len(sent) != len(want) {
			t.Fatalf("%d sends, want %d", len(sent), len(want))
		}
		for i := range want {
			if sent[i] != want[i] {
				t.Errorf("send %d at %v, want %v (all: %v)", i, sent[i], want[i], sent)
			}
		}
	})
}

// TestBotLooksBackAfterAFailedSend: the homeserver keeps the event but
// answers 500 (it was stopping); restarted, it forgets the transaction
// ID. The retry finds the event among the room's latest and sends
// nothing twice.
func TestBotLooksBackAfterAFailedSend(t *testing.T) {
	var kept []string // the transaction IDs of the events the room holds
	sends := 0
	hs := roundTrip(func(r *http.Request) string {
		switch {
		case strings.Contains(r.URL.Path, "/account_data/m.direct"):
			return `{"@carol:example.org": ["!dm:example.org"]}`
		case strings.Contains(r.URL.Path, "/state/m.room.member/"):
			return `{"membership":"join"}`
		case strings.Contains(r.URL.Path, "/messages"):
			var chunk []string
			for i, txn := range kept {
				chunk = append(chunk, fmt.Sprintf(`{"type":"m.room.message","event_id":"$e%d","room_id":"!dm:example.org","sender":"@hark:example.org","content":{"msgtype":"m.notice","body":"x",%q:%q}}`, i, matrix.TxnKey, txn))
			}
			return `{"chunk":[` + strings.Join(chunk, ",") + `]}`
		case strings.Contains(r.URL.Path, "/send/m.room.message/"):
			sends++
			path := strings.Split(r.URL.Path, "/")
			kept = append(kept, path[len(path)-1])
			if sends == 1 {
				return "500"
			}
			return `{"event_id":"$e"}`
		}
		return `{}`
	})
	bot, err := matrix.New(matrix.Options{Homeserver: "http://hs.invalid", UserID: "@hark:example.org", AccessToken: "t",
		HTTPClient: &http.Client{Transport: hs}})
	if err != nil {
		t.Fatal(err)
	}
	b := batch("@carol:example.org", 1)
	b.Items[0].NotificationID = 7
	if retry, err := bot.Send(context.Background(), b); err == nil || !retry {
		t.Fatalf("first send: retryable %t, err %v; want a retryable 500", retry, err)
	}
	if _, err := bot.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if sends != 1 {
		t.Errorf("%d sends, want 1: the retry must find the event the 500 kept", sends)
	}
}
