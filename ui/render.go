package ui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"hark/store"
	"hark/templates"
)

// View is what every page template gets: the layout reads User and Title,
// the page's own template reads Data, and forms show Errors next to their
// fields (keyed by the field's name) with the Form values re-filled.
type View struct {
	Title  string
	User   store.User // zero on public pages
	Data   any
	Errors map[string]string
	Form   map[string]string
	// Notice is a one-line message at the top of the page, of NoticeKind
	// (noticeOK, noticeWarning or noticeError; "" reads as a warning).
	Notice     string
	NoticeKind string
	// Warnings say what on the page cannot work as it stands (a filter
	// with no destination, say), each with what to do about it.
	Warnings []string
}

// pages are the parsed page templates by file name, each joined with the
// layout.
type pages struct {
	byName map[string]*template.Template
}

// layoutFile and partial files (part-*.html) are shared by every page;
// every other .html file in templates/html is a page defining "content".
const layoutFile = "layout.html"

var funcs = template.FuncMap{
	// when formats t in the user's time zone.
	"when": func(t time.Time, u store.User) string {
		if t.IsZero() {
			return "never"
		}
		loc, err := time.LoadLocation(u.Timezone)
		if err != nil {
			loc = time.UTC
		}
		return t.In(loc).Format("2006-01-02 15:04 MST")
	},
}

// loadPages parses every page under templates/html once, at start.
func loadPages() (*pages, error) {
	base, err := template.New(layoutFile).Funcs(funcs).ParseFS(templates.HTML, "html/"+layoutFile)
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	if parts, _ := fs.Glob(templates.HTML, "html/part-*.html"); len(parts) > 0 {
		if base, err = base.ParseFS(templates.HTML, parts...); err != nil {
			return nil, fmt.Errorf("parse partials: %w", err)
		}
	}
	files, err := fs.Glob(templates.HTML, "html/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := path.Base(f)
		if name == layoutFile || strings.HasPrefix(name, "part-") {
			continue
		}
		t := template.Must(base.Clone())
		if _, err := t.ParseFS(templates.HTML, f); err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// render writes page name (a file in templates/html) inside the layout
// with status. It renders to a buffer first so a template error becomes a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v View) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("render page", "page", name, "err", "no such template")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.User.ID == 0 {
		v.User = userOf(r)
	}
	if kind, msg := s.takeFlash(w, r); msg != "" && v.Notice == "" {
		v.Notice, v.NoticeKind = msg, kind
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// fail answers a page request that went wrong: the status apiStatus
// gives err, with its message when it is meant for the user.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.errorStatus(r, err)
	s.render(w, r, status, "error.html", View{Title: http.StatusText(status), Notice: msg, NoticeKind: noticeError})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errNotFound) }

// Problem is an error meant for the user: an HTTP status, a message, and
// for invalid input the fields at fault with what is wrong with each.
type Problem struct {
	Status  int               `json:"-"`
	Message string            `json:"error"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (p *Problem) Error() string { return p.Message }

// Errors every handler uses. Another user's object is "not found" rather
// than "forbidden", so its existence is not revealed either.
var (
	errNotFound  = &Problem{Status: http.StatusNotFound, Message: "not found"}
	errForbidden = &Problem{Status: http.StatusForbidden, Message: "forbidden: admins only"}
)

// invalid is a 400 naming the field at fault.
func invalid(field, format string, args ...any) *Problem {
	msg := fmt.Sprintf(format, args...)
	return &Problem{Status: http.StatusBadRequest, Message: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// errorStatus maps err to a status and a message safe to show: a
// Problem's own, the store's not-found and conflicts, and for anything
// else a logged internal error.
func (s *Server) errorStatus(r *http.Request, err error) (int, string) {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p.Status, p.Message
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrTaken), errors.Is(err, store.ErrExists):
		return http.StatusConflict, err.Error()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, "internal error"
}
