package store

import (
	"context"
	"errors"
	"time"
)

// ErrFenced is a queue write refused because the lease fencing it was
// taken over since: its caller is a stale owner, and whatever it was
// about to record is now the new owner's to decide.
var ErrFenced = errors.New("fenced off: the lease was taken over")

// Leases elect one owner for a piece of work among processes sharing a
// store: a delivery partition ("delivery:17"), a chat bot's connection
// ("bot:irc"), a worker's presence ("worker:NAME"). A lease is held until
// its expiry and renewed by acquiring it again; each change of owner, and
// each lapse, gives it a higher fencing token, which the queue's writes
// check (see WithFence) so a process that lost a lease without noticing
// (paused, cut off) cannot record over its successor.
type Leases interface {
	// AcquireLeases takes for owner every lease of names that is free
	// (never taken, released, or expired at now) or already owner's, until
	// now+ttl, in one transaction, and returns the leases owner holds
	// among names. A lease owner held without a lapse keeps its token;
	// any other acquisition raises it. A lease another owner holds is left
	// out.
	AcquireLeases(ctx context.Context, owner string, names []string, now time.Time, ttl time.Duration) ([]Lease, error)
	// ReleaseLeases gives up owner's leases among names, so another owner
	// may take them at once; they keep owner as their last owner.
	ReleaseLeases(ctx context.Context, owner string, names []string) error
	// ListLeases is every lease whose name starts with prefix, held or
	// not, by name.
	ListLeases(ctx context.Context, prefix string) ([]Lease, error)
}

// Lease is one named lease.
type Lease struct {
	Name    string
	Owner   string // the holder, or the last one when it lapsed or was released
	Token   int64  // the fencing token: raised whenever the owner changes or the lease lapsed
	Expires time.Time
	// Previous is, in what AcquireLeases returns, the owner before this
	// acquisition when it was another one ("" for a lease never taken or
	// held on): whose unfinished work the new owner takes over.
	Previous string
}

// Held says whether the lease is held at now.
func (l Lease) Held(now time.Time) bool { return now.Before(l.Expires) }

// Fence is the lease a write depends on: the write commits only if the
// lease still has Token.
type Fence struct {
	Lease string
	Token int64
}

type fenceKey struct{}

// WithFence makes the queue writes done with ctx (Claim, MarkSent,
// MarkSentNoted, MarkFailed, MarkDead, Release) fenced by f: each checks,
// in its own transaction, that f's lease still has f's token, and fails
// with ErrFenced otherwise. The fence rides on the context rather than on
// every method so the Queue keeps one shape for fenced and unfenced
// callers (the admin commands, tests).
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceOf is the fence WithFence put on ctx, if any.
func FenceOf(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
