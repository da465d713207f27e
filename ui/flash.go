package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// A flash notice says on the next page what the last action did: a form
// POST answers 303 (post/redirect/get, so reloading does not post again),
// and the page it leads to has to know what happened. It travels in a
// short-lived cookie read once.

const flashCookie = "hark_notice"

// Notice kinds, styled apart: an action that worked, one that worked but
// leaves something that cannot work yet, and one that failed.
const (
	noticeOK      = "ok"
	noticeWarning = "warning"
	noticeError   = "error"
)

// setFlash has the next page rendered for this browser show msg.
func (s *Server) setFlash(w http.ResponseWriter, kind, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(kind + ":" + msg), Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// takeFlash is the notice set by the last action, if any, and clears it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) (kind, msg string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return "", ""
	}
	kind, msg, ok := strings.Cut(v, ":")
	if !ok || kind != noticeOK && kind != noticeWarning {
		return "", ""
	}
	return kind, msg
}
