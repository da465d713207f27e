package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"hark/store"
)

// secretHash is what the database keeps of a session or token secret.
func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// UserByID implements Web.
func (s *SQLite) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := one(s.r.QueryRowContext(ctx, selectUserByID, id), scanUser)
	if err != nil {
		return u, fmt.Errorf("find user %d: %w", id, err)
	}
	return u, nil
}

// SetUserTimezone implements Web.
func (s *SQLite) SetUserTimezone(ctx context.Context, name, tz string) error {
	return s.updateUser(ctx, "set time zone of", name, updateUserTZ, tz, name)
}

// DeleteUser implements Web.
func (s *SQLite) DeleteUser(ctx context.Context, name string) error {
	return s.updateUser(ctx, "delete", name, deleteUserByName, name)
}

// MarkFirstLogin implements Web.
func (s *SQLite) MarkFirstLogin(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := s.exec(ctx, markFirstLogin, ms(now), id)
	if err != nil {
		return false, fmt.Errorf("mark first login of user %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DestinationByID implements Web.
func (s *SQLite) DestinationByID(ctx context.Context, id int64) (store.Destination, error) {
	d, err := one(s.r.QueryRowContext(ctx, selectDestination, id), scanDestination)
	if err != nil {
		return d, fmt.Errorf("find destination %d: %w", id, err)
	}
	return d, nil
}

// DeleteDestination implements Web.
func (s *SQLite) DeleteDestination(ctx context.Context, id int64) error {
	if err := changed(s.exec(ctx, deleteDestination, id))(store.ErrNotFound); err != nil {
		return fmt.Errorf("delete destination %d: %w", id, err)
	}
	return nil
}

// FilterByID implements Web.
func (s *SQLite) FilterByID(ctx context.Context, id int64) (store.Filter, error) {
	fs, err := s.filters(ctx, selectFilterByID, id)
	if err == nil && len(fs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Filter{}, fmt.Errorf("find filter %d: %w", id, err)
	}
	return fs[0], nil
}

// FilterMatches implements Web.
func (s *SQLite) FilterMatches(ctx context.Context, userID int64, since time.Time) (map[int64]int, error) {
	rows, err := s.r.QueryContext(ctx, selectFilterMatches, userID, ms(since))
	type count struct {
		id int64
		n  int
	}
	counts, err := collect(rows, err, func(row scanner) (count, error) {
		var c count
		return c, row.Scan(&c.id, &c.n)
	})
	if err != nil {
		return nil, fmt.Errorf("count filter matches of user %d: %w", userID, err)
	}
	out := make(map[int64]int, len(counts))
	for _, c := range counts {
		out[c.id] = c.n
	}
	return out, nil
}

// CreateSession implements Web.
func (s *SQLite) CreateSession(ctx context.Context, secret string, userID int64, expires, now time.Time) error {
	if _, err := s.exec(ctx, insertSession, secretHash(secret), userID, ms(now), ms(expires)); err != nil {
		return fmt.Errorf("create session of user %d: %w", userID, err)
	}
	return nil
}

// SessionUser implements Web.
func (s *SQLite) SessionUser(ctx context.Context, secret string, now time.Time) (store.User, error) {
	u, err := one(s.r.QueryRowContext(ctx, selectSessionUser, secretHash(secret), ms(now)), scanUser)
	if err != nil {
		return u, fmt.Errorf("find session: %w", err)
	}
	return u, nil
}

// DeleteSession implements Web.
func (s *SQLite) DeleteSession(ctx context.Context, secret string) error {
	if _, err := s.exec(ctx, deleteSession, secretHash(secret)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PruneSessions implements Web.
func (s *SQLite) PruneSessions(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, deleteExpiredSession, ms(now)); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	return nil
}

// CreateAPIToken implements Web.
func (s *SQLite) CreateAPIToken(ctx context.Context, userID int64, name, secret string, now time.Time) (store.APIToken, error) {
	t := store.APIToken{UserID: userID, Name: name, Created: fromMS(ms(now))}
	res, err := s.exec(ctx, insertAPIToken, userID, name, secretHash(secret), ms(now))
	if err == nil {
		t.ID, err = res.LastInsertId()
	}
	if err != nil {
		return t, fmt.Errorf("create API token %q: %w", name, err)
	}
	return t, nil
}

// ListAPITokens implements Web.
func (s *SQLite) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, selectAPITokens, userID)
	ts, err := collect(rows, err, func(row scanner) (store.APIToken, error) {
		var t store.APIToken
		var created, used int64
		err := row.Scan(&t.ID, &t.UserID, &t.Name, &created, &used)
		t.Created, t.LastUsed = fromMS(created), fromMS(used)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list API tokens of user %d: %w", userID, err)
	}
	return ts, nil
}

// RevokeAPIToken implements Web.
func (s *SQLite) RevokeAPIToken(ctx context.Context, userID, id int64) error {
	if err := changed(s.exec(ctx, deleteAPIToken, id, userID))(store.ErrNotFound); err != nil {
		return fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return nil
}

// APITokenUser implements Web.
func (s *SQLite) APITokenUser(ctx context.Context, secret string, now time.Time) (store.User, error) {
	var id int64
	if _, err := one(s.w.QueryRowContext(ctx, touchAPIToken, ms(now), secretHash(secret)), func(row scanner) (struct{}, error) {
		return struct{}{}, row.Scan(&id)
	}); err != nil {
		return store.User{}, fmt.Errorf("find API token: %w", err)
	}
	return s.UserByID(ctx, id)
}
