package store

import (
	"context"
	"time"
)

// Web is what the web UI keeps beyond users' settings: login sessions,
// API tokens for scripts and failed logins for rate limiting, and the
// per-user reads and writes of the account pages. Secrets are handed in
// as the caller holds them and stored only as hashes.
type Web interface {
	UserByID(ctx context.Context, id int64) (User, error)
	SetUserTimezone(ctx context.Context, name, tz string) error
	// DeleteUser removes a user with everything they own.
	DeleteUser(ctx context.Context, name string) error
	// MarkFirstLogin records a user's first web login, and says whether
	// this was it.
	MarkFirstLogin(ctx context.Context, id int64, now time.Time) (bool, error)
	DestinationByID(ctx context.Context, id int64) (Destination, error)
	DeleteDestination(ctx context.Context, id int64) error
	// PruneUnconfirmed deletes the destinations made before before and
	// still unconfirmed, and says how many.
	PruneUnconfirmed(ctx context.Context, before time.Time) (int64, error)
	// FilterByID is one filter with its rules and destinations.
	FilterByID(ctx context.Context, id int64) (Filter, error)
	// FilterMatches counts, per filter of a user, the messages that made
	// a notification through it since since.
	FilterMatches(ctx context.Context, userID int64, since time.Time) (map[int64]int, error)

	CreateSession(ctx context.Context, secret string, userID int64, expires, now time.Time) error
	// SessionUser is the user of an unexpired session (ErrNotFound else).
	SessionUser(ctx context.Context, secret string, now time.Time) (User, error)
	DeleteSession(ctx context.Context, secret string) error
	PruneSessions(ctx context.Context, now time.Time) error

	// CreateAPIToken stores a token of a user under a name of their choice.
	CreateAPIToken(ctx context.Context, userID int64, name, secret string, now time.Time) (APIToken, error)
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	// RevokeAPIToken deletes token id of userID (ErrNotFound when the
	// user has no such token).
	RevokeAPIToken(ctx context.Context, userID, id int64) error
	// APITokenUser is the user holding secret, and records its use.
	APITokenUser(ctx context.Context, secret string, now time.Time) (User, error)
	// SetFeedSecret makes secret the one that opens userID's Atom feed,
	// replacing the one before (whose URL stops working); FeedUser is
	// the enabled user whose feed secret is secret (ErrNotFound else).
	SetFeedSecret(ctx context.Context, userID int64, secret string, now time.Time) error
	FeedUser(ctx context.Context, secret string) (User, error)
}

// APIToken is a user's token for scripts; the secret itself is shown
// once, when it is created, and never stored.
type APIToken struct {
	ID       int64
	UserID   int64
	Name     string
	Created  time.Time
	LastUsed time.Time // zero until used
}
