package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/store"
)

const userColumns = `u.id, u.name, u.admin, u.disabled, u.password_hash, u.timezone, u.created`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created pgtype.Timestamptz
	err := row.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &u.PasswordHash, &u.Timezone, &created)
	u.Created = timeOf(created)
	return u, err
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	u.Created = trunc(u.Created)
	err := s.pool.QueryRow(ctx, `
INSERT INTO users (name, admin, disabled, password_hash, timezone, created) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name) DO NOTHING RETURNING id`, u.Name, u.Admin, u.Disabled, u.PasswordHash, u.Timezone, u.Created).Scan(&u.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrExists
	}
	if err != nil {
		return u, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return u, nil
}

// UserByName implements store.Users.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	u, err := one(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1`, name), scanUser)
	if err != nil {
		return u, fmt.Errorf("find user %q: %w", name, err)
	}
	return u, nil
}

// UserByID implements store.Web.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := one(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id), scanUser)
	if err != nil {
		return u, fmt.Errorf("find user %d: %w", id, err)
	}
	return u, nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.name`)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetPasswordHash implements store.Users.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string) error {
	return s.updateUser(ctx, "set password of", name, `UPDATE users SET password_hash = $2 WHERE name = $1`, hash)
}

// SetUserDisabled implements store.Users.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, "disable", name, `UPDATE users SET disabled = $2 WHERE name = $1`, disabled)
}

// SetUserAdmin implements store.Users.
func (s *Store) SetUserAdmin(ctx context.Context, name string, admin bool) error {
	return s.updateUser(ctx, "set admin flag of", name, `UPDATE users SET admin = $2 WHERE name = $1`, admin)
}

// SetUserTimezone implements store.Web.
func (s *Store) SetUserTimezone(ctx context.Context, name, tz string) error {
	return s.updateUser(ctx, "set time zone of", name, `UPDATE users SET timezone = $2 WHERE name = $1`, tz)
}

// DeleteUser implements store.Web: everything the user owns goes with
// them (foreign keys cascade).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.updateUser(ctx, "delete", name, `DELETE FROM users WHERE name = $1`)
}

// updateUser runs query on user name ($1, then args).
func (s *Store) updateUser(ctx context.Context, verb, name, query string, args ...any) error {
	if err := changed(s.pool.Exec(ctx, query, append([]any{name}, args...)...))(store.ErrNotFound); err != nil {
		return fmt.Errorf("%s user %q: %w", verb, name, err)
	}
	return nil
}

// MarkFirstLogin implements store.Web.
func (s *Store) MarkFirstLogin(ctx context.Context, id int64, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET first_login = $1 WHERE id = $2 AND first_login IS NULL`, trunc(now), id)
	if err != nil {
		return false, fmt.Errorf("mark first login of user %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// secretHash is what the database keeps of a session, token or feed
// secret.
func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateSession implements store.Web.
func (s *Store) CreateSession(ctx context.Context, secret string, userID int64, expires, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
		secretHash(secret), userID, trunc(now), trunc(expires)); err != nil {
		return fmt.Errorf("create session of user %d: %w", userID, err)
	}
	return nil
}

// SessionUser implements store.Web.
func (s *Store) SessionUser(ctx context.Context, secret string, now time.Time) (store.User, error) {
	u, err := one(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.hash = $1 AND s.expires > $2`, secretHash(secret), trunc(now)), scanUser)
	if err != nil {
		return u, fmt.Errorf("find session: %w", err)
	}
	return u, nil
}

// DeleteSession implements store.Web.
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, secretHash(secret)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PruneSessions implements store.Web.
func (s *Store) PruneSessions(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires <= $1`, trunc(now)); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	return nil
}

// CreateAPIToken implements store.Web.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name, secret string, now time.Time) (store.APIToken, error) {
	t := store.APIToken{UserID: userID, Name: name, Created: trunc(now)}
	err := s.pool.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, hash, created) VALUES ($1, $2, $3, $4) RETURNING id`,
		userID, name, secretHash(secret), t.Created).Scan(&t.ID)
	if err != nil {
		return t, fmt.Errorf("create API token %q: %w", name, err)
	}
	return t, nil
}

// ListAPITokens implements store.Web.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, name, created, last_used FROM api_tokens WHERE user_id = $1 ORDER BY id`, userID)
	ts, err := collect(rows, err, func(row pgx.Row) (store.APIToken, error) {
		var t store.APIToken
		var created, used pgtype.Timestamptz
		err := row.Scan(&t.ID, &t.UserID, &t.Name, &created, &used)
		t.Created, t.LastUsed = timeOf(created), timeOf(used)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list API tokens of user %d: %w", userID, err)
	}
	return ts, nil
}

// RevokeAPIToken implements store.Web.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id int64) error {
	if err := changed(s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID))(store.ErrNotFound); err != nil {
		return fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return nil
}

// APITokenUser implements store.Web: it records the token's use and
// reads its user in one statement.
func (s *Store) APITokenUser(ctx context.Context, secret string, now time.Time) (store.User, error) {
	u, err := one(s.pool.QueryRow(ctx, `
WITH t AS (UPDATE api_tokens SET last_used = $2 WHERE hash = $1 RETURNING user_id)
SELECT `+userColumns+` FROM t JOIN users u ON u.id = t.user_id`, secretHash(secret), trunc(now)), scanUser)
	if err != nil {
		return u, fmt.Errorf("find API token: %w", err)
	}
	return u, nil
}

// SetFeedSecret implements store.Web.
func (s *Store) SetFeedSecret(ctx context.Context, userID int64, secret string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO feed_secrets (user_id, secret_hash, created) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE SET secret_hash = excluded.secret_hash, created = excluded.created`,
		userID, secretHash(secret), trunc(now)); err != nil {
		return fmt.Errorf("set feed secret of user %d: %w", userID, err)
	}
	return nil
}

// FeedUser implements store.Web.
func (s *Store) FeedUser(ctx context.Context, secret string) (store.User, error) {
	u, err := one(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM feed_secrets f JOIN users u ON u.id = f.user_id
WHERE f.secret_hash = $1 AND NOT u.disabled`, secretHash(secret)), scanUser)
	if err != nil {
		return u, fmt.Errorf("find feed: %w", err)
	}
	return u, nil
}
