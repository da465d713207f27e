package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"

	"hark/destkind"
	"hark/store"
)

// Identity is what an identity provider vouches for about a person at
// login (a Fedora account through OpenID Connect): their email address,
// the groups they are in, and their Matrix IDs.
type Identity struct {
	Name   string
	Email  string
	Groups []string
	// Matrix are full Matrix IDs (@nick:server), see MatrixIDs.
	Matrix []string
}

// IdentityStore is what applying an identity needs of hark's store.
type IdentityStore interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	SetUserAdmin(ctx context.Context, name string, admin bool) error
	ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error)
	SaveDestination(ctx context.Context, d store.Destination) (store.Destination, error)
}

// ErrDisabled is a login of an account an admin disabled (or the
// provider no longer lists).
var ErrDisabled = errors.New("account is disabled")

// SignIn is the hark user a provider-vouched identity logs in as,
// created on first login. At every login the provider is believed
// afresh: the user is an admin exactly when one of their groups is in
// adminGroups (none configured leaves the flag as admins set it), and
// their email address and Matrix IDs become confirmed destinations,
// unless another user confirmed one first (logged, skipped).
func SignIn(ctx context.Context, st IdentityStore, log *slog.Logger, id Identity, adminGroups []string) (store.User, error) {
	u, err := st.UserByName(ctx, id.Name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = st.CreateUser(ctx, store.User{Name: id.Name})
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sign in %s: %w", id.Name, err)
	}
	if u.Disabled {
		return store.User{}, fmt.Errorf("sign in %s: %w", id.Name, ErrDisabled)
	}
	if len(adminGroups) > 0 {
		admin := slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(adminGroups, g) })
		if admin != u.Admin {
			if err := st.SetUserAdmin(ctx, u.Name, admin); err != nil {
				return store.User{}, fmt.Errorf("sign in %s: %w", id.Name, err)
			}
			log.Info("admin flag from the identity provider's groups", "user", u.Name, "admin", admin)
			u.Admin = admin
		}
	}
	var vouched []store.Destination
	if id.Email != "" {
		a, err := mail.ParseAddress(id.Email)
		if err != nil || a.Address != id.Email {
			log.Warn("identity provider's email claim is not a bare address; not added", "user", u.Name, "email", id.Email)
		} else {
			vouched = append(vouched, store.Destination{Kind: store.KindEmail, Address: id.Email})
		}
	}
	for _, m := range id.Matrix {
		vouched = append(vouched, store.Destination{Kind: destkind.Matrix, Address: m})
	}
	have, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("sign in %s: %w", id.Name, err)
	}
	for _, d := range vouched {
		i := slices.IndexFunc(have, func(h store.Destination) bool { return h.Kind == d.Kind && h.Address == d.Address })
		switch {
		case i < 0:
			d.UserID, d.Enabled = u.ID, true
		case have[i].Confirmed:
			continue
		default:
			d = have[i] // the user's own claim, confirmed by the provider
		}
		d.Confirmed, d.ConfirmCode = true, ""
		if _, err := st.SaveDestination(ctx, d); errors.Is(err, store.ErrTaken) {
			log.Warn("identity provider's address is confirmed by another user; not added", "user", u.Name, "destination", Address(d))
		} else if err != nil {
			return store.User{}, fmt.Errorf("sign in %s: add %s: %w", id.Name, Address(d), err)
		}
	}
	return u, nil
}

// MatrixIDs are the Matrix IDs among a provider's chat handles: a full
// ID (@nick:server), or a Fedora account's chat entry, where
// matrix:/nick is @nick:defaultServer and matrix://server/nick is
// @nick:server; entries of other networks (irc:/nick) are ignored.
func MatrixIDs(handles []string, defaultServer string) []string {
	var out []string
	for _, h := range handles {
		var nick, server string
		switch {
		case strings.HasPrefix(h, "@"):
			nick, server, _ = strings.Cut(h[1:], ":")
		case strings.HasPrefix(h, "matrix://"):
			server, nick, _ = strings.Cut(strings.TrimPrefix(h, "matrix://"), "/")
		case strings.HasPrefix(h, "matrix:/"):
			nick, server = strings.TrimPrefix(h, "matrix:/"), defaultServer
		default:
			continue
		}
		id := "@" + strings.ToLower(nick) + ":" + strings.ToLower(server)
		if destkind.Check(destkind.Matrix, id) == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
