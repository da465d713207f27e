package sqlite

import (
	"context"
	"fmt"
	"time"

	"hark/store"
)

// CreateUser implements Users.
func (s *SQLite) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	res, err := s.exec(ctx, insertUser, u.Name, u.Admin, u.Disabled, u.PasswordHash, u.Timezone, ms(u.Created))
	if err != nil {
		return u, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return u, fmt.Errorf("create user %q: %w", u.Name, store.ErrExists)
	}
	u.ID, err = res.LastInsertId()
	u.Created = fromMS(ms(u.Created))
	return u, err
}

// UserByName implements Users.
func (s *SQLite) UserByName(ctx context.Context, name string) (store.User, error) {
	u, err := one(s.r.QueryRowContext(ctx, selectUserByName, name), scanUser)
	if err != nil {
		return u, fmt.Errorf("find user %q: %w", name, err)
	}
	return u, nil
}

// ListUsers implements Users.
func (s *SQLite) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, selectUsers)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetPasswordHash implements Users.
func (s *SQLite) SetPasswordHash(ctx context.Context, name, hash string) error {
	return s.updateUser(ctx, "set password of", name, updateUserPassword, hash, name)
}

// SetUserDisabled implements Users.
func (s *SQLite) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, "disable", name, updateUserDisabled, disabled, name)
}

// SetUserAdmin implements Users.
func (s *SQLite) SetUserAdmin(ctx context.Context, name string, admin bool) error {
	return s.updateUser(ctx, "set admin flag of", name, updateUserAdmin, admin, name)
}

func (s *SQLite) updateUser(ctx context.Context, verb, name, query string, args ...any) error {
	if err := changed(s.exec(ctx, query, args...))(store.ErrNotFound); err != nil {
		return fmt.Errorf("%s user %q: %w", verb, name, err)
	}
	return nil
}

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created int64
	err := row.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &u.PasswordHash, &u.Timezone, &created)
	u.Created = fromMS(created)
	return u, err
}
