package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"hark/store"
)

// maxRune is above every UTF-8 continuation of a prefix, so that
// [prefix, prefix+maxRune] holds every value starting with prefix.
const maxRune = "\U0010FFFF"

// ScanHistory implements a preview's read of the history: HistoryPage
// narrowed by the index of terms and by a test of the stored text.
func (s *SQLite) ScanHistory(ctx context.Context, q store.Scan) (store.Scanned, error) {
	ts, id := int64(math.MaxInt64), int64(math.MaxInt64)
	if q.Before != (store.Cursor{}) {
		ts, id = ms(q.Before.Timestamp), q.Before.ID
	}
	var rows *sql.Rows
	var err error
	switch {
	case q.Terms == nil:
		rows, err = s.r.QueryContext(ctx, scanHistory, ts, id, q.Limit)
	case len(q.Terms) == 1 && !q.Terms[0].Prefix:
		rows, err = s.r.QueryContext(ctx, selectHistoryByTerm, q.Terms[0].Field, q.Terms[0].Value, ts, id, q.Limit)
	default:
		rows, err = s.r.QueryContext(ctx, selectHistoryByTerms, termRanges(q.Terms), ts, id, q.Limit)
	}
	if err != nil {
		return store.Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	defer rows.Close()
	var out store.Scanned
	for rows.Next() {
		var m store.Message
		var msec, received int64
		var env, desc sql.RawBytes
		if err := rows.Scan(&m.ID, &m.Key, &m.Topic, &msec, &received, &env, &desc); err != nil {
			return store.Scanned{}, fmt.Errorf("scan history: %w", err)
		}
		m.Timestamp = fromMS(msec)
		out.Read++
		if out.Read == 1 || cmpCursor(m.Cursor(), out.Last) < 0 {
			out.Last = m.Cursor()
		}
		if q.Keep != nil && !q.Keep(env) {
			continue
		}
		m.Received = fromMS(received)
		m.Envelope, m.Description = bytes.Clone(env), bytes.Clone(desc)
		out.Kept = append(out.Kept, m)
	}
	if err := rows.Err(); err != nil {
		return store.Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	// Term reads come unordered (see selectHistoryByTerms).
	slices.SortFunc(out.Kept, func(a, b store.Message) int { return cmpCursor(b.Cursor(), a.Cursor()) })
	return out, nil
}

// cmpCursor orders cursors oldest first.
func cmpCursor(a, b store.Cursor) int {
	return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
}

// termRanges is terms as selectHistoryByTerms takes them: a JSON array
// of [field, low, high].
func termRanges(terms []store.Term) string {
	ranges := make([][3]string, len(terms))
	for i, t := range terms {
		hi := t.Value
		if t.Prefix {
			hi += maxRune
		}
		ranges[i] = [3]string{t.Field, t.Value, hi}
	}
	w, _ := json.Marshal(ranges) // strings only: cannot fail
	return string(w)
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
