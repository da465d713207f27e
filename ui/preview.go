package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hark/filters"
	"hark/preview"
	"hark/rules"
	"hark/store"
)

func init() { register((*Server).previewRoutes) }

// previewTimeout bounds one page of a preview: a filter no index helps
// on a large history shows what it found by then, with a link to go on
// from there, rather than keeping the browser waiting.
const previewTimeout = 5 * time.Second

func (s *Server) previewRoutes(rt *Routes) {
	e := preview.New(s.store, s.opts.Owners)
	e.Budget = s.opts.RuleBudget
	rt.Page("GET /filters/{id}/preview", s.show(func(r *http.Request) (string, View, error) { return s.previewView(r, e) }))
	rt.API("GET /filters/{id}/preview", func(r *http.Request) (any, error) {
		f, owner, err := s.previewFilter(r)
		if err != nil {
			return nil, err
		}
		return runPreview(r, e, owner, specsOf(f.Rules))
	})
	// An unsaved filter, as an editor has it: the caller's own.
	rt.API("POST /preview", func(r *http.Request) (any, error) {
		var in struct {
			Rules []rules.Spec `json:"rules"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		if len(in.Rules) > maxPreviewRules {
			return nil, invalid("rules", "more than %d rules", maxPreviewRules)
		}
		return runPreview(r, e, userOf(r).Name, in.Rules)
	})
}

// maxPreviewRules bounds an unsaved filter sent for preview.
const maxPreviewRules = 50

// previewJSON is one page of a preview as the API answers it and the page
// shows it.
type previewJSON struct {
	Matches []preview.Match `json:"matches"`
	// Next is the ?before= of the following page; "" when there is none.
	Next       string `json:"next,omitempty"`
	Plan       string `json:"plan"`
	Examined   int    `json:"examined"`
	Unreadable int    `json:"unreadable"`
	// RuleErrors counts the messages on which a rule failed (so they
	// did not match); RuleError is the last such error.
	RuleErrors int    `json:"rule_errors,omitempty"`
	RuleError  string `json:"rule_error,omitempty"`
	// Partial says the page stopped at the time limit before it was
	// full: Next goes on from where it stopped.
	Partial bool `json:"partial,omitempty"`
	// Empty explains why nothing can match ("" when something can).
	Empty string `json:"empty,omitempty"`
}

// runPreview runs one page of a preview of specs as owner's filter,
// paged by the request's ?before= and ?limit=.
func runPreview(r *http.Request, e *preview.Engine, owner string, specs []rules.Spec) (*previewJSON, error) {
	before, err := parseCursor(r.URL.Query().Get("before"))
	if err != nil {
		return nil, err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), previewTimeout)
	defer cancel()
	page, err := e.Preview(ctx, preview.Request{Owner: owner, Rules: specs, Before: before, Limit: limit})
	switch {
	case errors.Is(err, preview.ErrNoRules):
		return &previewJSON{Matches: []preview.Match{}, Empty: preview.ErrNoRules.Error()}, nil
	case errors.Is(err, preview.ErrInvalid):
		return nil, invalid("rules", "%s", strings.TrimPrefix(err.Error(), "preview: invalid filter: "))
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		out := toPreviewJSON(page)
		out.Partial = true
		return out, nil
	case err != nil:
		return nil, err
	}
	return toPreviewJSON(page), nil
}

func toPreviewJSON(p *preview.Page) *previewJSON {
	out := &previewJSON{Matches: p.Matches, Plan: p.Plan, Examined: p.Examined, Unreadable: p.Unreadable, RuleErrors: p.RuleErrors, RuleError: p.RuleError}
	if out.Matches == nil {
		out.Matches = []preview.Match{}
	}
	if p.Next != nil {
		out.Next = formatCursor(*p.Next)
	}
	return out
}

// previewFilter is the path's filter, if the user may see it, and the
// name of its owner, whose "@me" it means.
func (s *Server) previewFilter(r *http.Request) (store.Filter, string, error) {
	f, err := s.ownFilter(r)
	if err != nil {
		return f, "", err
	}
	if u := userOf(r); u.ID == f.UserID {
		return f, u.Name, nil
	}
	owner, err := s.store.UserByID(r.Context(), f.UserID)
	return f, owner.Name, err
}

func specsOf(rs []store.Rule) []rules.Spec {
	out := make([]rules.Spec, len(rs))
	for i, r := range rs {
		out[i] = rules.Spec{Kind: r.Kind, Args: r.Args, Negate: r.Negate}
	}
	return out
}

// previewPage is what preview.html shows.
type previewPage struct {
	Filter  store.Filter
	Owner   string
	Page    *previewJSON
	Matches []previewRow
}

type previewRow struct {
	preview.Match
	Reasons []reason
}

func (s *Server) previewView(r *http.Request, e *preview.Engine) (string, View, error) {
	f, owner, err := s.previewFilter(r)
	if err != nil {
		return "", View{}, err
	}
	page, err := runPreview(r, e, owner, specsOf(f.Rules))
	var p *Problem
	if errors.As(err, &p) && p.Status == http.StatusBadRequest {
		// A filter saved before a rule kind changed: say so on the page.
		return "preview.html", View{Title: "Preview: " + f.Name, Notice: p.Message, NoticeKind: noticeError, Data: previewPage{Filter: f, Owner: owner, Page: &previewJSON{}}}, nil
	}
	if err != nil {
		return "", View{}, err
	}
	data := previewPage{Filter: f, Owner: owner, Page: page}
	for _, m := range page.Matches {
		data.Matches = append(data.Matches, previewRow{m, reasons(m.Rules)})
	}
	return "preview.html", View{Title: "Preview: " + f.Name, Data: data}, nil
}

// reason is one rule's verdict as people read it.
type reason struct {
	Title  string
	Value  string
	Negate bool
	Pass   bool
	Error  string
}

// reasons turns rule verdicts (a preview's, or a notification's Why) into
// lines people read: which rules let the message through, and how.
func reasons(vs []filters.Verdict) []reason {
	out := make([]reason, len(vs))
	for i, v := range vs {
		title := v.Kind
		if k, ok := findKind(v.Kind); ok {
			title = k.Title
		}
		out[i] = reason{Title: title, Value: rules.ArgsText(v.Args), Negate: v.Negate, Pass: v.Pass, Error: v.Error}
	}
	return out
}

// formatCursor and parseCursor carry a history position in a URL as
// "MILLISECONDS-ID".
func formatCursor(c store.Cursor) string {
	return fmt.Sprintf("%d-%d", c.Timestamp.UnixMilli(), c.ID)
}

func parseCursor(v string) (store.Cursor, error) {
	if v == "" {
		return store.Cursor{}, nil
	}
	msText, idText, ok := strings.Cut(v, "-")
	msec, err1 := strconv.ParseInt(msText, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	if !ok || err1 != nil || err2 != nil || id <= 0 {
		return store.Cursor{}, invalid("before", "%q is not a position from a previous page", v)
	}
	return store.Cursor{Timestamp: time.UnixMilli(msec).UTC(), ID: id}, nil
}

// queryLimit is ?limit=, 50 when absent, at most 200.
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return preview.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, invalid("limit", "%q is not a number from 1 to %d", v, maxPageLimit)
	}
	return n, nil
}

// maxPageLimit bounds ?limit= on every paged page and API call.
const maxPageLimit = 200

// decodeVerdicts reads a notification's Why; an unreadable one (an older
// format) shows no reasons rather than failing the page.
func decodeVerdicts(why json.RawMessage) []filters.Verdict {
	var vs []filters.Verdict
	if json.Unmarshal(why, &vs) != nil {
		return nil
	}
	return vs
}
