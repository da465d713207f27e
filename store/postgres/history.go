package postgres

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hark/store"
)

const messageColumns = `id, msg_key, topic, ts, received, envelope, description`

func scanMessage(row pgx.Row) (store.Message, error) {
	var m store.Message
	var ts, received time.Time
	var env, desc string
	err := row.Scan(&m.ID, &m.Key, &m.Topic, &ts, &received, &env, &desc)
	m.Timestamp, m.Received = fromMsgTime(ts), received.UTC()
	m.Envelope, m.Description = []byte(env), []byte(desc)
	return m, err
}

// messageRows is messages as the columns of an unnest insert.
type messageRows struct {
	keys, topics, envelopes, descriptions []string
	ts, received                          []time.Time
}

func (r *messageRows) add(m store.Message, now time.Time) {
	if m.Received.IsZero() {
		m.Received = now
	}
	desc := m.Description
	if len(desc) == 0 {
		desc = []byte("{}")
	}
	r.keys = append(r.keys, m.Key)
	r.topics = append(r.topics, m.Topic)
	r.ts = append(r.ts, msgTime(m.Timestamp))
	r.received = append(r.received, trunc(m.Received))
	r.envelopes = append(r.envelopes, string(m.Envelope))
	r.descriptions = append(r.descriptions, string(desc))
}

// addMessages stores msgs not stored yet (by key), files the new ones
// under their terms, and says how many were new: two statements however
// many messages.
func addMessages(ctx context.Context, tx pgx.Tx, msgs []store.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var r messageRows
	now := time.Now()
	byKey := make(map[string]store.Message, len(msgs))
	for _, m := range msgs {
		r.add(m, now)
		byKey[m.Key] = m
	}
	rows, err := tx.Query(ctx, `
INSERT INTO messages (msg_key, topic, ts, received, envelope, description)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[])
ON CONFLICT (msg_key) DO NOTHING RETURNING id, msg_key`, r.keys, r.topics, r.ts, r.received, r.envelopes, r.descriptions)
	if err != nil {
		return 0, fmt.Errorf("add messages: %w", err)
	}
	var t termRows
	var id int64
	var key string
	added := 0
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		added++
		t.add(id, byKey[key])
		return nil
	}); err != nil {
		return 0, fmt.Errorf("add messages: %w", err)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO message_terms (field, value, ts, msg_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[]) ON CONFLICT DO NOTHING`,
		t.fields, t.values, t.ts, t.ids); err != nil {
		return 0, fmt.Errorf("file message terms: %w", err)
	}
	return added, nil
}

// termRows is what messages are filed under, as the columns of an unnest
// insert.
type termRows struct {
	fields, values []string
	ts             []time.Time
	ids            []int64
}

// add files message id under its topic and what its description names.
// A description that is not JSON files it under its topic only; a field
// of the wrong type (packages as a string) is skipped while the others
// are filed, as the SQLite store does.
func (t *termRows) add(id int64, m store.Message) {
	ts := msgTime(m.Timestamp)
	put := func(field, value string) {
		if value != "" {
			t.fields, t.values, t.ts, t.ids = append(t.fields, field), append(t.values, value), append(t.ts, ts), append(t.ids, id)
		}
	}
	put(store.TermTopic, m.Topic)
	src, ok := m.FiledUnder()
	if !ok {
		if err := json.Unmarshal(m.Description, &src); err != nil && !errors.As(err, new(*json.UnmarshalTypeError)) {
			return
		}
	}
	put(store.TermApp, src.App)
	put(store.TermAgent, src.Agent)
	for _, p := range src.Packages {
		put(store.TermPackage, p)
	}
	for _, u := range src.Usernames {
		put(store.TermUser, u)
	}
}

// AddMessages implements store.History.
func (s *Store) AddMessages(ctx context.Context, msgs []store.Message) (int, error) {
	var added int
	err := s.write(ctx, func(tx pgx.Tx) error {
		var err error
		added, err = addMessages(ctx, tx, msgs)
		return err
	})
	return added, err
}

// HistoryPage implements store.History.
func (s *Store) HistoryPage(ctx context.Context, before store.Cursor, limit int) ([]store.Message, error) {
	ts, id := cursorArgs(before)
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages
WHERE (ts, id) < ($1, $2) ORDER BY ts DESC, id DESC LIMIT $3`, ts, id, limit)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return msgs, nil
}

