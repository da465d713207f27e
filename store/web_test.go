package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessionLastsUntilExpiry(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	if err := s.CreateSession(ctx, "secret", u.ID, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		at     time.Time
		want   error
	}{
		{"before expiry", "secret", now.Add(59 * time.Minute), nil},
		{"at expiry", "secret", now.Add(time.Hour), ErrNotFound},
		{"other secret", "guess", now, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SessionUser(ctx, tc.secret, tc.at)
			if !errors.Is(err, tc.want) || (err == nil && got.Name != "alice") {
				t.Fatalf("SessionUser = %v, %v; want alice, %v", got.Name, err, tc.want)
			}
		})
	}
}

func TestSecretsAreStoredHashed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, User{Name: "alice"})
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

func TestRevokeAPITokenOnlyOwn(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	alice, _ := s.CreateUser(ctx, User{Name: "alice"})
	bob, _ := s.CreateUser(ctx, User{Name: "bob"})
	tok, err := s.CreateAPIToken(ctx, alice.ID, "script", "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, bob.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob revoking alice's token: %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIToken(ctx, alice.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
}

func TestFirstLoginIsMarkedOnce(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, User{Name: "alice"})
	for i, want := range []bool{true, false} {
		if first, err := s.MarkFirstLogin(ctx, u.ID, time.Now()); err != nil || first != want {
			t.Fatalf("login %d: first = %v, %v; want %v", i+1, first, err, want)
		}
	}
}
