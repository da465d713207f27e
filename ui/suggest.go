package ui

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"hark/owners"
	"hark/store"
)

// Completion of the names rules take (packages, users, groups) from the
// history and the ownership data, so that a misspelt package is seen
// before it silently matches nothing.

func init() { register((*Server).suggestRoutes) }

// maxSuggestions is how many names one completion answers.
const maxSuggestions = 20

// nameCompleter is the ownership data's completion (owners.Snapshot).
type nameCompleter interface {
	WithPrefix(list, prefix string, limit int) []string
}

// suggestLists are the name lists with the history's term field of each
// ("" when the history does not file messages by it).
var suggestLists = map[string]string{
	owners.NamePackages: store.TermPackage,
	owners.NameUsers:    store.TermUser,
	owners.NameGroups:   "",
}

func (s *Server) suggestRoutes(rt *Routes) {
	rt.API("GET /suggest/{list}", func(r *http.Request) (any, error) {
		list := r.PathValue("list")
		if _, ok := suggestLists[list]; !ok {
			return nil, errNotFound
		}
		prefix := strings.TrimSpace(r.URL.Query().Get("q"))
		if len(prefix) > maxFilterName {
			return nil, invalid("q", "is longer than %d characters", maxFilterName)
		}
		return s.suggest(r.Context(), list, prefix)
	})
}

// suggest is up to maxSuggestions names of list starting with prefix,
// sorted, from the history and the ownership data together.
func (s *Server) suggest(ctx context.Context, list, prefix string) ([]string, error) {
	var names []string
	if field := suggestLists[list]; field != "" {
		found, err := s.store.TermsWithPrefix(ctx, field, prefix, maxSuggestions)
		if err != nil {
			return nil, err
		}
		names = append(names, found...)
	}
	if s.hasOwnership() {
		if nc, ok := s.opts.Owners().(nameCompleter); ok {
			names = append(names, nc.WithPrefix(list, prefix, maxSuggestions)...)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > maxSuggestions {
		names = names[:maxSuggestions]
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}

// suggestListOf is the name list a rule kind's values come from, for the
// editor's completion; "" for kinds whose values are not names.
func suggestListOf(kind string) string {
	switch kind {
	case "package":
		return owners.NamePackages
	case "user", "agent", "owned-by":
		return owners.NameUsers
	case "group-owned":
		return owners.NameGroups
	}
	return ""
}
