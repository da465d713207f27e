package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"hark/store"
)

const (
	maxNameLen       = 64
	maxPasswordLen   = 256
	minPasswordLen   = 8
	sessionCookie    = "hark_session"
	secureCookiePref = "__Host-" // browsers accept it only Secure, Path=/, host-only
)

type userKey struct{}

// userOf is the user a request was authenticated as. Only handlers behind
// Page, AdminPage, API and AdminAPI may call it.
func userOf(r *http.Request) store.User {
	u, _ := r.Context().Value(userKey{}).(store.User)
	return u
}

// owns reports whether u may see and change an object owned by ownerID:
// its owner, or an admin.
func owns(u store.User, ownerID int64) bool { return u.Admin || u.ID == ownerID }

// authenticate runs h for a request carrying a valid session cookie or
// API token of an enabled user (and an admin when admin is set); others
// get denied.
func (s *Server) authenticate(h http.Handler, admin bool, denied func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.requestUser(r)
		if err != nil || u.Disabled {
			denied(w, r)
			return
		}
		if admin && !u.Admin {
			s.fail(w, r, errForbidden)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// requestUser finds the user of r's bearer token or session cookie.
func (s *Server) requestUser(r *http.Request) (store.User, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || len(token) > 128 {
			return store.User{}, errors.New("authenticate: Authorization is not a Bearer token")
		}
		return s.store.APITokenUser(r.Context(), token, s.now())
	}
	c, err := r.Cookie(s.cookieName())
	if err != nil || len(c.Value) > 128 {
		return store.User{}, errors.New("authenticate: no session")
	}
	return s.store.SessionUser(r.Context(), c.Value, s.now())
}

// toLogin sends a visitor without a session to the login page, to come
// back here afterwards.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

func (s *Server) cookieName() string {
	if s.secure {
		return secureCookiePref + sessionCookie
	}
	return sessionCookie
}

// startSession logs u in on w: a new session cookie, and on the user's
// first web login the default filters when configured.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	secret := randomSecret()
	now := s.now()
	expires := now.Add(s.opts.SessionTTL)
	if err := s.store.CreateSession(r.Context(), secret, u.ID, expires, now); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: secret, Path: "/", Expires: expires,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	first, err := s.store.MarkFirstLogin(r.Context(), u.ID, now)
	if err != nil {
		return err
	}
	if first && s.opts.DefaultFilters {
		if _, err := s.settings.AddDefaults(r.Context(), u.Name); err != nil {
			return err
		}
	}
	s.log.Info("login", "user", u.Name, "first", first)
	// Logins are rare, so each sweeps the sessions that have expired.
	return s.store.PruneSessions(r.Context(), now)
}

// safeNext is where to go after logging in: a path on this site, never
// another site. Browsers drop tabs and newlines from URLs and read "\"
// as "/", so "/\tevil.example" or "/\\evil.example" would be
// "//evil.example", another site: only a plain path passes.
func safeNext(next string) string {
	bad := len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' })
	if bad {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// initSetup makes the one-time setup link when no admin exists.
func (s *Server) initSetup(ctx context.Context) error {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Admin {
			return nil
		}
	}
	s.setupToken = randomSecret()
	return nil
}

// SetupURL is the one-time link that creates the first admin, or "" when
// an admin exists. hark serve prints it at start.
func (s *Server) SetupURL() string {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if s.setupToken == "" {
		return ""
	}
	return s.url("/setup/" + s.setupToken)
}

// setupValid reports whether token is the current setup token.
func (s *Server) setupValid(token string) bool {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	return s.setupToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.setupToken)) == 1
}
