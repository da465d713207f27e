package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"hark/destkind"
	"hark/store/sqlite"
)

// TestServeMatrixBotAnswersCommands: alice starts a direct chat with
// hark's Matrix bot on a real Dendrite and sends snooze 2h and help; the
// bot answers each with a notice in that chat, and the snooze is on her
// destination in the store.
func TestServeMatrixBotAnswersCommands(t *testing.T) {
	svc, _, _, alice := matrixService(t)
	ctx := context.Background()
	_, server, err := alice.Client.UserID.Parse()
	if err != nil {
		t.Fatal(err)
	}
	bot := id.NewUserID("hark", server)
	room, err := alice.Client.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{bot}})
	if err != nil {
		t.Fatal(err)
	}
	// ask sends command and returns the bot's answer, after the notices
	// alice sent herself before it, whose bodies are skipped.
	ask := func(command, want string, skipped ...string) string {
		t.Helper()
		if _, err := alice.Client.SendText(ctx, room.RoomID, command); err != nil {
			t.Fatal(err)
		}
		got := alice.Notices(len(skipped)+1, time.Minute)
		for i, body := range skipped {
			if got[i].Sender != alice.Client.UserID || got[i].Body != body {
				t.Fatalf("notice %q from %s, want alice's own %q", got[i].Body, got[i].Sender, body)
			}
		}
		answer := got[len(skipped)]
		if answer.Room != room.RoomID || answer.Sender != bot || !strings.Contains(answer.Body, want) {
			t.Fatalf("to %q: notice in %s from %s %q, want one in %s from %s with %q", command, answer.Room, answer.Sender, answer.Body, room.RoomID, bot, want)
		}
		return answer.Body
	}
	ask("snooze 2h", "Snoozed until")
	if help := ask("help", "confirm CODE: confirm this Matrix ID"); !strings.Contains(help, "snooze 2h") {
		t.Errorf("help lacks snooze:\n%s", help)
	}
	ask("frobnicate", `Unknown command "frobnicate"`)
	// A notice is not a command (bots send them): the next command's
	// answer comes, and the notice's none before it.
	if _, err := alice.Client.SendMessageEvent(ctx, room.RoomID, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "stop"}); err != nil {
		t.Fatal(err)
	}
	ask("list filters", "1. ticks (sends here)", "stop")

	st, err := sqlite.Open(ctx, svc.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := st.DestinationByAddress(ctx, destkind.Matrix, string(alice.Client.UserID))
	if err != nil {
		t.Fatal(err)
	}
	if d.SnoozeUntil.Before(time.Now().Add(time.Hour)) || d.SnoozeUntil.After(time.Now().Add(3*time.Hour)) {
		t.Errorf("snooze 2h set the end to %v", d.SnoozeUntil)
	}
	if !d.Enabled {
		t.Error("a notice saying stop stopped the destination")
	}
}
