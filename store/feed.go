package store

import (
	"context"
	"time"
)

// Feed is the store's change feed: what was committed, in commit order,
// after a cursor, whichever process committed it. It is how the parts
// of hark that react to the store (delivery to queued notifications, the
// router to changed filters) learn of a change within milliseconds
// instead of polling what they follow. A change says that something
// changed, not what: the reader reads what it follows again. A backend
// may fold changes of one Type and Kind into the newest of them, and
// keeps changes for a while only (see PruneChanges): a reader that fell
// behind what is kept has missed some, and reads everything it follows.
type Feed interface {
	// Changes is up to limit changes committed after after, oldest
	// first, and the cursor to read on from: the last change's, or after
	// when there is none.
	Changes(ctx context.Context, after FeedCursor, limit int) ([]Change, FeedCursor, error)
	// FeedHead is the cursor of the newest change: where a reader that
	// cares only about what comes next starts. It never goes back, not
	// even when changes are pruned.
	FeedHead(ctx context.Context) (FeedCursor, error)
	// WaitChanges returns once a change after after may have been
	// committed, by this process or another, or ctx is done (its error).
	// It may return early: the reader then finds no change and waits
	// again. A backend that cannot be told of another process's commits
	// looks for them every few milliseconds.
	WaitChanges(ctx context.Context, after FeedCursor) error
	// PruneChanges deletes the changes committed before before, and says
	// how many.
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
}

// FeedCursor is a position in the change feed; the zero cursor is
// before every change.
type FeedCursor int64

// ChangeType is what a change is about.
type ChangeType string

// Change types.
const (
	// ChangeQueued: notifications of one destination kind were queued
	// (Enqueue) or queued again (RequeueDead). Kind "" is any kind.
	ChangeQueued ChangeType = "queued"
	// ChangeSettings: a user, destination or filter changed, and with
	// it the SettingsVersion.
	ChangeSettings ChangeType = "settings"
)

// Change is one entry of the feed.
type Change struct {
	Cursor FeedCursor
	Type   ChangeType
	// Kind is the destination kind of a ChangeQueued; "" is any.
	Kind string
	At   time.Time
}

// Following is what Follow reads of a Feed.
type Following interface {
	FeedHead(ctx context.Context) (FeedCursor, error)
	WaitChanges(ctx context.Context, after FeedCursor) error
	Changes(ctx context.Context, after FeedCursor, limit int) ([]Change, FeedCursor, error)
}

// followBatch is how many changes Follow reads at once.
const followBatch = 1000

// Follow reads f's changes after from, handing what each read found to
// on, until ctx is done. A follower reads FeedHead before it first reads
// what it follows, and follows from there: what changed before is in
// that first read, what changed after comes through on. A read that
// fails goes to failed and is tried again after retry; the follower's
// own polling covers the gap.
func Follow(ctx context.Context, f Following, from FeedCursor, retry time.Duration, on func([]Change), failed func(error)) {
	cursor := from
	for {
		err := f.WaitChanges(ctx, cursor)
		if err == nil {
			var cs []Change
			if cs, cursor, err = f.Changes(ctx, cursor, followBatch); len(cs) > 0 {
				on(cs)
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failed(err)
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// FollowFrom is where a follower that is about to read what it follows
// starts following f: its head, or when that cannot be read, the oldest
// change kept, which at worst wakes the follower for nothing.
func FollowFrom(ctx context.Context, f Following) FeedCursor {
	head, err := f.FeedHead(ctx)
	if err != nil {
		return 0
	}
	return head
}
