package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"hark/destkind"
	"hark/internal/testpeer"
	"hark/store/sqlite"
)

// readingLine is the log line of a process whose Matrix bot reads
// commands from then on.
const readingLine = "matrix bot reading commands"

// directChat is a direct chat alice starts with hark's bot, @hark on her
// server.
func directChat(t *testing.T, alice *testpeer.MatrixUser) (id.RoomID, id.UserID) {
	t.Helper()
	_, server, err := alice.Client.UserID.Parse()
	if err != nil {
		t.Fatal(err)
	}
	bot := id.NewUserID("hark", server)
	room, err := alice.Client.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{bot}})
	if err != nil {
		t.Fatal(err)
	}
	return room.RoomID, bot
}

// TestServeMatrixBotAnswersCommands: alice starts a direct chat with
// hark's Matrix bot on a real Dendrite and sends snooze 2h and help; the
// bot answers each with a notice in that chat, and the snooze is on her
// destination in the store.
func TestServeMatrixBotAnswersCommands(t *testing.T) {
	svc, _, _, alice := matrixService(t)
	ctx := context.Background()
	svc.eventually(t, "the bot reads commands", func() bool { return strings.Contains(svc.log.String(), readingLine) })
	room, bot := directChat(t, alice)
	// ask sends command and returns the bot's answer, after the notices
	// alice sent herself before it, whose bodies are skipped.
	ask := func(command, want string, skipped ...string) string {
		t.Helper()
		if _, err := alice.Client.SendText(ctx, room, command); err != nil {
			t.Fatal(err)
		}
		got := alice.Notices(len(skipped)+1, time.Minute)
		for i, body := range skipped {
			if got[i].Sender != alice.Client.UserID || got[i].Body != body {
				t.Fatalf("notice %q from %s, want alice's own %q", got[i].Body, got[i].Sender, body)
			}
		}
		answer := got[len(skipped)]
		if answer.Room != room || answer.Sender != bot || !strings.Contains(answer.Body, want) {
			t.Fatalf("to %q: notice in %s from %s %q, want one in %s from %s with %q", command, answer.Room, answer.Sender, answer.Body, room, bot, want)
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
	if _, err := alice.Client.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "stop"}); err != nil {
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

// TestClusterMatrixBotAnswersOnce runs two delivery processes configured
// for Matrix: only the holder of the bot:matrix lease reads commands, so
// each command is answered once; killed, the other process answers.
func TestClusterMatrixBotAnswersOnce(t *testing.T) {
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	aliceToken, aliceID := hs.Register("alice", "alice-password-1", false)
	alice := hs.User(aliceToken, aliceID)
	t.Setenv("HARK_MATRIX_ACCESS_TOKEN", botToken)
	c := newCluster(t, clusterStores[0], fmt.Sprintf("matrix:\n  homeserver: %q\n  user_id: %q\ndelivery:\n  lease: %s\n", hs.URL, botID, clusterLease))
	adminMust(t, "", "user", "add", "alice")
	adminMust(t, "", "destination", "set", "alice", "matrix:"+aliceID, "confirmed=true")
	workers := []*service{c.add(t, "worker-1", "delivery"), c.add(t, "worker-2", "delivery")}
	for _, w := range workers {
		w.start(t)
	}
	reading := func() []*service {
		var out []*service
		for _, w := range workers {
			if strings.Contains(w.log.String(), readingLine) {
				out = append(out, w)
			}
		}
		return out
	}
	workers[0].eventually(t, "one process reads the bot's commands", func() bool { return len(reading()) > 0 })
	first := reading()
	if len(first) != 1 {
		t.Fatalf("%d processes read the bot's commands, want 1", len(first))
	}
	room, _ := directChat(t, alice)
	say := func(command string) {
		t.Helper()
		if _, err := alice.Client.SendText(context.Background(), room, command); err != nil {
			t.Fatal(err)
		}
	}
	say("help")
	say("stop")
	got := alice.Notices(2, time.Minute)
	if !strings.Contains(got[0].Body, "help: this text") || !strings.Contains(got[1].Body, "Stopped") {
		t.Errorf("answers %q and %q, want help's and stop's, once each", got[0].Body, got[1].Body)
	}

	other := workers[0]
	if other == first[0] {
		other = workers[1]
	}
	first[0].kill(t)
	other.eventually(t, "the other process reads the bot's commands", func() bool { return strings.Contains(other.log.String(), readingLine) })
	say("start")
	if answer := alice.Notices(1, time.Minute)[0]; !strings.Contains(answer.Body, "Started") {
		t.Errorf("answer to start after the takeover: %q", answer.Body)
	}
	if extra := alice.Poll(1, 3*time.Second); len(extra) != 0 {
		t.Errorf("after the answers, %d more notices: %+v", len(extra), extra)
	}
	other.stop(t)
}
