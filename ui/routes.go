package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"

	"hark/templates"
)

// Routes is how handlers are added to the server: every route says who may
// call it, and the wrapper enforces it before the handler runs.
type Routes struct {
	s   *Server
	mux *http.ServeMux
}

// extensions are routes added by other files of this package through
// register, so a new page is one new file.
var (
	extensionsMu sync.Mutex
	extensions   []func(*Server, *Routes)
)

// register adds routes when a Server is built; call it from init.
func register(add func(*Server, *Routes)) {
	extensionsMu.Lock()
	defer extensionsMu.Unlock()
	extensions = append(extensions, add)
}

// Public serves pattern to anyone: login, confirmation and unsubscribe
// links, which carry their own secret.
func (rt *Routes) Public(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, h)
}

// Page serves pattern to a logged-in user (session cookie or API token);
// a visitor without one is sent to the login page.
func (rt *Routes) Page(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.s.authenticate(rt.s.parseForm(h), false, rt.s.toLogin))
}

// AdminPage is Page for admins only; others get 403.
func (rt *Routes) AdminPage(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.s.authenticate(rt.s.parseForm(h), true, rt.s.toLogin))
}

// API serves pattern under /api/v1 (pattern is "METHOD /path", the prefix
// added here) to a user with a session or an API token, answering JSON.
// h returns the value to encode, or an error that apiError maps to a
// status.
func (rt *Routes) API(pattern string, h APIHandler) {
	rt.mux.Handle(apiPattern(pattern), rt.s.authenticate(rt.s.serveAPI(h), false, unauthorizedJSON))
}

// AdminAPI is API for admins only.
func (rt *Routes) AdminAPI(pattern string, h APIHandler) {
	rt.mux.Handle(apiPattern(pattern), rt.s.authenticate(rt.s.serveAPI(h), true, unauthorizedJSON))
}

// parseForm reads a page's posted form before h runs, so h can use
// r.PostForm; a body too large or malformed is answered here.
func (s *Server) parseForm(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if !errors.As(err, &tooBig) {
				err = &Problem{Status: http.StatusBadRequest, Message: fmt.Sprintf("read form: %v", err)}
			}
			s.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// routes builds the whole handler: every route, then CSRF protection,
// security headers and body size limits around all of them.
func (s *Server) routes() http.Handler {
	rt := &Routes{s: s, mux: http.NewServeMux()}
	static, _ := fs.Sub(templates.HTML, "html/static") // the directory is embedded
	rt.Public("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)).ServeHTTP)
	s.authRoutes(rt)
	extensionsMu.Lock()
	for _, add := range extensions {
		add(s, rt)
	}
	extensionsMu.Unlock()
	rt.API("/", func(*http.Request) (any, error) { return nil, errNotFound })
	rt.mux.Handle("/", s.authenticate(http.HandlerFunc(s.notFound), false, s.toLogin))
	return secure(http.NewCrossOriginProtection().Handler(limitBody(rt.mux)))
}
