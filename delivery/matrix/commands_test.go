package matrix_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"hark/accounts"
	"hark/delivery/matrix"
	"hark/destkind"
	"hark/internal/testpeer"
	"hark/store"
	"hark/store/sqlite"
)

// lockedBuffer is a log the bot writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestListenAnswersDirectChatsOnly: carol's commands in a direct chat
// with the bot are answered there and change her destination; a
// command in a room feed of three members is not taken for one; after
// the homeserver restarts, the bot answers again.
func TestListenAnswersDirectChatsOnly(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hs := testpeer.StartDendrite(t, testpeer.DendriteOptions{})
	botToken, botID := hs.Register("hark", "bot-password-1", false)
	carolToken, carolID := hs.Register("carol", "carol-password-1", false)
	daveToken, daveID := hs.Register("dave", "dave-password-1", false)
	u, err := st.CreateUser(ctx, store.User{Name: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: destkind.Matrix, Address: carolID, Enabled: true, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	bot, err := matrix.New(matrix.Options{Homeserver: hs.URL, UserID: botID, AccessToken: botToken,
		Settings: accounts.New(accounts.Options{Store: st}), Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	listening, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { bot.Listen(listening); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(time.Minute); !strings.Contains(log.String(), "matrix bot reading commands"); {
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not start reading commands:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A room feed: carol's public room, which the bot joins to post and
	// dave joins too.
	carol := hs.User(carolToken, carolID)
	feed, err := carol.Client.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	feedBatch := batch(string(feed.RoomID), 1)
	feedBatch.Destination.Kind = destkind.MatrixRoom
	if _, err := bot.Send(ctx, feedBatch); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.User(daveToken, daveID).Client.JoinRoomByID(ctx, feed.RoomID); err != nil {
		t.Fatal(err)
	}
	if got := carol.Notices(1, time.Minute)[0]; got.Room != feed.RoomID {
		t.Fatalf("the feed's notice came in %s, want %s", got.Room, feed.RoomID)
	}
	if _, err := carol.Client.SendText(ctx, feed.RoomID, "stop"); err != nil {
		t.Fatal(err)
	}

	direct, err := carol.Client.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{id.UserID(botID)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Client.SendText(ctx, direct.RoomID, "snooze on"); err != nil {
		t.Fatal(err)
	}
	answer := carol.Notices(1, time.Minute)[0]
	if answer.Room != direct.RoomID || answer.Sender != id.UserID(botID) || !strings.HasPrefix(answer.Body, "Snoozed until you send snooze off") {
		t.Errorf("answer %q from %s in %s, want the snooze's in the direct chat %s", answer.Body, answer.Sender, answer.Room, direct.RoomID)
	}
	d, err := st.DestinationByAddress(ctx, destkind.Matrix, carolID)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Enabled || !d.SnoozeUntil.Equal(store.Forever) {
		t.Errorf("carol's destination: enabled %t (stop in the feed must not count), snooze until %v (want on)", d.Enabled, d.SnoozeUntil)
	}

	// The homeserver restarts: the bot syncs on from where it was.
	hs.Stop()
	hs.Start()
	if _, err := carol.Client.SendText(ctx, direct.RoomID, "snooze off"); err != nil {
		t.Fatal(err)
	}
	if answer := carol.Notices(1, time.Minute)[0]; !strings.HasPrefix(answer.Body, "Snooze off") {
		t.Errorf("answer after the homeserver's restart: %q", answer.Body)
	}
}
