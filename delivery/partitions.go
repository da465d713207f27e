package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hark/store"
)

// Several delivery processes share one store by leases (store.Leases):
// the destinations are cut into Partitions (a destination's partition is
// its id modulo their number), each leased to one process at a time, so
// what delivery keeps per destination in memory (flood control, the
// bounce count) and the order of its sends stay with one process. Every
// queue write of a pass is fenced by the lease of its destination's
// partition (store.WithFence): a process that lost a lease without
// noticing (paused past its expiry) is refused by the store rather than
// recording over its successor.
//
// The processes split the partitions fairly without talking to each
// other: each holds a presence lease "worker:NAME"; the live workers,
// sorted by name, take partition p in turn (p modulo their number). A
// process gives up, between two passes, a partition that is no longer
// its share, and takes a free one that is; one that stops gives all of
// its back; one killed loses them when they lapse, after Lease.
//
// A kind whose sender is a chat bot with one connection for the whole
// service (IRC, Matrix) is not partitioned: Options.Elected names the
// one lease ("bot:irc") whose holder delivers all of that kind.
//
// A process that takes a lease over from another first replays the
// other's sent journal (in the store with Options.JournalStore, else the
// file Options.PeerJournal names) for the destinations the lease covers:
// what the medium had before the other was killed is marked sent, not
// sent again.

// Leases is what partitioned delivery needs of the store; every
// store.Store is one.
type Leases interface {
	AcquireLeases(ctx context.Context, owner string, names []string, now time.Time, ttl time.Duration) ([]store.Lease, error)
	ReleaseLeases(ctx context.Context, owner string, names []string) error
	ListLeases(ctx context.Context, prefix string) ([]store.Lease, error)
}

// Lease names.
const (
	partitionPrefix = "delivery:"
	workerPrefix    = "worker:"
)

// partitionLease is the lease name of partition p.
func partitionLease(p int) string { return partitionPrefix + strconv.Itoa(p) }

// keeper holds this process's leases: it renews them, takes its share of
// the partitions and gives up the rest. Renewing never waits for a pass:
// a pass can take longer than a lease (a slow relay, many
// destinations). Passes run under pass's read lock; giving a lease up
// waits, aside, for the write lock, so no send of its destinations is
// under way when another process may take it.
type keeper struct {
	d      *Deliverer
	leases Leases
	pass   sync.RWMutex

	mu      sync.Mutex
	held    map[string]store.Lease // lease name → as last acquired: what passes deliver
	leaving map[string]bool        // given up, renewed until the passes under way ended

	releasing sync.WaitGroup // the releases under way
	// acquire orders renewals and releases: a renewal must not take
	// again a lease given up between its reading of leaving and its
	// write.
	acquire sync.Mutex
}

// fence is the lease the writes about destination dest of kind depend
// on, if this process holds it at now.
func (k *keeper) fence(dest store.Destination, now time.Time) (store.Fence, bool) {
	name := k.leaseOf(dest.Kind, dest.ID)
	k.mu.Lock()
	l, ok := k.held[name]
	k.mu.Unlock()
	if !ok || !l.Held(now) {
		return store.Fence{}, false
	}
	return store.Fence{Lease: name, Token: l.Token}, true
}

// leaseOf is the lease covering destination id of kind.
func (k *keeper) leaseOf(kind string, id int64) string {
	if name, ok := k.d.o.Elected[kind]; ok {
		return name
	}
	return partitionLease(int(id % int64(k.d.o.Partitions)))
}

// Holds says whether this process holds lease name now: what a chat
// bot's supervisor asks before connecting.
func (d *Deliverer) Holds(name string) bool {
	if d.keeper == nil {
		return true
	}
	d.keeper.mu.Lock()
	defer d.keeper.mu.Unlock()
	l, ok := d.keeper.held[name]
	return ok && l.Held(d.o.Now())
}

