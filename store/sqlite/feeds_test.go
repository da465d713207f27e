package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hark/store"
)

func TestFeedSecretRotates(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.FeedUser(ctx, "first"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no secret set: %v, want store.ErrNotFound", err)
	}
	if err := s.SetFeedSecret(ctx, u.ID, "first", now); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FeedUser(ctx, "first"); err != nil || got.ID != u.ID {
		t.Fatalf("FeedUser(first) = %v, %v", got, err)
	}
	if err := s.SetFeedSecret(ctx, u.ID, "second", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FeedUser(ctx, "first"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rotated secret still opens the feed: %v", err)
	}
	if got, err := s.FeedUser(ctx, "second"); err != nil || got.ID != u.ID {
		t.Errorf("FeedUser(second) = %v, %v", got, err)
	}
}
