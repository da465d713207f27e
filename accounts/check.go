package accounts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hark/store"
)

// How hark learns that a Fedora account was disabled or deleted: not at
// login, since Ipsilon refuses to log a locked account in at all, and
// not from the bus, since Noggin publishes user.create and user.update
// but no message when an account is locked or removed. Fedora's account
// directory, FASJSON, answers GET /v1/users/NAME/ with 404 for both: its
// user lookups leave out accounts with nsAccountLock set. So the
// Checker asks it, every oidc.account_check, about each enabled user who
// logs in through the provider, and disables those it no longer lists.

// CheckStore is what the account check needs of hark's store.
type CheckStore interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	SetUserDisabled(ctx context.Context, name string, disabled bool) error
}

// Checker disables the users whose account the provider's directory no
// longer lists.
type Checker struct {
	Store CheckStore
	// URL is the directory's user lookup with {name} where the user's
	// name goes (https://fasjson.fedoraproject.org/v1/users/{name}/): a
	// 404 there means the account is gone or locked; 200 that it is
	// there; anything else is no answer, and nobody is disabled on it.
	URL    string
	Client *http.Client
	Log    *slog.Logger
}

// Run checks at once and then every interval until ctx is done.
func (c *Checker) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := c.Check(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("account check", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check asks the directory about every enabled user who logs in through
// the identity provider (those without a local password) and disables
// the ones it answers 404 for; it returns their names. A user the
// directory cannot answer about (down, 5xx) is left as they are.
func (c *Checker) Check(ctx context.Context) (disabled []string, err error) {
	users, err := c.Store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("check accounts: %w", err)
	}
	for _, u := range users {
		if u.Disabled || u.PasswordHash != "" {
			continue
		}
		gone, err := c.gone(ctx, u.Name)
		if err != nil {
			c.Log.Warn("account check: no answer about a user; left as they are", "user", u.Name, "err", err)
			continue
		}
		if !gone {
			continue
		}
		if err := c.Store.SetUserDisabled(ctx, u.Name, true); err != nil {
			return disabled, fmt.Errorf("check accounts: %w", err)
		}
		c.Log.Info("account disabled: the identity provider's directory no longer lists it (locked or deleted); its filters stop", "user", u.Name)
		disabled = append(disabled, u.Name)
	}
	return disabled, nil
}

// gone asks the directory about name: true on 404, false on 2xx.
func (c *Checker) gone(ctx context.Context, name string) (bool, error) {
	target := strings.ReplaceAll(c.URL, "{name}", url.PathEscape(name))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", name, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return true, nil
	case resp.StatusCode/100 == 2:
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %s answered %s", name, req.URL.Host, resp.Status)
}
