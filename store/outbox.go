package store

import (
	"context"
	"time"
)

// Outbox is the durable queue of hark's own sends to one destination, as
// opposed to notifications of bus messages: a confirmation code, a test
// notification. The settings service (accounts) queues them wherever a
// person asks, and the delivery role sends them, so a process that only
// serves the web needs no connection to a mail server or chat network.
// They bypass filters and the confirmation gate, batching and snoozes.
type Outbox interface {
	// QueueSend stores s (its ID and Created are set), due at once.
	QueueSend(ctx context.Context, s Send) (Send, error)
	// ClaimSends takes up to limit due sends to destinations of the given
	// kinds, oldest first, and leases them until now+lease: a process
	// that dies before FinishSend gets them again after the lease, and
	// two processes never get the same one within it. Each claim counts
	// as an attempt.
	ClaimSends(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]Send, error)
	// FinishSend removes send id: it was sent, or given up.
	FinishSend(ctx context.Context, id int64) error
	// SetSendProblem records p as the last problem of destination id's
	// outbox sends, replacing the one before, so its owner sees why a
	// test or confirmation did not arrive (Destination.LastProblem); the
	// zero p clears it (a later send went out). ErrNotFound when there
	// is no such destination to record a problem of.
	SetSendProblem(ctx context.Context, id int64, p SendProblem) error
}

// SendProblem is why an outbox send to a destination failed, in words
// for its owner. The zero SendProblem is none.
type SendProblem struct {
	At   time.Time
	What SendWhat
	// Words say what went wrong for the destination's owner.
	Words string
	// Attempts is how many times the send was tried so far.
	Attempts int
	// GaveUp is true when hark no longer tries: this was the last attempt.
	GaveUp bool
}

// IsZero reports whether p is no problem.
func (p SendProblem) IsZero() bool { return p == SendProblem{} }

// SendWhat is what an outbox send carries.
type SendWhat string

// What an outbox send carries.
const (
	// SendConfirmation is the destination's current confirmation code
	// (and link), read when it is sent: a code issued again meanwhile
	// goes out instead of the one queued with.
	SendConfirmation SendWhat = "confirmation"
	// SendTest is one test notification.
	SendTest SendWhat = "test"
)

// Send is one of hark's own sends to a destination (see Outbox). It is
// removed with its destination.
type Send struct {
	ID            int64
	DestinationID int64
	What          SendWhat
	Attempts      int
	Created       time.Time
}
