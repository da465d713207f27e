package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"hark/preview"
	"hark/rules"
	"hark/store"
)

// What an edit changes: every change to a filter's rules says, over the
// last week of history, how many messages it would have added to or
// removed from what the filter sends; the editor can ask before saving.

// diffWindow is how far back an edit's effect is counted.
const diffWindow = excludeWindow

// maxDiffPages bounds the preview pages one side of a diff reads.
const maxDiffPages = 10

// weekMatches is the keys of the history's messages of the last week
// that rules (of owner) match, and whether the count stopped short (time
// or page limit).
func (s *Server) weekMatches(ctx context.Context, owner string, specs []rules.Spec) (map[string]bool, bool, error) {
	keys := map[string]bool{}
	if len(specs) == 0 {
		return keys, false, nil
	}
	e := preview.New(s.store, s.opts.Owners)
	since := s.now().Add(-diffWindow)
	req := preview.Request{Owner: owner, Rules: specs, Limit: preview.MaxLimit}
	for range maxDiffPages {
		page, err := e.Preview(ctx, req)
		switch {
		case errors.Is(err, preview.ErrNoRules):
			return keys, false, nil
		case errors.Is(err, context.DeadlineExceeded):
			return keys, true, nil
		case err != nil:
			return nil, false, err
		}
		for _, m := range page.Matches {
			if m.Timestamp.Before(since) {
				return keys, false, nil
			}
			keys[m.Key] = true
		}
		if page.Next == nil {
			return keys, false, nil
		}
		req.Before = *page.Next
	}
	return keys, true, nil
}

// editEffect says in words what changing a filter's rules from before to
// after does to the last week's messages.
func (s *Server) editEffect(r *http.Request, owner string, before, after []store.Rule) string {
	ctx, cancel := context.WithTimeout(r.Context(), previewTimeout)
	defer cancel()
	old, partialOld, err := s.weekMatches(ctx, owner, specsOf(before))
	if err != nil {
		return "" // an unreadable history is no reason to refuse the edit
	}
	now, partialNew, err := s.weekMatches(ctx, owner, specsOf(after))
	if err != nil {
		return ""
	}
	added, removed := 0, 0
	for k := range now {
		if !old[k] {
			added++
		}
	}
	for k := range old {
		if !now[k] {
			removed++
		}
	}
	msg := fmt.Sprintf("Over the last week it would add %d and remove %d of the %d message(s) the filter matched.", added, removed, len(old))
	if partialOld || partialNew {
		msg += " (The history is large: this counts only part of it.)"
	}
	return msg
}

// changeRules applies change to the path's filter's rules and, unless
// dryRun, saves it; it says what the change does over the last week.
func (s *Server) changeRules(r *http.Request, change func(*http.Request, *store.Filter) error, dryRun bool) (string, error) {
	f, err := s.ownFilter(r)
	if err != nil {
		return "", err
	}
	before := append([]store.Rule(nil), f.Rules...)
	if err := change(r, &f); err != nil {
		return "", err
	}
	owner, err := s.store.UserByID(r.Context(), f.UserID)
	if err != nil {
		return "", err
	}
	if dryRun {
		for i, rule := range f.Rules {
			if _, err := rules.Compile(rule.Kind, rule.Args, owner.Name); err != nil {
				return "", invalid(fmt.Sprintf("rules[%d]", i), "%v", err)
			}
		}
	} else if _, err := s.saveFilter(r, f); err != nil {
		return "", err
	}
	return s.editEffect(r, owner.Name, before, f.Rules), nil
}

// finishEdit ends a rule edit: a dry run ("check" posted) shows the
// editor again with the effect and what was typed, nothing saved;
// otherwise finishWith, the effect added to the notice.
func (s *Server) finishEdit(w http.ResponseWriter, r *http.Request, change func(*http.Request, *store.Filter) error, done string) {
	dryRun := checked(r, "check")
	effect, err := s.changeRules(r, change, dryRun)
	back := "/filters/" + r.PathValue("id")
	if err != nil || !dryRun {
		s.finishWith(w, r, err, back, s.editorView, done+" "+effect)
		return
	}
	name, v, err := s.editorView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Notice, v.NoticeKind = "Nothing is saved yet. "+effect, noticeWarning
	v.Form = map[string]string{}
	for k, vals := range r.PostForm {
		v.Form[k] = vals[0]
	}
	s.render(w, r, http.StatusOK, name, v)
}
