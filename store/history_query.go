package store

import (
	"slices"
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

// TopicCategory is datagrepper's category of a topic: its fourth word
// (org.fedoraproject.prod.CATEGORY.…), "" for a shorter topic.
func TopicCategory(topic string) string {
	parts := strings.SplitN(topic, ".", 5)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

// TermCondition is one narrowing of a HistoryQuery by a message term:
// messages with a term Field of one of Values, or, Negated, without one.
type TermCondition struct {
	Field   string
	Values  []string
	Negated bool
}

// NeedsTopics says whether TermConditions needs the history's distinct
// topics (the query names categories, which are sets of topics).
func (q HistoryQuery) NeedsTopics() bool {
	return len(q.Categories) > 0 || len(q.NotCategories) > 0
}

// TermConditions is how q narrows by terms, in every backend alike:
// topics are the history's distinct topics when NeedsTopics (a category
// becomes the topics in it); an empty list does not narrow, and a
// category no topic is in narrows to nothing.
func (q HistoryQuery) TermConditions(topics []string) []TermCondition {
	all := []TermCondition{
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
	}
	return slices.DeleteFunc(all, func(c TermCondition) bool { return c.Values == nil })
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
		if slices.Contains(categories, TopicCategory(t)) {
			out = append(out, t)
		}
	}
	return out
}
