package store

import (
	"context"
	"time"
)

// SentJournal keeps delivery's sent journals in the store: per delivery
// instance and destination kind, one record per batch the medium has
// (the notification ids and when), written after the hand-off and
// before the grouped mark (see delivery's journal). Kept in the store, a
// process on another machine taking over a partition reads its previous
// owner's records. No fence guards these writes: a record says what a
// medium has, whoever holds the lease now.
type SentJournal interface {
	// AppendSent records that instance's kind medium has ids since at,
	// and returns the record's id, larger than any before it.
	AppendSent(ctx context.Context, instance, kind string, ids []int64, at time.Time) (int64, error)
	// SentRecords is every record of instance and kind not settled yet,
	// oldest first.
	SentRecords(ctx context.Context, instance, kind string) ([]SentRecord, error)
	// SettleSent drops instance's kind records up to and including the
	// record upTo.
	SettleSent(ctx context.Context, instance, kind string, upTo int64) error
}

// SentRecord is one record of a sent journal.
type SentRecord struct {
	ID  int64
	IDs []int64
	At  time.Time
}
