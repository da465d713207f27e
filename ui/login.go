package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"hark/store"
)

// authRoutes are the routes of logging in and out, the first admin's
// setup, and the home page.
func (s *Server) authRoutes(rt *Routes) {
	rt.Public("GET /login", s.loginPage)
	rt.Public("POST /login", s.login)
	rt.Public("POST /logout", s.logout)
	rt.Public("GET /setup/{token}", s.setupPage)
	rt.Public("POST /setup/{token}", s.setup)
	if s.oidc != nil {
		rt.Public("GET /login/oidc", s.oidcStart)
		rt.Public("GET /login/oidc/callback", s.oidcCallback)
	}
	rt.Page("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/filters", http.StatusSeeOther)
	})
}

// loginData is what the login page shows.
type loginData struct {
	Next string
	OIDC bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	s.render(w, r, http.StatusOK, "login.html", View{Title: "Log in", Data: loginData{Next: next, OIDC: s.oidc != nil}})
}

// login checks a local account's password. Every failure looks the same
// to the visitor (no telling which user names exist). Every attempt
// costs a token of the login limiter before the password is checked
// (given back if it was right); without one the answer is 429 with
// Retry-After: guessing is slowed, and the account's owner is never
// locked out.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	v := View{Title: "Log in", Data: loginData{Next: next, OIDC: s.oidc != nil}, Form: map[string]string{"username": name}}
	if err := checkName("username", name); err != nil {
		v.Errors = err.Fields
		s.render(w, r, http.StatusBadRequest, "login.html", v)
		return
	}
	if len(password) > maxPasswordLen {
		v.Errors = map[string]string{"password": "is longer than 256 characters"}
		s.render(w, r, http.StatusBadRequest, "login.html", v)
		return
	}
	keys := s.loginKeys(r, name)
	if wait := s.limiter.take(s.now(), keys); wait > 0 {
		secs := retryAfter(wait)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		v.Notice, v.NoticeKind = fmt.Sprintf("Too many login attempts: wait %d seconds and try again.", secs), noticeError
		s.render(w, r, http.StatusTooManyRequests, "login.html", v)
		return
	}
	u, err := s.store.UserByName(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled || hash == "" {
		hash = decoyHash() // as slow as a real check: timing tells no user names
	}
	if !store.CheckPassword(hash, password) || hash != u.PasswordHash {
		v.Errors = map[string]string{"password": "wrong user name or password"}
		s.render(w, r, http.StatusUnauthorized, "login.html", v)
		return
	}
	s.limiter.giveBack(s.now(), keys)
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil && len(c.Value) <= 128 {
		if err := s.store.DeleteSession(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Path: "/", MaxAge: -1, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	if !s.setupValid(r.PathValue("token")) {
		s.fail(w, r, errNotFound)
		return
	}
	s.render(w, r, http.StatusOK, "setup.html", View{Title: "Create the first admin"})
}

// setup creates the first admin from the one-time link and logs them in;
// the link stops working at once.
func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if !s.setupValid(r.PathValue("token")) {
		s.fail(w, r, errNotFound)
		return
	}
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	v := View{Title: "Create the first admin", Form: map[string]string{"username": name}}
	p := checkName("username", name)
	if p == nil {
		p = checkPassword("password", password)
	}
	if p != nil {
		v.Errors = p.Fields
		s.render(w, r, http.StatusBadRequest, "setup.html", v)
		return
	}
	hash, err := store.HashPassword(password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setupMu.Lock()
	if s.setupToken == "" { // another request won the race
		s.setupMu.Unlock()
		s.fail(w, r, errNotFound)
		return
	}
	u, err := s.store.CreateUser(r.Context(), store.User{Name: name, Admin: true, PasswordHash: hash})
	if err == nil {
		s.setupToken = ""
	}
	s.setupMu.Unlock()
	if err != nil {
		v.Errors = map[string]string{"username": err.Error()}
		s.render(w, r, http.StatusBadRequest, "setup.html", v)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// decoyHash is what a login is checked against when the user has no
// password to check (unknown, disabled, or logging in by OpenID
// Connect only), so that it takes as long as a wrong password.
var decoyHash = sync.OnceValue(func() string {
	h, _ := store.HashPassword(randomSecret()) // matches nothing anyone types
	return h
})

// checkName checks a user name as typed into field.
func checkName(field, name string) *Problem {
	switch {
	case name == "":
		return invalid(field, "is required")
	case len(name) > maxNameLen:
		return invalid(field, "is longer than %d characters", maxNameLen)
	case strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return invalid(field, "must not contain spaces or control characters")
	}
	return nil
}

// checkPassword checks a new password typed into field.
func checkPassword(field, password string) *Problem {
	switch {
	case len(password) < minPasswordLen:
		return invalid(field, "must be at least %d characters", minPasswordLen)
	case len(password) > maxPasswordLen:
		return invalid(field, "is longer than %d characters", maxPasswordLen)
	}
	return nil
}
