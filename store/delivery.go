package store

import (
	"context"
	"time"
)

// Delivery is what delivery needs beyond the Queue: targeted updates
// that change one column, so they never overwrite what the web UI or an
// admin command saved meanwhile.
type Delivery interface {
	// DisableDestination records why delivery turned destination id off
	// (its address bounced, say); the destination receives nothing until
	// its owner clears DisabledReason.
	DisableDestination(ctx context.Context, id int64, reason string) error
	// SetConfirmCode gives unconfirmed destination id a new confirmation
	// code valid until expires. A confirmed destination is left alone
	// (ErrNotFound).
	SetConfirmCode(ctx context.Context, id int64, code string, expires time.Time) error
	// SetFilterActive turns filter id of user userID, created at created,
	// on or off: what a one-click unsubscribe link does. A filter of that
	// id created at another time is another filter (ErrNotFound): ids are
	// given again after a deletion.
	SetFilterActive(ctx context.Context, userID, id int64, created time.Time, active bool) error
	// Release gives back claimed notifications that were not tried after
	// all (the server failed on an earlier one of the claim): due again at
	// next, and the attempt Claim counted is taken back.
	Release(ctx context.Context, ids []int64, next time.Time) error
	// FilterNames is every filter's name in one read, active or not: what
	// delivery names the filter that triggered a notification with.
	FilterNames(ctx context.Context) ([]FilterName, error)
}

// FilterName is a filter's identity as notifications show it.
type FilterName struct {
	ID     int64
	UserID int64
	Name   string
	Active bool
	// FilterDelivery is how delivery treats the filter's notifications.
	FilterDelivery
	// Created tells this filter from a later one given the same id
	// after it was deleted: unsubscribe links carry it.
	Created time.Time
}
