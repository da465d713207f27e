package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"hark/delivery/chatcmd"
)

// syncWait is how long one sync waits on the homeserver for events; the
// sync's HTTP client allows it syncSlack more.
const (
	syncWait  = 30 * time.Second
	syncSlack = 30 * time.Second
)

// Backoff between failed syncs.
const (
	syncBackoffMin = time.Second
	syncBackoffMax = time.Minute
)

// syncFilter keeps syncs to what commands need: the rooms' messages and
// membership changes, not presence, receipts or account data.
const syncFilter = `{"presence":{"not_types":["*"]},"account_data":{"not_types":["*"]},` +
	`"room":{"timeline":{"types":["m.room.message","m.room.member"]},"ephemeral":{"not_types":["*"]},"account_data":{"not_types":["*"]}}}`

// firstSyncFilter is the start's sync, which only fetches the position
// to read on from: a room's history is not commands.
const firstSyncFilter = `{"presence":{"not_types":["*"]},"account_data":{"not_types":["*"]},` +
	`"room":{"timeline":{"limit":1,"types":["m.room.message"]},"state":{"types":["m.room.create"]},"ephemeral":{"not_types":["*"]},"account_data":{"not_types":["*"]}}}`

// Listen answers the commands people send the bot in direct chats
// (chatcmd: help, stop, start, snooze 2h…) about their own destination,
// matrix:SENDER, until ctx is done. It joins the direct chats it is
// invited to, reads only text messages of others in rooms of two (the
// bot and the writer: a room feed's talk is not for it), and answers
// with an m.notice, paced with the notifications. It reads on from
// where the homeserver is when it starts: what was sent before, or
// while no process listened, is not answered.
func (b *Bot) Listen(ctx context.Context) {
	l := &listener{b: b, direct: map[id.RoomID]bool{},
		http: &http.Client{Timeout: syncWait + syncSlack, Transport: b.cli.Client.Transport}}
	wait := syncBackoffMin
	for ctx.Err() == nil {
		err := l.run(ctx)
		if ctx.Err() != nil {
			return
		}
		if l.synced {
			wait, l.synced = syncBackoffMin, false // it synced since the last failure: a fresh outage
		}
		b.log.Warn("matrix command sync failed; retrying", "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, syncBackoffMax)
	}
}

// listener is one Listen's position and what it knows of the rooms.
type listener struct {
	b     *Bot
	http  *http.Client
	since string
	// synced is whether a sync succeeded since the last failure.
	synced bool
	// direct says whether a room has two members, the bot and one
	// other; a membership change forgets the room's answer.
	direct map[id.RoomID]bool
}

// run syncs until ctx is done or a sync fails.
func (l *listener) run(ctx context.Context) error {
	if l.since == "" {
		resp, err := l.b.cli.FullSyncRequest(ctx, mautrix.ReqSync{FilterID: firstSyncFilter, SetPresence: event.PresenceOffline, Client: l.http})
		if err != nil {
			return fmt.Errorf("sync with %s: %w", l.b.cli.HomeserverURL, err)
		}
		l.since = resp.NextBatch
		l.joinInvites(ctx, resp)
		l.b.log.Info("matrix bot reading commands", "user", l.b.cli.UserID)
	}
	for {
		resp, err := l.b.cli.FullSyncRequest(ctx, mautrix.ReqSync{Timeout: int(syncWait / time.Millisecond), Since: l.since,
			FilterID: syncFilter, SetPresence: event.PresenceOffline, Client: l.http})
		if err != nil {
			return fmt.Errorf("sync with %s: %w", l.b.cli.HomeserverURL, err)
		}
		l.synced = true
		l.joinInvites(ctx, resp)
		for room, jr := range resp.Rooms.Join {
			for _, evt := range jr.Timeline.Events {
				evt.RoomID = room
				l.handle(ctx, evt)
			}
		}
		// After the answers: a command is answered at most once, and a
		// crash in between loses it rather than repeating it.
		l.since = resp.NextBatch
	}
}

// joinInvites joins the direct chats the bot is invited to: those whose
// invitation says is_direct, as clients send when someone starts a
// direct chat with the bot.
func (l *listener) joinInvites(ctx context.Context, resp *mautrix.RespSync) {
	for room, ir := range resp.Rooms.Invite {
		direct := false
		for _, evt := range ir.State.Events {
			if evt.Type != event.StateMember || evt.GetStateKey() != string(l.b.cli.UserID) {
				continue
			}
			if err := parse(evt); err != nil {
				continue
			}
			direct = evt.Content.AsMember().IsDirect
		}
		if !direct {
			continue
		}
		if _, err := l.b.cli.JoinRoomByID(ctx, room); err != nil {
			l.b.log.Warn("could not join a direct chat the matrix bot was invited to", "room", room, "err", err)
			continue
		}
		delete(l.direct, room) // asked again: its members changed
	}
}

// parse parses a synced event's content, once.
func parse(evt *event.Event) error {
	err := evt.Content.ParseRaw(evt.Type)
	if errors.Is(err, event.ErrContentAlreadyParsed) {
		return nil
	}
	return err
}

// handle answers evt when it is a command.
func (l *listener) handle(ctx context.Context, evt *event.Event) {
	if evt.Type == event.StateMember {
		delete(l.direct, evt.RoomID)
		return
	}
	if evt.Type != event.EventMessage || evt.Sender == l.b.cli.UserID || parse(evt) != nil {
		return
	}
	msg := evt.Content.AsMessage()
	if msg.MsgType != event.MsgText || msg.RelatesTo != nil && msg.RelatesTo.Type == event.RelReplace {
		return // notices (other bots), media, edits
	}
	ctx, cancel := context.WithTimeout(ctx, chatcmd.Timeout)
	defer cancel()
	direct, err := l.isDirect(ctx, evt.RoomID)
	if err != nil {
		l.b.log.Warn("could not read a room's members; not answering", "room", evt.RoomID, "err", err)
		return
	}
	if !direct {
		return
	}
	reply := l.b.cmds.Reply(ctx, chatcmd.Request{From: string(evt.Sender), Text: msg.Body})
	content := &event.Content{Parsed: &event.MessageEventContent{MsgType: event.MsgNotice, Body: strings.Join(reply, "\n")}}
	if err := l.b.send(ctx, evt.RoomID, content, once{}); err != nil {
		l.b.log.Warn("matrix command reply not sent", "to", evt.Sender, "room", evt.RoomID, "err", explain(err))
	}
}

// isDirect says whether room's members are the bot and one other.
func (l *listener) isDirect(ctx context.Context, room id.RoomID) (bool, error) {
	if direct, ok := l.direct[room]; ok {
		return direct, nil
	}
	var resp *mautrix.RespJoinedMembers
	err := rateLimited(ctx, func() error {
		var err error
		resp, err = l.b.cli.JoinedMembers(ctx, room)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read the members of %s: %w", room, err)
	}
	l.direct[room] = len(resp.Joined) == 2
	return l.direct[room], nil
}
