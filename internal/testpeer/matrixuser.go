package testpeer

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// MatrixUser is a second Matrix client, logged in as someone hark
// notifies: it joins the rooms it is invited to and collects the
// m.notice messages sent to it.
type MatrixUser struct {
	Client *mautrix.Client
	t      testing.TB
	since  string
	// seen are the events received, by ID: a sync after the homeserver
	// restarted may repeat some, which clients drop as this one does.
	seen map[id.EventID]bool
}

// Notice is one m.notice a MatrixUser received (or sent), with its room,
// its sender and the whole content as sent.
type Notice struct {
	*event.MessageEventContent
	Room   id.RoomID
	Sender id.UserID
	Raw    map[string]any
}

// User logs in as a registered user (see Register).
func (d *Dendrite) User(token, userID string) *MatrixUser {
	d.t.Helper()
	cli, err := mautrix.NewClient(d.URL, id.UserID(userID), token)
	if err != nil {
		d.t.Fatal(err)
	}
	return &MatrixUser{Client: cli, t: d.t, seen: map[id.EventID]bool{}}
}

// Notices syncs until n more notices arrived, or fails the test after
// timeout; it joins invitations on the way.
func (u *MatrixUser) Notices(n int, timeout time.Duration) []Notice {
	u.t.Helper()
	out := u.Poll(n, timeout)
	if len(out) != n {
		u.t.Fatalf("got %d notices, want %d: %+v", len(out), n, out)
	}
	return out
}

// Poll is Notices without failing: what arrived by timeout, or once n
// did.
func (u *MatrixUser) Poll(n int, timeout time.Duration) []Notice {
	u.t.Helper()
	ctx := context.Background()
	var out []Notice
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		resp, err := u.Client.SyncRequest(ctx, 1000, u.since, "", false, event.PresenceOffline)
		if err != nil {
			u.t.Fatalf("sync: %v", err)
		}
		u.since = resp.NextBatch
		for room := range resp.Rooms.Invite {
			if _, err := u.Client.JoinRoomByID(ctx, room); err != nil {
				u.t.Fatalf("join %s: %v", room, err)
			}
		}
		for room, jr := range resp.Rooms.Join {
			events := jr.Timeline.Events
			if jr.Timeline.Limited {
				// The sync skipped older events (a burst since the last
				// one): read them back, or they would look lost.
				events = append(u.skipped(ctx, room, jr.Timeline.PrevBatch), events...)
			}
			for _, evt := range events {
				if evt.Type != event.EventMessage || u.seen[evt.ID] {
					continue
				}
				u.seen[evt.ID] = true
				if err := evt.Content.ParseRaw(evt.Type); err != nil && !strings.Contains(err.Error(), "already parsed") {
					u.t.Fatal(err)
				}
				if m := evt.Content.AsMessage(); m.MsgType == event.MsgNotice {
					out = append(out, Notice{m, room, evt.Sender, evt.Content.Raw})
				}
			}
		}
	}
	return out
}

// skipped is the events of room before a limited sync's timeline, back to
// the first one this user has seen (or the room's start), oldest first.
func (u *MatrixUser) skipped(ctx context.Context, room id.RoomID, from string) []*event.Event {
	var back []*event.Event
	for from != "" {
		resp, err := u.Client.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			u.t.Fatalf("read back %s: %v", room, err)
		}
		reached := false
		for _, evt := range resp.Chunk {
			if u.seen[evt.ID] {
				reached = true
				break
			}
			back = append(back, evt)
		}
		if reached || len(resp.Chunk) == 0 || resp.End == "" {
			break
		}
		from = resp.End
	}
	slices.Reverse(back)
	return back
}
