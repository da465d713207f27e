package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// HistoryQuery is a datagrepper-style query of the history: each list
// is ORed within itself (any of its values qualifies), the lists and the
// negations of the Not lists are ANDed; empty lists do not narrow.
type HistoryQuery struct {
	// Start and End bound the messages' timestamps, both included; a
	// zero Start is the oldest and a zero End the newest.
	Start, End time.Time
	Topics     []string
	// Categories are topics' fourth words: bodhi in
	// org.fedoraproject.prod.bodhi.update.comment.
	Categories []string
	Users      []string
	Packages   []string
	Agents     []string
	// Contains is text the stored envelope contains.
	Contains                                                   []string
	NotTopics, NotCategories, NotUsers, NotPackages, NotAgents []string
	Ascending                                                  bool // oldest first; else newest first
	Offset, Limit                                              int
}

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
func (s *SQLite) QueryHistory(ctx context.Context, q HistoryQuery) (int, []Message, error) {
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
	if len(q.Categories) > 0 || len(q.NotCategories) > 0 {
		var err error
		if topics, err = s.TermValues(ctx, TermTopic); err != nil {
			return 0, nil, fmt.Errorf("query history: %w", err)
		}
	}
	for _, c := range []struct {
		field  string
		values []string
		not    bool
	}{
		{TermTopic, nonEmpty(q.Topics), false},
		{TermTopic, inCategories(topics, q.Categories), false},
		{TermUser, nonEmpty(q.Users), false},
		{TermPackage, nonEmpty(q.Packages), false},
		{TermAgent, nonEmpty(q.Agents), false},
		{TermTopic, nonEmpty(q.NotTopics), true},
		{TermTopic, inCategories(topics, q.NotCategories), true},
		{TermUser, nonEmpty(q.NotUsers), true},
		{TermPackage, nonEmpty(q.NotPackages), true},
		{TermAgent, nonEmpty(q.NotAgents), true},
	} {
		terms(c.field, c.values, c.not)
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

// nonEmpty is values, or nil (no narrowing) when there are none.
func nonEmpty(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return values
}

// inCategories is the topics whose category is one of categories: nil
// when there are no categories, empty (nothing qualifies) when no topic
// is in them.
func inCategories(topics, categories []string) []string {
	if len(categories) == 0 {
		return nil
	}
	out := []string{}
	for _, t := range topics {
		for _, c := range categories {
			if TopicCategory(t) == c {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// TopicCategory is datagrepper's category of a topic: its fourth word
// (org.fedoraproject.prod.CATEGORY.…), "" for a shorter topic.
func TopicCategory(topic string) string {
	parts := strings.SplitN(topic, ".", 5)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}
