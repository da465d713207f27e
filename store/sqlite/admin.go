package sqlite

import "context"

// SetUserAdmin makes the user name an admin of hark, or not: a user made
// on the command line can then administer the web UI too.
func (s *SQLite) SetUserAdmin(ctx context.Context, name string, admin bool) error {
	verb := "make admin"
	if !admin {
		verb = "revoke admin of"
	}
	return s.updateUser(ctx, verb, name, updateUserAdmin, admin, name)
}
