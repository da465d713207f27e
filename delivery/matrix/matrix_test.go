package matrix_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"hark/delivery"
	"hark/delivery/matrix"
	"hark/internal/testpeer"
	"hark/store"
)

// reader is a second Matrix client, logged in as the user notifications
// go to: it joins the rooms it is invited to and collects the notices.
type reader struct {
	t     *testing.T
	cli   *mautrix.Client
	since string
}

func newReader(t *testing.T, hs, token, user string) *reader {
	cli, err := mautrix.NewClient(hs, id.UserID(user), token)
	if err != nil {
		t.Fatal(err)
	}
	return &reader{t: t, cli: cli}
}

// notices syncs until n notices arrived (or 60s passed), joining
// invitations on the way, and returns them with their rooms.
func (r *reader) notices(n int) ([]*event.MessageEventContent, []id.RoomID) {
	r.t.Helper()
	ctx := context.Background()
	var out []*event.MessageEventContent
	var rooms []id.RoomID
	deadline := time.Now().Add(60 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		resp, err := r.cli.SyncRequest(ctx, 2000, r.since, "", false, event.PresenceOffline)
		if err != nil {
			r.t.Fatalf("sync: %v", err)
		}
		r.since = resp.NextBatch
		for room := range resp.Rooms.Invite {
			if _, err := r.cli.JoinRoomByID(ctx, room); err != nil {
				r.t.Fatalf("join %s: %v", room, err)
			}
		}
		for room, jr := range resp.Rooms.Join {
			for _, evt := range jr.Timeline.Events {
				if evt.Type != event.EventMessage {
					continue
				}
				if err := evt.Content.ParseRaw(evt.Type); err != nil && !strings.Contains(err.Error(), "already parsed") {
					r.t.Fatal(err)
				}
				if m := evt.Content.AsMessage(); m.MsgType == event.MsgNotice {
					out = append(out, m)
					rooms = append(rooms, room)
				}
			}
		}
	}
	if len(out) != n {
		r.t.Fatalf("got %d notices, want %d: %+v", len(out), n, out)
	}
	return out, rooms
}

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
	carol := newReader(t, hs.URL, carolToken, carolID)

	// A confirmation code, then one notification, then a digest of
	// exactly 3: three notices, all in one direct chat.
	if err := bot.Confirm(ctx, delivery.Confirmation{User: "carol", Destination: store.Destination{Kind: "matrix", Address: carolID},
		Code: "424242", Link: "https://hark.example/confirm/1/424242", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, rooms := carol.notices(1)
	if !strings.Contains(got[0].Body, "424242") {
		t.Errorf("confirmation %q lacks the code", got[0].Body)
	}
	for _, b := range []*delivery.Batch{batch(carolID, 1), batch(carolID, 3)} {
		if retry, err := bot.Send(ctx, b); err != nil {
			t.Fatalf("send: retryable %t: %v", retry, err)
		}
	}
	more, moreRooms := carol.notices(2)
	one, digest := more[0], more[1]
	if one.Format != event.FormatHTML || !strings.Contains(one.FormattedBody, `<a href="https://bodhi.example/u/0">update 0 &lt;pushed&gt;</a>`) ||
		!strings.Contains(one.Body, "bodhi: update 0 <pushed>") {
		t.Errorf("notification: body %q formatted %q", one.Body, one.FormattedBody)
	}
	if c := strings.Count(digest.FormattedBody, "<li>"); c != 3 || !strings.HasPrefix(digest.Body, "hark: 3 notifications") {
		t.Errorf("digest of 3: %d entries, body %q", c, digest.Body)
	}
	for _, r := range moreRooms {
		if r != rooms[0] {
			t.Errorf("notice in room %s, want the direct chat %s reused", r, rooms[0])
		}
	}

	// Carol leaves: the next notification opens a new direct chat.
	if _, err := carol.cli.LeaveRoom(ctx, rooms[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Send(ctx, batch(carolID, 1)); err != nil {
		t.Fatal(err)
	}
	if _, again := carol.notices(1); again[0] == rooms[0] {
		t.Errorf("notice in the room carol left")
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
	carol.notices(1)

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
