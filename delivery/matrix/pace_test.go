package matrix_test

import (
	"context"
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

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(f(r))), Request: r}, nil
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
