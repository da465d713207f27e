package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
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

// Scan is one read of the history for a preview.
type Scan struct {
	// Terms narrows the read to messages having at least one of them;
	// nil reads every message.
	Terms []Term
	// Before and Limit: up to Limit messages older than Before, newest
	// first (the zero Before starts at the newest).
	Before Cursor
	Limit  int
	// Keep, when set, sees each message's stored envelope first, without
	// a copy (it must not keep the slice): only the messages it accepts
	// are copied out, which is most of the cost of a read.
	Keep func(envelope []byte) bool
}

// Scanned is what a Scan read.
type Scanned struct {
	Kept []Message
	Read int    // messages read, kept or not: fewer than Limit means the end
	Last Cursor // the last message read, where the next Scan goes on
}

// ScanHistory implements a preview's read of the history: HistoryPage
// narrowed by the index of terms and by a test of the stored text.
func (s *SQLite) ScanHistory(ctx context.Context, q Scan) (Scanned, error) {
	ts, id := int64(math.MaxInt64), int64(math.MaxInt64)
	if q.Before != (Cursor{}) {
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
		return Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	defer rows.Close()
	var out Scanned
	for rows.Next() {
		var m Message
		var msec, received int64
		var env, desc sql.RawBytes
		if err := rows.Scan(&m.ID, &m.Key, &m.Topic, &msec, &received, &env, &desc); err != nil {
			return Scanned{}, fmt.Errorf("scan history: %w", err)
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
		return Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	// Term reads come unordered (see selectHistoryByTerms).
	slices.SortFunc(out.Kept, func(a, b Message) int { return cmpCursor(b.Cursor(), a.Cursor()) })
	return out, nil
}

// cmpCursor orders cursors oldest first.
func cmpCursor(a, b Cursor) int {
	return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
}

// termRanges is terms as selectHistoryByTerms takes them: a JSON array
// of [field, low, high].
func termRanges(terms []Term) string {
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
