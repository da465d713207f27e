package sqlite

import (
	"context"
	"fmt"
	"time"

	"hark/store"
)

// SetFeedSecret makes secret the one that opens userID's Atom feed,
// replacing the one before, whose URL stops working: rotating the URL.
// Only its hash is kept.
func (s *SQLite) SetFeedSecret(ctx context.Context, userID int64, secret string, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, upsertFeedSecret, userID, secretHash(secret), ms(now)); err != nil {
		return fmt.Errorf("set feed secret of user %d: %w", userID, err)
	}
	return nil
}

// FeedUser is the enabled user whose feed secret is secret (ErrNotFound
// for any other secret).
func (s *SQLite) FeedUser(ctx context.Context, secret string) (store.User, error) {
	u, err := one(s.r.QueryRowContext(ctx, selectFeedUser, secretHash(secret)), scanUser)
	if err != nil {
		return u, fmt.Errorf("find feed: %w", err)
	}
	return u, nil
}
