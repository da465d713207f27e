package store

import (
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

// NonEmpty is values, or nil (no narrowing) when there are none.
func NonEmpty(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return values
}

// InCategories is the topics whose category is one of categories: nil
// when there are no categories, empty (nothing qualifies) when no topic
// is in them.
func InCategories(topics, categories []string) []string {
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
