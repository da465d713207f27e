package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// After a backlog made the WAL large, it is brought back to the limit
// once the checkpointer has caught up, instead of keeping its largest
// size for good.
func TestWALShrinksAfterBacklog(t *testing.T) {
	old := walSizeLimit
	walSizeLimit = 1 << 20
	t.Cleanup(func() { walSizeLimit = old })
	path := filepath.Join(t.TempDir(), "hark.db")
	s := openAt(t, path)
	ctx := context.Background()
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	// The backlog: one transaction of eight times the limit.
	body := []byte(`{"text": "` + strings.Repeat("x", 64<<10) + `"}`)
	var backlog []store.Message
	for i := range 8 * 16 {
		m, err := store.NewMessage(fmt.Sprintf("backlog-%d", i), "org.fedoraproject.test.backlog", 1700000000, body, map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		backlog = append(backlog, m)
	}
	if _, err := s.AddMessages(ctx, backlog); err != nil {
		t.Fatal(err)
	}
	if got := walSize(); got < 8*walSizeLimit {
		t.Fatalf("the backlog left a WAL of %d bytes; the test needs one over %d", got, 8*walSizeLimit)
	}

	// Traffic goes on; once a checkpoint has copied the backlog, the
	// next commit starts the WAL anew and cuts it down.
	deadline := time.Now().Add(30 * checkpointEvery)
	for i := 0; walSize() > walSizeLimit; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is still %d bytes after %v; limit %d", walSize(), 30*checkpointEvery, walSizeLimit)
		}
		m, err := store.NewMessage(fmt.Sprintf("after-%d", i), "org.fedoraproject.test.after", 1700000000, []byte(`{}`), map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddMessages(ctx, []store.Message{m}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(checkpointEvery / 10) // paces the writes; the checkpointer runs on its own clock
	}
}
