package matrix_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"hark/delivery"
	"hark/delivery/matrix"
	"hark/destkind"
	"hark/internal/testpeer"
	"hark/store"
)

func item(i int) delivery.Item {
	return delivery.Item{App: "bodhi", Title: fmt.Sprintf("update %d <pushed>", i), Subtitle: "to stable", Link: fmt.Sprintf("https://bodhi.example/u/%d", i)}
}

func batch(to string, n int) *delivery.Batch {
	b := &delivery.Batch{User: "carol", Destination: store.Destination{Kind: "matrix", Address: to}}
	for i := range n {
		b.Items = append(b.Items, item(i))
	}
	if n > 1 {
		b.Digest = delivery.DigestBatched
	}
	return b
}

func TestBotDeliversToDendrite(t *testing.T) {
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	carolToken, carolID := hs.Register("carol", "carol-password-1", false)
	bot, err := matrix.New(matrix.Options{Homeserver: hs.URL, UserID: botID, AccessToken: botToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	carol := hs.User(carolToken, carolID)

	// A confirmation code, then one notification, then a digest of
	// exactly 3: three notices, all in one direct chat.
	if err := bot.Confirm(ctx, delivery.Confirmation{User: "carol", Destination: store.Destination{Kind: "matrix", Address: carolID},
		Code: "424242", Link: "https://hark.example/confirm/1/424242", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := carol.Notices(1, time.Minute)
	if !strings.Contains(got[0].Body, "424242") {
		t.Errorf("confirmation %q lacks the code", got[0].Body)
	}
	for _, b := range []*delivery.Batch{batch(carolID, 1), batch(carolID, 3)} {
		if retry, err := bot.Send(ctx, b); err != nil {
			t.Fatalf("send: retryable %t: %v", retry, err)
		}
	}
	more := carol.Notices(2, time.Minute)
	one, digest := more[0], more[1]
	if one.Format != event.FormatHTML || !strings.Contains(one.FormattedBody, `<a href="https://bodhi.example/u/0">update 0 &lt;pushed&gt;</a>`) ||
		!strings.Contains(one.Body, "bodhi: update 0 <pushed>") {
		t.Errorf("notification: body %q formatted %q", one.Body, one.FormattedBody)
	}
	if c := strings.Count(digest.FormattedBody, "<li>"); c != 3 || !strings.HasPrefix(digest.Body, "hark: 3 notifications") {
		t.Errorf("digest of 3: %d entries, body %q", c, digest.Body)
	}
	for _, n := range more {
		if n.Room != got[0].Room {
			t.Errorf("notice in room %s, want the direct chat %s reused", n.Room, got[0].Room)
		}
	}

	// Carol leaves: the next notification opens a new direct chat.
	if _, err := carol.Client.LeaveRoom(ctx, got[0].Room); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Send(ctx, batch(carolID, 1)); err != nil {
		t.Fatal(err)
	}
	if again := carol.Notices(1, time.Minute); again[0].Room == got[0].Room {
		t.Errorf("notice in the room carol left")
	}

	// A room feed: carol's room, the bot invited; its confirmation code
	// and a notification arrive there. A room that does not exist, or
	// one the bot was not invited to, is permanent.
	feed, err := carol.Client.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{id.UserID(botID)}})
	if err != nil {
		t.Fatal(err)
	}
	roomDest := store.Destination{Kind: destkind.MatrixRoom, Address: string(feed.RoomID)}
	if err := bot.Confirm(ctx, delivery.Confirmation{User: "carol", Destination: roomDest, Code: "777777", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rb := batch("", 1)
	rb.Destination = roomDest
	if _, err := bot.Send(ctx, rb); err != nil {
		t.Fatal(err)
	}
	inRoom := carol.Notices(2, time.Minute)
	if inRoom[0].Room != feed.RoomID || !strings.Contains(inRoom[0].Body, "777777") || inRoom[1].Room != feed.RoomID {
		t.Errorf("room feed: %+v", inRoom)
	}
	private, err := carol.Client.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"#nowhere:localhost", string(private.RoomID)} {
		rb.Destination.Address = room
		if retry, err := bot.Send(ctx, rb); err == nil || retry {
			t.Errorf("room %s: retryable %t, err %v; want a permanent error", room, retry, err)
		}
	}

	// Stopped homeserver: retryable; started again, the send goes.
	hs.Stop()
	if retry, err := bot.Send(ctx, batch(carolID, 1)); err == nil || !retry {
		t.Errorf("homeserver down: retryable %t, err %v; want a retryable error", retry, err)
	}
	hs.Start()
	if _, err := bot.Send(ctx, batch(carolID, 1)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	carol.Notices(1, time.Minute)

	// An unknown user cannot be invited: permanent.
	if retry, err := bot.Send(ctx, batch("@nobody:localhost", 1)); err == nil || retry {
		t.Errorf("unknown user: retryable %t, err %v; want a permanent error", retry, err)
	}
	if retry, err := bot.Send(ctx, batch("carol", 1)); err == nil || retry {
		t.Errorf("bad address: retryable %t, err %v; want a permanent error", retry, err)
	}
}

// A homeserver's bad answers, one per case: what a send makes of them.
func TestBotClassifiesHomeserverAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    func(w http.ResponseWriter, n int)
		wantErr   string
		retryable bool
		calls     int
	}{
		{"5xx", func(w http.ResponseWriter, _ int) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		}, "502", true, 1},
		{"garbage JSON", func(w http.ResponseWriter, _ int) { fmt.Fprint(w, `{"room_id": `) }, "", true, 1},
		{"expired token", func(w http.ResponseWriter, _ int) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errcode":"M_UNKNOWN_TOKEN","error":"Unknown token","soft_logout":false}`)
		}, "M_UNKNOWN_TOKEN", true, 1},
		{"429 short wait, then sent", func(w http.ResponseWriter, n int) {
			if n == 1 {
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":50}`)
				return
			}
			fmt.Fprint(w, `{"event_id":"$e1"}`)
		}, "", false, 2},
		{"429 long wait", func(w http.ResponseWriter, _ int) {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":3600000}`)
		}, "M_LIMIT_EXCEEDED", true, 1},
		{"unknown room", func(w http.ResponseWriter, _ int) {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errcode":"M_FORBIDDEN","error":"not in room"}`)
		}, "M_FORBIDDEN", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sends := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case strings.Contains(r.URL.Path, "/account_data/m.direct"):
					json.NewEncoder(w).Encode(map[string][]string{"@carol:example.org": {"!dm:example.org"}})
				case strings.Contains(r.URL.Path, "/state/m.room.member/"):
					fmt.Fprint(w, `{"membership":"join"}`)
				case strings.Contains(r.URL.Path, "/send/m.room.message/"):
					sends++
					tc.answer(w, sends)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			bot, err := matrix.New(matrix.Options{Homeserver: srv.URL, UserID: "@hark:example.org", AccessToken: "t"})
			if err != nil {
				t.Fatal(err)
			}
			retry, err := bot.Send(context.Background(), batch("@carol:example.org", 1))
			if (err != nil) != (tc.wantErr != "" || tc.retryable) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) || retry != tc.retryable {
				t.Errorf("retryable %t, err %v; want retryable %t, error mentioning %q", retry, err, tc.retryable, tc.wantErr)
			}
			if sends != tc.calls {
				t.Errorf("%d sends, want %d", sends, tc.calls)
			}
		})
	}
}
