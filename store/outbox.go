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
}

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
