package store

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
