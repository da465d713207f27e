package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"hark/internal/confirmcode"
	"hark/store"
)

// Store is what delivery needs of hark's store; every store.Store is one.
type Store interface {
	SettingsVersion(ctx context.Context) (int64, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	AllDestinations(ctx context.Context) ([]store.Destination, error)
	FilterNames(ctx context.Context) ([]store.FilterName, error)
	MessagesByKey(ctx context.Context, keys []string) (map[string]store.Message, error)
	Pending(ctx context.Context, now time.Time) ([]store.Pending, error)
	NotificationByID(ctx context.Context, id int64) (store.Notification, error)
	ClaimOnly(ctx context.Context, destinationID int64, only store.FilterSet, now time.Time, lease time.Duration, limit int) ([]store.Notification, error)
	MarkSent(ctx context.Context, ids []int64, now time.Time) error
	MarkFailed(ctx context.Context, ids []int64, reason string, retryAt, now time.Time) error
	MarkDead(ctx context.Context, ids []int64, reason string, now time.Time) error
	Release(ctx context.Context, ids []int64, next time.Time) error
	RequeueDead(ctx context.Context, ids []int64, now time.Time) (int64, error)
	DisableDestination(ctx context.Context, id int64, reason string) error
	SetConfirmCode(ctx context.Context, id int64, code string, expires time.Time) error
	ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error
	SetFilterActive(ctx context.Context, userID, id int64, created time.Time, active bool) error
	DestinationByID(ctx context.Context, id int64) (store.Destination, error)
	ClaimSends(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]store.Send, error)
	FinishSend(ctx context.Context, id int64) error
	SetSendProblem(ctx context.Context, id int64, p store.SendProblem) error
	// The change feed wakes the workers (see follow).
	store.Following
}

// Retry is the backoff for sends that may work later.
type Retry struct {
	// MaxAttempts is how many sends are tried before a notification is
	// dead-lettered.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the wait before the next attempt,
	// which doubles per attempt and is jittered so that many failed
	// notifications do not come back at the same instant.
	BackoffMin, BackoffMax time.Duration
}

// Flood is flood control: past Rate notifications within Window, a
// destination gets one digest every DigestFor instead. Rate 0 is off.
type Flood struct {
	Rate      int
	Window    time.Duration
	DigestFor time.Duration
}

// Options configure a Deliverer. Zero values take the defaults each field
// documents.
type Options struct {
	Store   Store
	Senders Senders
	// BaseURL is web.base_url: links to filters, confirmation and
	// unsubscribe pages start with it.
	BaseURL string
	// Key signs unsubscribe tokens (see LoadKey); it must stay the same
	// across restarts or old links stop working.
	Key   []byte
	Retry Retry
	Flood Flood
	// SendTimeout bounds one send (default 10s). A claimed notification is
	// leased for SendTimeout plus 5s: after a crash, what was in flight is
	// tried again once the lease ran out, so this is also how long a
	// restart waits for it.
	SendTimeout time.Duration
	// SentJournal is where the sent journal lives (see journal): each
	// destination kind appends to its own file, this path with "." and
	// the kind added. hark serve keeps it beside the database. "" keeps
	// none: a crash then sends again the sends not yet marked, up to
	// markEvery of them.
	SentJournal string
	// JournalStore, when set, keeps the sent journals in the store
	// instead, as Instance's (SentJournal and PeerJournal are then not
	// used): hark serve sets it on PostgreSQL, where a process on another
	// machine taking a partition over must read its predecessor's
	// journal.
	JournalStore store.SentJournal
	// PollEvery is how often a kind's queue is read when the store's
	// change feed did not ask for it sooner (default 1s): what a retry or
	// a digest that came due waits at most. A new notification is read
	// when the feed says it was queued, within milliseconds, whichever
	// process queued it.
	PollEvery time.Duration
	// PollOnly leaves the change feed alone: the queue is read every
	// PollEvery only.
	PollOnly bool
	// DisableAfter is how many permanent failures in a row disable a
	// destination (default 3): a dead address stops being tried.
	DisableAfter int
	// ConfirmFor is how long a confirmation link stays valid (default
	// 24h); ConfirmEvery is the least time between two confirmation
	// mails to one address, and ConfirmPerDay how many one user may ask
	// for in a day (defaults 10m and 10), so hark cannot be used to mail
	// strangers.
	ConfirmFor    time.Duration
	ConfirmEvery  time.Duration
	ConfirmPerDay int
	// Leases, when set, makes this process one of several delivering
	// from one store (see partitions.go): it delivers only the
	// destinations of the partitions it leases, as Instance, fenced by
	// their leases. Nil delivers every destination, unfenced: the single
	// process.
	Leases Leases
	// Instance names this process among those delivering from the store:
	// its leases' owner. Each must have its own.
	Instance string
	// Partitions is how many partitions the destinations are cut into
	// (default 64): the most delivery processes that can share the work.
	// Every process on one store must use the same number.
	Partitions int
	// Lease is how long a lease lasts unless renewed (default 15s),
	// renewed every third of it: how long a killed process's
	// destinations wait for another to take them over.
	Lease time.Duration
	// Elected names, per kind, the one lease whose holder delivers every
	// destination of the kind: a chat bot with one connection for the
	// service ("irc" → "bot:irc").
	Elected map[string]string
	// PeerJournal is the SentJournal of another instance, by its name:
	// the journal file a process taking a lease over replays. With
	// JournalStore, that journal is the instance's in the store.
	PeerJournal func(instance string) string
	// Now and Jitter are the clock and the source of jitter (a number in
	// [0, 1)); tests replace them.
	Now    func() time.Time
	Jitter func() float64
	Logger *slog.Logger
}