// cursorArgs is c as the (ts, id) a row must be below; the zero cursor
// is above every row.
func cursorArgs(c store.Cursor) (pgtype.Timestamptz, int64) {
	if c == (store.Cursor{}) {
		return infinity, math.MaxInt64
	}
	return pgtype.Timestamptz{Time: msgTime(c.Timestamp), Valid: true}, c.ID
}

// MessagesByKey implements store.History.
func (s *Store) MessagesByKey(ctx context.Context, keys []string) (map[string]store.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE msg_key = ANY($1)`, keys)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	out := make(map[string]store.Message, len(msgs))
	for _, m := range msgs {
		out[m.Key] = m
	}
	return out, nil
}

// pruneBatch is how many messages one statement of PruneHistory deletes:
// each is its own short transaction, so pruning a day of history never
// holds locks or a snapshot for long.
const pruneBatch = 1000

// PruneHistory implements store.History, a batch at a time. A message a
// notification still waits to be sent for is kept: delivery renders from
// it.
func (s *Store) PruneHistory(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `
DELETE FROM messages WHERE id IN (
	SELECT m.id FROM messages m
	WHERE m.received < $1 AND NOT EXISTS (
		SELECT 1 FROM notifications n WHERE n.msg_key = m.msg_key AND n.state IN ('queued', 'failed'))
	ORDER BY m.received LIMIT $2)`, trunc(cutoff), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune history: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}

// maxRune is above every UTF-8 continuation of a prefix, so that
// [prefix, prefix+maxRune] holds every value starting with prefix in the
// terms' byte order.
const maxRune = "\U0010FFFF"

// ScanHistory implements store.History.
func (s *Store) ScanHistory(ctx context.Context, q store.Scan) (store.Scanned, error) {
	ts, id := cursorArgs(q.Before)
	var rows pgx.Rows
	var err error
	if q.Terms == nil {
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages
WHERE (ts, id) < ($1, $2) ORDER BY ts DESC, id DESC LIMIT $3`, ts, id, q.Limit)
	} else {
		fields, lows, highs := make([]string, len(q.Terms)), make([]string, len(q.Terms)), make([]string, len(q.Terms))
		for i, t := range q.Terms {
			fields[i], lows[i], highs[i] = t.Field, t.Value, t.Value
			if t.Prefix {
				highs[i] += maxRune
			}
		}
		// The terms pick the page by their primary key; the messages are
		// read once each, in no order (sorted below).
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id IN (
	SELECT t.msg_id FROM unnest($1::text[], $2::text[], $3::text[]) AS w(field, lo, hi)
	JOIN message_terms t ON t.field = w.field AND t.value BETWEEN w.lo AND w.hi
	WHERE (t.ts, t.msg_id) < ($4, $5)
	GROUP BY t.ts, t.msg_id ORDER BY t.ts DESC, t.msg_id DESC LIMIT $6)`, fields, lows, highs, ts, id, q.Limit)
	}
	if err != nil {
		return store.Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	defer rows.Close()
	var out store.Scanned
	for rows.Next() {
		// The envelope and description are looked at in the connection's
		// buffer, and copied only for a message Keep accepts.
		var m store.Message
		var ts, received time.Time
		raw := rows.RawValues()
		if err := rows.Scan(&m.ID, &m.Key, &m.Topic, &ts, &received, nil, nil); err != nil {
			return store.Scanned{}, fmt.Errorf("scan history: %w", err)
		}
		m.Timestamp = fromMsgTime(ts)
		out.Read++
		if out.Read == 1 || cmpCursor(m.Cursor(), out.Last) < 0 {
			out.Last = m.Cursor()
		}
		if q.Keep != nil && !q.Keep(raw[5]) {
			continue
		}
		m.Received = received.UTC()
		m.Envelope, m.Description = bytes.Clone(raw[5]), bytes.Clone(raw[6])
		out.Kept = append(out.Kept, m)
	}
	if err := rows.Err(); err != nil {
		return store.Scanned{}, fmt.Errorf("scan history: %w", err)
	}
	slices.SortFunc(out.Kept, func(a, b store.Message) int { return cmpCursor(b.Cursor(), a.Cursor()) })
	return out, nil
}

// cmpCursor orders cursors oldest first.
func cmpCursor(a, b store.Cursor) int {
	return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
}

// distinctTerms is the distinct values of field $1 from $2 up to below
// $3, sorted, at most $4 (NULL: all): one index seek per value found, so
// a package filed under a million messages costs what a rare one does.
const distinctTerms = `
WITH RECURSIVE v (value) AS (
	(SELECT value FROM message_terms WHERE field = $1 AND value >= $2 AND value < $3 ORDER BY value LIMIT 1)
	UNION ALL
	SELECT (SELECT t.value FROM message_terms t WHERE t.field = $1 AND t.value > v.value AND t.value < $3 ORDER BY t.value LIMIT 1)
	FROM v WHERE v.value IS NOT NULL
)
SELECT value FROM v WHERE value IS NOT NULL LIMIT $4`

// TermValues implements store.History.
func (s *Store) TermValues(ctx context.Context, field string) ([]string, error) {
	vals, err := s.terms(ctx, field, "", nil)
	if err != nil {
		return nil, fmt.Errorf("read %s terms: %w", field, err)
	}
	return vals, nil
}

// TermsWithPrefix implements store.History.
func (s *Store) TermsWithPrefix(ctx context.Context, field, prefix string, limit int) ([]string, error) {
	vals, err := s.terms(ctx, field, prefix, &limit)
	if err != nil {
		return nil, fmt.Errorf("complete %s terms: %w", field, err)
	}
	return vals, nil
}

func (s *Store) terms(ctx context.Context, field, prefix string, limit *int) ([]string, error) {
	rows, err := s.pool.Query(ctx, distinctTerms, field, prefix, prefix+maxRune+maxRune, limit)
	return collect(rows, err, func(row pgx.Row) (string, error) {
		var v string
		return v, row.Scan(&v)
	})
}

// FilterMessagesSince implements store.History.
func (s *Store) FilterMessagesSince(ctx context.Context, userID, filterID int64, since time.Time, limit int) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE msg_key IN (
	SELECT msg_key FROM notifications WHERE user_id = $1 AND filter_id = $2 AND created > $3)
ORDER BY ts DESC, id DESC LIMIT $4`, userID, filterID, trunc(since), limit)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read messages of filter %d: %w", filterID, err)
	}
	return msgs, nil
}

