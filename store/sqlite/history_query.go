package sqlite

import (
	"context"
	"fmt"
	"math"
	"strings"

	"hark/store"
)

// The history query's clauses. Each list is one subquery that does not
// depend on the row, which SQLite evaluates once into a set rather than
// once per message.
const (
	// Terms by the term index's primary key (field, value, ts, msg_id).
	historyQueryTerm  = `m.id IN (SELECT t.msg_id FROM message_terms t WHERE t.field = ? AND t.value IN (SELECT value FROM json_each(?)))`
	historyQueryText  = `instr(m.envelope, ?) > 0`
	historyQueryTime  = `m.ts BETWEEN ? AND ?`
	countHistoryQuery = `SELECT count(*) FROM messages m WHERE `
	// The page is chosen by ids first, so the offset skips index
	// entries, not envelopes.
	selectHistoryQuery = `SELECT ` + messageColumns + ` FROM messages WHERE id IN (
	SELECT m.id FROM messages m WHERE %s ORDER BY m.ts %s, m.id %[2]s LIMIT ? OFFSET ?)
ORDER BY ts %[2]s, id %[2]s`
)

// QueryHistory returns how many messages q selects, and Limit of them
// after the first Offset.
func (s *SQLite) QueryHistory(ctx context.Context, q store.HistoryQuery) (int, []store.Message, error) {
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Start.IsZero() {
		start = ms(q.Start)
	}
	if !q.End.IsZero() {
		end = ms(q.End)
	}
	where, args := []string{historyQueryTime}, []any{start, end}
	terms := func(field string, values []string, not bool) {
		if values == nil {
			return
		}
		clause := historyQueryTerm
		if not {
			clause = "NOT " + clause
		}
		where = append(where, clause)
		args = append(args, field, jsonIDs(values))
	}
	// A category is the set of the history's topics whose fourth word it
	// is: there are few distinct topics, and their terms are small rows.
	var topics []string
	if q.NeedsTopics() {
		var err error
		if topics, err = s.TermValues(ctx, store.TermTopic); err != nil {
			return 0, nil, fmt.Errorf("query history: %w", err)
		}
	}
	for _, c := range q.TermConditions(topics) {
		terms(c.Field, c.Values, c.Negated)
	}
	if len(q.Contains) > 0 {
		text := make([]string, len(q.Contains))
		for i, c := range q.Contains {
			text[i] = historyQueryText
			args = append(args, c)
		}
		where = append(where, "("+strings.Join(text, " OR ")+")")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.r.QueryRowContext(ctx, countHistoryQuery+cond, args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("count history: %w", err)
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	rows, err := s.r.QueryContext(ctx, fmt.Sprintf(selectHistoryQuery, cond, order), append(args, q.Limit, q.Offset)...)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return 0, nil, fmt.Errorf("query history: %w", err)
	}
	return total, msgs, nil
}