// Deliverer sends what the queue holds: one worker per destination kind.
type Deliverer struct {
	o     Options
	dir   directory
	flood *flood
	stats stats
	conf  confirmcode.Limits

	mu        sync.Mutex
	permanent map[int64]int       // destination → permanent failures in a row
	journals  map[string]*journal // kind → its sent journal, opened by its first pass

	keeper *keeper // the leases this process delivers under; nil when it is alone
}

// New checks o and fills its defaults.
func New(o Options) (*Deliverer, error) {
	if o.Store == nil {
		return nil, errors.New("new deliverer: no store")
	}
	if len(o.Key) < 16 {
		return nil, errors.New("new deliverer: unsubscribe key shorter than 16 bytes")
	}
	o.Retry.MaxAttempts = cmp.Or(o.Retry.MaxAttempts, 10)
	o.Retry.BackoffMin = cmp.Or(o.Retry.BackoffMin, 30*time.Second)
	o.Retry.BackoffMax = max(o.Retry.BackoffMax, o.Retry.BackoffMin)
	o.Flood.Window = cmp.Or(o.Flood.Window, time.Minute)
	o.Flood.DigestFor = cmp.Or(o.Flood.DigestFor, 10*time.Minute)
	o.SendTimeout = cmp.Or(o.SendTimeout, 10*time.Second)
	o.PollEvery = cmp.Or(o.PollEvery, time.Second)
	o.DisableAfter = cmp.Or(o.DisableAfter, 3)
	o.ConfirmFor = cmp.Or(o.ConfirmFor, 24*time.Hour)
	o.ConfirmEvery = cmp.Or(o.ConfirmEvery, 10*time.Minute)
	o.ConfirmPerDay = cmp.Or(o.ConfirmPerDay, 10)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.Partitions = cmp.Or(o.Partitions, 64)
	o.Lease = cmp.Or(o.Lease, 15*time.Second)
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	o.Senders = maps.Clone(o.Senders)
	d := &Deliverer{o: o, permanent: map[int64]int{}, journals: map[string]*journal{}}
	d.dir.st = o.Store
	d.flood = newFlood(o.Flood)
	if o.Leases != nil {
		d.keeper = &keeper{d: d, leases: o.Leases, held: map[string]store.Lease{}, leaving: map[string]bool{}}
	}
	return d, nil
}

// Register adds (or replaces) the Sender of a destination kind; call it
// before Run. It lets each kind's package be wired in on its own.
func (d *Deliverer) Register(kind string, s Sender) {
	if d.o.Senders == nil {
		d.o.Senders = Senders{}
	}
	d.o.Senders[kind] = s
}

// lease is how long a claimed notification is held by this process.
func (d *Deliverer) lease() time.Duration { return d.o.SendTimeout + 5*time.Second }

