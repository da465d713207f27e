package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"hark/store"
)

// OIDCOptions configure OpenID Connect login (config oidc.*).
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// UsernameClaim is the ID token claim that names the hark user.
	UsernameClaim string
	// HTTPClient talks to the provider; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// oidcLogin is the relying party: discovery done once at start, then
// the authorization code flow with state, nonce and PKCE.
type oidcLogin struct {
	opts     OIDCOptions
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// Cookies carrying the flow's per-login secrets between the redirect to
// the provider and the callback; SameSite=Lax, as the callback is a
// top-level navigation from the provider's site.
const (
	oidcStateCookie    = "hark_oidc_state"
	oidcNonceCookie    = "hark_oidc_nonce"
	oidcVerifierCookie = "hark_oidc_pkce"
	oidcNextCookie     = "hark_oidc_next"
)

func newOIDCLogin(ctx context.Context, opts OIDCOptions, callback string) (*oidcLogin, error) {
	if opts.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, opts.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover openid provider %s: %w", opts.Issuer, err)
	}
	return &oidcLogin{
		opts: opts,
		oauth: oauth2.Config{
			ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: callback, Scopes: opts.Scopes,
		},
		// The verifier checks signature, issuer, audience (our client
		// ID) and expiry.
		verifier: provider.Verifier(&oidc.Config{ClientID: opts.ClientID}),
	}, nil
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomSecret(), randomSecret(), oauth2.GenerateVerifier()
	for name, v := range map[string]string{
		oidcStateCookie: state, oidcNonceCookie: nonce, oidcVerifierCookie: verifier,
		oidcNextCookie: safeNext(r.URL.Query().Get("next")),
	} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/login/oidc", MaxAge: 600,
			Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback finishes the login: the provider's answer must carry our
// state, its ID token must verify and carry our nonce, and the username
// claim names the hark user, created on first login.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	u, err := s.oidcUser(r)
	if err != nil {
		s.log.Warn("openid connect login refused", "err", err)
		s.render(w, r, http.StatusUnauthorized, "login.html", View{
			Title: "Log in", Data: loginData{Next: "/", OIDC: true},
			Notice: "Login through the identity provider failed: " + err.Error(), NoticeKind: noticeError,
		})
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	next := "/"
	if c, err := r.Cookie(oidcNextCookie); err == nil {
		next = safeNext(c.Value)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// oidcUser is the hark user the callback request proves to be.
func (s *Server) oidcUser(r *http.Request) (store.User, error) {
	ctx := r.Context()
	if s.oidc.opts.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, s.oidc.opts.HTTPClient)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return store.User{}, fmt.Errorf("provider answered %q", e)
	}
	state, err := r.Cookie(oidcStateCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(state.Value), []byte(q.Get("state"))) != 1 {
		return store.User{}, errors.New("state does not match this browser's login")
	}
	verifier, err := r.Cookie(oidcVerifierCookie)
	if err != nil {
		return store.User{}, errors.New("login took too long: start again")
	}
	tok, err := s.oidc.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier.Value))
	if err != nil {
		return store.User{}, fmt.Errorf("exchange code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return store.User{}, errors.New("token response has no id_token")
	}
	idt, err := s.oidc.verifier.Verify(ctx, raw)
	if err != nil {
		return store.User{}, fmt.Errorf("verify id token: %w", err)
	}
	nonce, err := r.Cookie(oidcNonceCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(nonce.Value), []byte(idt.Nonce)) != 1 {
		return store.User{}, errors.New("id token nonce does not match this browser's login")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return store.User{}, fmt.Errorf("read id token claims: %w", err)
	}
	name, _ := claims[s.oidc.opts.UsernameClaim].(string)
	if p := checkName(s.oidc.opts.UsernameClaim, name); p != nil {
		return store.User{}, fmt.Errorf("id token claim %s: %s", s.oidc.opts.UsernameClaim, p.Fields[s.oidc.opts.UsernameClaim])
	}
	u, err := s.store.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.store.CreateUser(ctx, store.User{Name: name})
	}
	if err != nil {
		return store.User{}, err
	}
	if u.Disabled {
		return store.User{}, fmt.Errorf("user %s is disabled", name)
	}
	return u, nil
}
