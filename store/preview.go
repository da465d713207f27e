package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
)

// Term fields: what every history message is filed under, from its topic
// and its description, so that previews can narrow their search.
const (
	TermTopic   = "topic"
	TermApp     = "app"
	TermPackage = "package"
	TermUser    = "user"
	TermAgent   = "agent"
)

// Term is one thing a history message can be filed under: Field is one
// of the Term* constants. With Prefix, every value starting with Value
// qualifies (a topic glob's literal prefix).
type Term struct {
	Field  string
	Value  string
	Prefix bool
}

// maxRune is above every UTF-8 continuation of a prefix, so that
// [prefix, prefix+maxRune] holds every value starting with prefix.
const maxRune = "\U0010FFFF"

// HistoryByTerms is up to limit messages older than before having at
// least one of terms, newest first: HistoryPage narrowed by an index.
// No terms means no message.
func (s *SQLite) HistoryByTerms(ctx context.Context, terms []Term, before Cursor, limit int) ([]Message, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	ranges := make([][3]string, len(terms))
	for i, t := range terms {
		hi := t.Value
		if t.Prefix {
			hi += maxRune
		}
		ranges[i] = [3]string{t.Field, t.Value, hi}
	}
	w, _ := json.Marshal(ranges) // strings only: cannot fail
	ts, id := int64(math.MaxInt64), int64(math.MaxInt64)
	if before != (Cursor{}) {
		ts, id = ms(before.Timestamp), before.ID
	}
	rows, err := s.r.QueryContext(ctx, selectHistoryByTerms, string(w), ts, id, limit)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read history by terms: %w", err)
	}
	return msgs, nil
}

// TermValues is the distinct values of one term field in the history,
// sorted: what a preview of "packages owned by" turns into packages.
func (s *SQLite) TermValues(ctx context.Context, field string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, selectTermValues, field)
	vals, err := collect(rows, err, func(row scanner) (string, error) {
		var v string
		return v, row.Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("read %s terms: %w", field, err)
	}
	return vals, nil
}
