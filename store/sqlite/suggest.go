package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// TermsWithPrefix returns up to limit distinct values of a term field of
// the history ("package", "user", "agent", "app" or "topic") that start
// with prefix, sorted: what the web UI completes names from. It seeks
// the terms' index once per value, so a busy package does not make
// completing its neighbours slow.
func (s *SQLite) TermsWithPrefix(ctx context.Context, field, prefix string, limit int) ([]string, error) {
	// Every value starting with prefix sorts below prefix + U+10FFFF.
	end := prefix + "\U0010FFFF"
	var out []string
	query, from := selectFirstTermValue, prefix
	for len(out) < limit {
		var v string
		err := s.r.QueryRowContext(ctx, query, field, from, end).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("complete %s terms: %w", field, err)
		}
		out = append(out, v)
		query, from = selectNextTermValue, v
	}
	return out, nil
}
