package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// pageView builds a page (its template and view) for r: what a form POST
// shows again, with errors, when the input was wrong.
type pageView func(r *http.Request) (string, View, error)

// finish ends a form POST whose success is best said as "Saved.".
func (s *Server) finish(w http.ResponseWriter, r *http.Request, err error, next string, page pageView) {
	s.finishWith(w, r, err, next, page, "Saved.")
}

// finishWith ends a form POST: on success back to next with 303 (so
// reload does not post again) and done shown there as a notice; on the
// user's mistake the page again with the error next to its field and the
// typed values kept; on anything else the error page.
func (s *Server) finishWith(w http.ResponseWriter, r *http.Request, err error, next string, page pageView, done string) {
	if err == nil {
		s.setFlash(w, noticeOK, done)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusBadRequest && p.Status != http.StatusConflict {
		s.fail(w, r, err)
		return
	}
	name, v, verr := page(r)
	if verr != nil {
		s.fail(w, r, verr)
		return
	}
	v.Errors = p.Fields
	if len(p.Fields) == 0 {
		v.Notice, v.NoticeKind = p.Message, noticeError
	} else {
		v.Notice, v.NoticeKind = "Nothing was saved: see the error below.", noticeError
	}
	v.Form = map[string]string{}
	for k, vals := range r.PostForm {
		v.Form[k] = vals[0]
	}
	s.render(w, r, p.Status, name, v)
}

// show renders page for a GET.
func (s *Server) show(page pageView) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, v, err := page(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, name, v)
	}
}

// text is a posted text field, trimmed, at most max bytes.
func text(r *http.Request, field string, max int) (string, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if len(v) > max {
		return "", invalid(field, "is longer than %d characters", max)
	}
	return v, nil
}

// pathID is the numeric path value name; a malformed one is not found.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// checked is a posted checkbox: present means on.
func checked(r *http.Request, field string) bool { return r.PostFormValue(field) != "" }

// ownObject loads the object named by the path's {id} and returns it if
// the user owns it (or is an admin); another user's object is not found.
func ownObject[T any](r *http.Request, load func(context.Context, int64) (T, error), owner func(T) int64) (T, error) {
	var zero T
	id, err := pathID(r, "id")
	if err != nil {
		return zero, err
	}
	v, err := load(r.Context(), id)
	if err != nil {
		return zero, err
	}
	if !owns(userOf(r), owner(v)) {
		return zero, errNotFound
	}
	return v, nil
}
