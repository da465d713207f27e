package sqlite

import (
	"context"
	"testing"
	"time"

	"hark/store"
)

func TestSecretsAreStoredHashed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, store.User{Name: "alice"})
	now := time.Now()
	s.CreateSession(ctx, "session-secret", u.ID, now.Add(time.Hour), now)
	s.CreateAPIToken(ctx, u.ID, "script", "token-secret", now)
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sessions WHERE hash LIKE '%secret%') + (SELECT COUNT(*) FROM api_tokens WHERE hash LIKE '%secret%')`).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("%d secrets stored in the clear (%v)", n, err)
	}
	if got, err := s.APITokenUser(ctx, "token-secret", now); err != nil || got.ID != u.ID {
		t.Fatalf("APITokenUser = %v, %v", got, err)
	}
}