// QueryHistory implements store.History: each list is one condition on
// the terms, the text search a strpos on the stored envelope.
func (s *Store) QueryHistory(ctx context.Context, q store.HistoryQuery) (int, []store.Message, error) {
	start, end := minusInfinity, infinity
	if !q.Start.IsZero() {
		start = pgtype.Timestamptz{Time: trunc(q.Start), Valid: true}
	}
	if !q.End.IsZero() {
		end = pgtype.Timestamptz{Time: trunc(q.End), Valid: true}
	}
	args := []any{start, end}
	where := []string{`m.ts BETWEEN $1 AND $2`}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var topics []string
	if q.NeedsTopics() {
		var err error
		if topics, err = s.TermValues(ctx, store.TermTopic); err != nil {
			return 0, nil, fmt.Errorf("query history: %w", err)
		}
	}
	for _, c := range q.TermConditions(topics) {
		clause := `EXISTS (SELECT 1 FROM message_terms t WHERE t.field = ` + arg(c.Field) + ` AND t.value = ANY(` + arg(c.Values) + `) AND t.ts = m.ts AND t.msg_id = m.id)`
		if c.Negated {
			clause = "NOT " + clause
		}
		where = append(where, clause)
	}
	if len(q.Contains) > 0 {
		text := make([]string, len(q.Contains))
		for i, c := range q.Contains {
			text[i] = `strpos(m.envelope, ` + arg(c) + `) > 0`
		}
		where = append(where, "("+strings.Join(text, " OR ")+")")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages m WHERE `+cond, args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("count history: %w", err)
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	page := fmt.Sprintf(`SELECT %s FROM messages m WHERE %s ORDER BY m.ts %s, m.id %[3]s LIMIT %s OFFSET %s`,
		messageColumns, cond, order, arg(q.Limit), arg(q.Offset))
	rows, err := s.pool.Query(ctx, page, args...)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return 0, nil, fmt.Errorf("query history: %w", err)
	}
	return total, msgs, nil
}