// Run delivers until ctx is done: one worker per kind with a Sender, so a
// kind whose server is down never holds up another, woken by the store's
// change feed. It closes the sent journals when it returns.
func (d *Deliverer) Run(ctx context.Context) error {
	var errs []error
	var wg sync.WaitGroup
	if d.keeper != nil {
		// The first round before the first passes, so they have leases.
		if err := d.keeper.round(ctx); err != nil {
			d.o.Logger.Error("delivery leases", "err", err)
		}
		wg.Go(func() { d.keeper.keep(ctx) })
	}
	wake := make(map[string]chan struct{}, len(d.o.Senders))
	for kind := range d.o.Senders {
		wake[kind] = make(chan struct{}, 1)
	}
	if !d.o.PollOnly {
		from := store.FollowFrom(ctx, d.o.Store) // before the workers' first pass
		wg.Go(func() { d.follow(ctx, from, wake) })
	}
	for kind := range d.o.Senders {
		wg.Go(func() { d.work(ctx, kind, wake[kind]) })
	}
	wg.Go(func() { d.workOutbox(ctx) })
	wg.Wait()
	if d.keeper != nil {
		// The releases of partitions given up run aside; they end before
		// everything still held or leaving is given back.
		d.keeper.releasing.Wait()
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		errs = append(errs, d.keeper.releaseAll(release))
		cancel()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for kind, j := range d.journals {
		errs = append(errs, j.close())
		delete(d.journals, kind)
	}
	return errors.Join(errs...)
}

// follow reads the store's change feed after from until ctx is done,
// and wakes the worker of each kind a change may give work (see wakes).
// A feed that fails leaves the workers to their PollEvery until it works
// again.
func (d *Deliverer) follow(ctx context.Context, from store.FeedCursor, wake map[string]chan struct{}) {
	store.Follow(ctx, d.o.Store, from, d.o.PollEvery, func(cs []store.Change) {
		for _, c := range cs {
			for kind, ch := range wake {
				if wakes(c, kind) {
					select {
					case ch <- struct{}{}:
					default: // a wake is pending already
					}
				}
			}
		}
	}, func(err error) { d.o.Logger.Error("read the change feed; delivery polls meanwhile", "err", err) })
}

// wakes reports whether change c may give the worker of kind work: its
// kind's notifications were queued, or settings changed (a destination
// confirmed, enabled or unsnoozed makes what waited for it due).
func wakes(c store.Change, kind string) bool {
	switch c.Type {
	case store.ChangeQueued:
		return c.Kind == "" || c.Kind == kind
	case store.ChangeSettings:
		return true
	}
	return false
}

// journal is kind's sent journal, opened on first use; nil when
// there is none (no JournalStore, and SentJournal is "").
func (d *Deliverer) journal(ctx context.Context, kind string) (*journal, error) {
	if d.o.JournalStore == nil && d.o.SentJournal == "" {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if j := d.journals[kind]; j != nil {
		return j, nil
	}
	var j *journal
	var err error
	if d.o.JournalStore != nil {
		j, err = openStoreJournal(ctx, d.o.JournalStore, d.journalInstance(), kind)
	} else {
		j, err = openJournal(d.o.SentJournal + "." + kind)
	}
	if err != nil {
		return nil, fmt.Errorf("deliver %s: %w", kind, err)
	}
	d.journals[kind] = j
	return j, nil
}

// journalInstance is whose journal in the store this process writes:
// its Instance, or "default" for a process without a name (the name
// hark serve's leases use too).
func (d *Deliverer) journalInstance() string { return cmp.Or(d.o.Instance, "default") }

// peerLog is the journal log of kind another instance left, for a
// takeover to replay; nil when there is none to read.
func (d *Deliverer) peerLog(instance, kind string) journalLog {
	switch {
	case d.o.JournalStore != nil:
		return &storeLog{st: d.o.JournalStore, instance: cmp.Or(instance, "default"), kind: kind}
	case d.o.PeerJournal != nil:
		return &fileLog{path: d.o.PeerJournal(instance) + "." + kind}
	}
	return nil
}

// work runs Pass for kind whenever wake says the feed has work for it,
// and every PollEvery in any case, until ctx is done.
func (d *Deliverer) work(ctx context.Context, kind string, wake <-chan struct{}) {
	t := time.NewTimer(d.o.PollEvery)
	defer t.Stop()
	for {
		if err := d.Pass(ctx, kind); err != nil && ctx.Err() == nil {
			d.o.Logger.Error("deliver", "kind", kind, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		t.Reset(d.o.PollEvery)
	}
}
