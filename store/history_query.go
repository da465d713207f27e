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

// TopicCategory is datagrepper's category of a topic: its fourth word
// (org.fedoraproject.prod.CATEGORY.…), "" for a shorter topic.
func TopicCategory(topic string) string {
	parts := strings.SplitN(topic, ".", 5)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}