// keep renews and rebalances the leases every Lease/3 until ctx is done.
func (k *keeper) keep(ctx context.Context) {
	t := time.NewTicker(k.d.o.Lease / 3)
	defer t.Stop()
	for {
		if err := k.round(ctx); err != nil && ctx.Err() == nil {
			k.d.o.Logger.Error("delivery leases", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// releaseAll gives back every lease held, so the other processes take
// them over at once instead of after they lapse. Passes have ended.
func (k *keeper) releaseAll(ctx context.Context) error {
	k.mu.Lock()
	names := make([]string, 0, len(k.held)+len(k.leaving))
	for name := range k.held {
		names = append(names, name)
	}
	for name := range k.leaving {
		names = append(names, name)
	}
	clear(k.held)
	k.mu.Unlock()
	return k.leases.ReleaseLeases(ctx, k.d.o.Instance, names)
}

// round is one renewal: give up what is no longer this process's share,
// renew what is, take what is free of it, replaying the journals of the
// processes taken over from.
func (k *keeper) round(ctx context.Context) error {
	o := k.d.o
	now := o.Now()
	workers, err := k.liveWorkers(ctx, now)
	if err != nil {
		return err
	}
	want := []string{workerPrefix + o.Instance}
	for p := range o.Partitions {
		if workers[p%len(workers)] == o.Instance {
			want = append(want, partitionLease(p))
		}
	}
	for kind, name := range o.Elected {
		// Only a process that can send the kind stands for its lease.
		if o.Senders[kind] != nil && !slices.Contains(want, name) {
			want = append(want, name)
		}
	}
	k.acquire.Lock()
	renew := k.giveUp(ctx, want)
	got, err := k.leases.AcquireLeases(ctx, o.Instance, renew, now, o.Lease)
	k.acquire.Unlock()
	if err != nil {
		return err
	}
	var fresh []store.Lease
	k.mu.Lock()
	for name := range k.held {
		if !slices.ContainsFunc(got, func(l store.Lease) bool { return l.Name == name }) {
			delete(k.held, name) // lost: lapsed and taken meanwhile
		}
	}
	for _, l := range got {
		switch before, had := k.held[l.Name]; {
		case k.leaving[l.Name]:
		case had && before.Token == l.Token:
			k.held[l.Name] = l
		default:
			delete(k.held, l.Name)
			fresh = append(fresh, l)
		}
	}
	k.mu.Unlock()
	// A lease new to this process is delivered from once what its
	// previous owner's medium had is known; no pass touches it before.
	var errs []error
	for _, l := range fresh {
		if l.Previous != "" && l.Previous != o.Instance {
			if err := k.takeOver(ctx, l); err != nil {
				errs = append(errs, err)
				continue // taken over again next round
			}
			o.Logger.Info("delivery lease taken over", "lease", l.Name, "from", l.Previous, "token", l.Token)
		}
		k.mu.Lock()
		k.held[l.Name] = l
		k.mu.Unlock()
	}
	return errors.Join(errs...)
}

// liveWorkers is the names of the delivery processes holding their
// presence lease at now, sorted, this one included.
func (k *keeper) liveWorkers(ctx context.Context, now time.Time) ([]string, error) {
	ls, err := k.leases.ListLeases(ctx, workerPrefix)
	if err != nil {
		return nil, err
	}
	workers := []string{k.d.o.Instance}
	for _, l := range ls {
		if l.Held(now) && l.Owner != k.d.o.Instance {
			workers = append(workers, l.Owner)
		}
	}
	slices.Sort(workers)
	return workers, nil
}

// giveUp stops delivering the leases held that are not in want and
// releases them once the passes under way ended, aside: renewing must
// not wait for that. It returns the leases to renew meanwhile: want and
// those still leaving.
func (k *keeper) giveUp(ctx context.Context, want []string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var drop []string
	for name := range k.held {
		if !slices.Contains(want, name) {
			drop = append(drop, name)
			delete(k.held, name)
			k.leaving[name] = true
		}
	}
	renew := slices.Clone(want)
	for name := range k.leaving {
		if !slices.Contains(renew, name) {
			renew = append(renew, name)
		}
	}
	if len(drop) > 0 {
		k.releasing.Go(func() {
			k.pass.Lock() // the passes that may still send for drop ended
			k.pass.Unlock()
			k.acquire.Lock()
			defer k.acquire.Unlock()
			if ctx.Err() != nil {
				return // stopping: releaseAll gives back what is leaving
			}
			if err := k.leases.ReleaseLeases(ctx, k.d.o.Instance, drop); err != nil {
				k.d.o.Logger.Error("delivery leases", "err", err)
			}
			k.mu.Lock()
			for _, name := range drop {
				delete(k.leaving, name)
			}
			k.mu.Unlock()
		})
	}
	return renew
}

// takeOver replays the sent journals l's previous owner left for the
// destinations l covers, fenced by l: what that process's medium had is
// marked sent before this one claims anything of l.
func (k *keeper) takeOver(ctx context.Context, l store.Lease) error {
	o := k.d.o
	if o.PeerJournal == nil && o.JournalStore == nil {
		return nil
	}
	ctx = store.WithFence(ctx, store.Fence{Lease: l.Name, Token: l.Token})
	for kind := range o.Senders {
		name, elected := o.Elected[kind]
		if elected != (name == l.Name) || !elected && !isPartition(l.Name) {
			continue // the lease covers none of kind's destinations
		}
		covers := func(dest int64) bool { return k.leaseOf(kind, dest) == l.Name }
		if err := k.d.replayLog(ctx, kind, k.d.peerLog(l.Previous, kind), covers); err != nil {
			return fmt.Errorf("take over %s from %s: %w", l.Name, l.Previous, err)
		}
	}
	return nil
}

// isPartition says whether lease name is a partition's.
func isPartition(name string) bool { return strings.HasPrefix(name, partitionPrefix) }
