// Package store keeps hark's state: users, their destinations and filters,
// the recent message history that previews search, the durable
// notification queue and the delivery log. Store is the interface the rest
// of hark uses; store/sqlite (the default) and store/postgres implement
// it, and store/storetest is the suite every backend must pass.
// This package holds no SQL. The records are plain data: store knows nothing of how rules are
// compiled or how notifications are sent.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"hark/destkind"
	"hark/schedule"
)

// Errors callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrTaken is a destination address another user has confirmed.
	ErrTaken = errors.New("belongs to another user")
	// ErrBadCode is a wrong or expired confirmation code.
	ErrBadCode = errors.New("wrong or expired confirmation code")
)

// Store is all of hark's persistent state: the contract every backend
// keeps (store/sqlite and store/postgres) and store/storetest checks. Every method is safe for
// concurrent use, also across processes sharing one database (the service
// and the admin commands).
type Store interface {
	Users
	Destinations
	Filters
	History
	Queue
	Delivery
	Outbox
	Web
	Leases
	Feed
	SentJournal
	// SettingsVersion changes whenever a user, destination or filter does
	// (also when a one-shot filter is used up), so a running service can
	// poll it cheaply and reload only when it moved.
	SettingsVersion(ctx context.Context) (int64, error)
	Close() error
}

// Users are the people hark notifies.
type Users interface {
	// CreateUser stores u (its ID and Created are set) or fails with
	// ErrExists when the name is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	UserByName(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetPasswordHash stores a hash made by HashPassword.
	SetPasswordHash(ctx context.Context, name, hash string) error
	SetUserDisabled(ctx context.Context, name string, disabled bool) error
	// SetUserAdmin makes an existing user an admin, or not.
	SetUserAdmin(ctx context.Context, name string, admin bool) error
}

// Destinations are where a user's notifications go.
type Destinations interface {
	// SaveDestination creates d (ID 0) or updates it by ID. Users may
	// claim the same address unconfirmed; a user has an address once
	// (ErrExists), and it is confirmed for one user only (ErrTaken).
	SaveDestination(ctx context.Context, d Destination) (Destination, error)
	// DestinationByAddress is the confirmed destination of an address,
	// or else the newest claim on it.
	DestinationByAddress(ctx context.Context, kind, address string) (Destination, error)
	ListDestinations(ctx context.Context, userID int64) ([]Destination, error)
	// AllDestinations is every user's destinations in one read: what the
	// service maps filters' destinations with when it reloads them.
	AllDestinations(ctx context.Context) ([]Destination, error)
	// ConfirmDestination marks destination id confirmed if code is its
	// confirmation code and has not expired at now (else ErrBadCode),
	// and drops the other users' claims on its address; ErrTaken if
	// another user confirmed the address first.
	ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error
	// DestinationsByAddress is every claim on an address, the confirmed
	// one first, then the newest.
	DestinationsByAddress(ctx context.Context, kind, address string) ([]Destination, error)
}

// Filters are users' filters with their rules.
type Filters interface {
	// SaveFilter creates f (ID 0) or replaces it by ID, rules and
	// destinations included, in one transaction.
	SaveFilter(ctx context.Context, f Filter) (Filter, error)
	DeleteFilter(ctx context.Context, id int64) error
	// ReplaceFilters makes fs, in order, the user's filters, in one
	// transaction: what importing a filter file does. It returns fs with
	// their IDs.
	ReplaceFilters(ctx context.Context, userID int64, fs []Filter) ([]Filter, error)
	// ImportFilters is ReplaceFilters that first creates the user's
	// destinations in create, unconfirmed as given; a filter names
	// create[i] by the DestinationID -(i+1). All of it is one
	// transaction: an import that fails leaves nothing behind. It returns
	// fs and create with their IDs.
	ImportFilters(ctx context.Context, userID int64, create []Destination, fs []Filter) ([]Filter, []Destination, error)
	// ListFilters is one user's filters in their order.
	ListFilters(ctx context.Context, userID int64) ([]Filter, error)
	// ActiveFilters is every active filter of every enabled user, ordered
	// by user and position: what the matching index is built from.
	ActiveFilters(ctx context.Context) ([]Filter, error)
	// SnoozeFilter sets (or, with a zero until, ends) the snooze of
	// userID's filter id alone, leaving its rules be (ErrNotFound when
	// the user has no such filter).
	SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error
}

// History is the bounded store of recently received messages.
type History interface {
	// AddMessages stores messages not stored yet (by Key) and says how
	// many were new.
	AddMessages(ctx context.Context, msgs []Message) (int, error)
	// HistoryPage is up to limit messages older than cursor, newest
	// first; the zero cursor starts at the newest. Pass the last
	// message's Cursor() for the next page.
	HistoryPage(ctx context.Context, before Cursor, limit int) ([]Message, error)
	// MessagesByKey returns the stored messages among keys.
	MessagesByKey(ctx context.Context, keys []string) (map[string]Message, error)
	// PruneHistory deletes messages received before cutoff, except those
	// a notification still waiting to be sent refers to.
	PruneHistory(ctx context.Context, cutoff time.Time) (int64, error)
	// ScanHistory is a preview's read of the history: newest first,
	// narrowed by the terms messages are filed under and by a test of
	// their stored text.
	ScanHistory(ctx context.Context, q Scan) (Scanned, error)
	// TermValues is the distinct values of one term field in the history.
	TermValues(ctx context.Context, field string) ([]string, error)
	// QueryHistory returns how many messages q selects, and q.Limit of
	// them after the first q.Offset (the datagrepper-compatible API).
	QueryHistory(ctx context.Context, q HistoryQuery) (total int, page []Message, err error)
	// TermsWithPrefix is up to limit distinct values of one term field
	// that start with prefix, sorted (the editor's completions).
	TermsWithPrefix(ctx context.Context, field, prefix string, limit int) ([]string, error)
	// FilterMessagesSince is up to limit messages one filter of a user
	// notified since a time, newest first ("not like this" previews).
	FilterMessagesSince(ctx context.Context, userID, filterID int64, since time.Time, limit int) ([]Message, error)
}

// Queue is the durable notification queue and the delivery log.
type Queue interface {
	// Enqueue stores each message in the history and its matches as
	// queued notifications, all in one transaction, so a crash keeps all
	// or none. A notification's ID is fixed here, though the SQLite store
	// writes its row only when it is first claimed (the PostgreSQL store
	// writes it here). A message queued
	// before (by key) queues nothing again, which makes re-processing it
	// after a crash harmless; one destination gets one notification per
	// message. A one-shot filter is deactivated by the first message that
	// makes a notification through it; later matches of it, even in
	// racing transactions, make none.
	Enqueue(ctx context.Context, batch []Accepted) (EnqueueResult, error)
	// Claim takes up to limit due notifications of one destination, oldest
	// first, and leases them until now+lease: a sender that crashes before
	// marking them gets them again after the lease, and two senders never
	// get the same one within it. Each claim counts as an attempt.
	Claim(ctx context.Context, destinationID int64, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// ClaimOnly is Claim of the notifications of one destination that
	// filters in only made: how a filter with a mode of its own for the
	// destination is delivered apart from the rest.
	ClaimOnly(ctx context.Context, destinationID int64, only FilterSet, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// Pending summarises, per destination, the notifications that are due
	// at now: what delivery needs to decide on batching.
	Pending(ctx context.Context, now time.Time) ([]Pending, error)
	// MarkSent, MarkFailed and MarkDead record a send's outcome on the
	// notifications and in the delivery log, in one transaction.
	MarkSent(ctx context.Context, ids []int64, now time.Time) error
	MarkFailed(ctx context.Context, ids []int64, reason string, retryAt, now time.Time) error
	MarkDead(ctx context.Context, ids []int64, reason string, now time.Time) error
	// MarkSentNoted is MarkSent with a detail for the delivery log: why
	// they are marked sent (delivery's sent journal, replayed after a
	// crash).
	MarkSentNoted(ctx context.Context, ids []int64, detail string, now time.Time) error
	// RequeueDead queues dead notifications again (all of them when ids is
	// empty) and says how many.
	RequeueDead(ctx context.Context, ids []int64, now time.Time) (int64, error)
	// QueueDepth counts notifications by state.
	QueueDepth(ctx context.Context) (map[State]int64, error)
	// ListNotifications lists notifications newest first, with the user,
	// destination and filter names filled in.
	ListNotifications(ctx context.Context, q NotificationQuery) ([]Notification, error)
	// NotificationByID is one notification with the names
	// ListNotifications fills in (ErrNotFound when there is none).
	NotificationByID(ctx context.Context, id int64) (Notification, error)
	// DeadLetters lists up to limit dead notifications, newest first,
	// with the names filled in.
	DeadLetters(ctx context.Context, limit int) ([]Notification, error)
	// DeliveryLog lists outcomes newest first.
	DeliveryLog(ctx context.Context, q NotificationQuery) ([]LogEntry, error)
}

// User is a person hark notifies.
type User struct {
	ID           int64
	Name         string
	Admin        bool
	Disabled     bool
	PasswordHash string // "" when the user logs in through OIDC only
	Timezone     string // IANA name; "" is UTC
	Created      time.Time
}

// Destination kinds; destkind describes them all.
const (
	KindEmail = destkind.Email
	KindIRC   = destkind.IRC
	// KindWebhook is an HTTP URL that gets a signed JSON POST per
	// notification (delivery/webhook); KindNtfy an ntfy topic URL
	// (delivery/ntfy).
	KindWebhook = destkind.Webhook
	KindNtfy    = destkind.Ntfy
)

// Destination is an email address or IRC nick of a user, with its
// confirmation state and delivery preferences.
type Destination struct {
	ID      int64
	UserID  int64
	Kind    string // one of destkind.Names()
	Address string
	// Confirmed destinations receive notifications; the others wait for
	// their owner to answer ConfirmCode before ConfirmExpires.
	Confirmed      bool
	ConfirmCode    string
	ConfirmExpires time.Time
	Enabled        bool
	// BatchCount and BatchDelta make a digest: notifications wait until
	// BatchCount are queued or the oldest waited BatchDelta (0 = off).
	BatchCount int
	BatchDelta time.Duration
	// DigestAt, when set, holds everything for one digest at a time of
	// day in the user's time zone: "08:00" daily, "mon 08:00" weekly
	// (package schedule reads it).
	DigestAt string
	// QuietHours, when set, is a span of the user's day ("22:00-07:00")
	// when nothing is sent: what matches waits, and goes out as one
	// digest when it ends.
	QuietHours string
	// SnoozeUntil, when set, holds everything until then; what waited
	// then goes out as one digest, or is dropped when SnoozeDrop.
	SnoozeUntil time.Time
	SnoozeDrop  bool
	Verbose     bool // digests carry full messages, not one line each
	Markup      bool // IRC colours
	// DisabledReason says why delivery turned this destination off (e.g.
	// the address bounced); "" when it did not.
	DisabledReason string
	// Settings are the kind's own settings by key (a webhook's secret, an
	// ntfy token): destkind.Kind.Settings is their schema, which
	// SaveDestination checks them against. nil when none.
	Settings map[string]string
	// LastProblem is why the last of hark's own sends to it (a test, a
	// confirmation) failed, until one succeeds (Outbox.SetSendProblem):
	// read only, SaveDestination leaves it alone.
	LastProblem SendProblem
	Created     time.Time
}

// Filter is one of a user's filters: its rules are ANDed, and it sends to
// DestinationIDs.
type Filter struct {
	ID             int64
	UserID         int64
	Name           string
	Position       int // order among the user's filters, from 0
	Active         bool
	Oneshot        bool
	Rules          []Rule
	DestinationIDs []int64
	FilterDelivery
	Created time.Time
	Updated time.Time
}

// FilterDelivery is how a filter's matches are delivered where that is
// not its destinations' own way.
type FilterDelivery struct {
	// Urgent filters' notifications go out during their destinations'
	// quiet hours.
	Urgent bool
	// SnoozeUntil, when set, holds this filter's notifications until
	// then; what waited then goes out as one digest, or is dropped when
	// SnoozeDrop. Forever is "until turned back on".
	SnoozeUntil time.Time
	SnoozeDrop  bool
	// Modes is, by destination ID, a mode this filter's notifications
	// take there instead of the destination's own (say "now" on a
	// destination that digests daily). A destination not in Modes keeps
	// its own.
	Modes map[int64]schedule.Mode
}

// FilterSet picks notifications by the filter that made them: those of
// IDs, or with Except all but those (FilterSet{Except: true} is all). A
// notification whose filter was deleted counts as filter 0.
type FilterSet struct {
	IDs    []int64
	Except bool
}

// Has says whether the notifications of filter id are in fs.
func (fs FilterSet) Has(id int64) bool {
	return slices.Contains(fs.IDs, id) != fs.Except
}

// Imported is f as ImportFilters saves it: with the destinations it
// names by placeholder (-(i+1) for created[i], already saved) replaced by
// their IDs, in DestinationIDs and Modes alike. f's own slice and map
// are left as they were.
func (f Filter) Imported(created []Destination) (Filter, error) {
	real := func(id int64) (int64, error) {
		if id >= 0 {
			return id, nil
		}
		if k := int(-id - 1); k < len(created) {
			return created[k].ID, nil
		}
		return 0, fmt.Errorf("filter %q: destination %d names none of the %d created", f.Name, id, len(created))
	}
	f.DestinationIDs = slices.Clone(f.DestinationIDs)
	for i, id := range f.DestinationIDs {
		var err error
		if f.DestinationIDs[i], err = real(id); err != nil {
			return f, err
		}
	}
	if f.Modes == nil {
		return f, nil
	}
	modes := make(map[int64]schedule.Mode, len(f.Modes))
	for id, m := range f.Modes {
		dest, err := real(id)
		if err != nil {
			return f, err
		}
		modes[dest] = m
	}
	f.Modes = modes
	return f, nil
}

// Rule is one rule of a filter as stored: its kind's name and arguments
// as the rules catalogue defines them.
type Rule struct {
	Kind   string          `json:"kind"`
	Args   json.RawMessage `json:"args,omitempty"`
	Negate bool            `json:"negate,omitempty"`
}

// Message is a received bus message as the history keeps it.
type Message struct {
	ID          int64  // the history row, for paging
	Key         string // bus.Envelope.Key(): msg_id or a hash
	Topic       string
	Timestamp   time.Time       // the message's own timestamp
	Received    time.Time       // when hark stored it; retention counts from here
	Envelope    json.RawMessage // as bus.CompactUTF8 writes it: what the regex rule and previews search
	Description json.RawMessage // meta.Description as JSON

	filed *Filed // what Description files it under, when NewMessage was told
}

// Filed is the part of a stored description (meta.Description as JSON)
// that messages are filed under.
type Filed struct {
	App       string   `json:"app"`
	Agent     string   `json:"agent"`
	Usernames []string `json:"usernames"`
	Packages  []string `json:"packages"`
}

// FiledUnder is what m's description files it under, when NewMessage
// was told by the description itself; ok is false when a store must
// decode Description to know.
func (m Message) FiledUnder() (f Filed, ok bool) {
	if m.filed == nil {
		return Filed{}, false
	}
	return *m.filed, true
}

// Cursor is a position in the history, newest first.
type Cursor struct {
	Timestamp time.Time
	ID        int64
}

// Cursor is the position just after m, for the next HistoryPage.
func (m Message) Cursor() Cursor { return Cursor{m.Timestamp, m.ID} }

// Accepted is one message with everything it matched.
type Accepted struct {
	Message Message
	Matches []Match
}

// Match is one notification to make: a user's filter matched the message
// for one of its destinations.
type Match struct {
	UserID        int64
	DestinationID int64
	FilterID      int64
	// Oneshot is the filter's flag as the caller's filter snapshot has it;
	// the store deactivates the filter when this match is its first.
	Oneshot bool
	// Why is the filter's rule verdicts, shown to the user as the reason
	// the notification was sent.
	Why json.RawMessage
}

// EnqueueResult says what an Enqueue changed.
type EnqueueResult struct {
	Messages      int     // messages new to the history
	Notifications int     // notifications newly queued
	UsedUp        []int64 // one-shot filters this batch deactivated
	// Dropped is matches whose destination was deleted meanwhile.
	Dropped int
}

// State is where a notification is in its life.
type State string

// Notification states.
const (
	StateQueued State = "queued"
	StateSent   State = "sent"
	StateFailed State = "failed" // tried, will be retried at NextAttempt
	StateDead   State = "dead"   // given up; RequeueDead revives it
)

// Notification is one message for one destination of one user.
type Notification struct {
	ID            int64
	MsgKey        string
	UserID        int64
	DestinationID int64
	FilterID      int64 // 0 once the filter was deleted
	State         State
	Attempts      int
	NextAttempt   time.Time
	LastError     string
	Why           json.RawMessage
	Created       time.Time
	Sent          time.Time // zero until sent

	// Filled by ListNotifications, NotificationByID and DeadLetters only.
	UserName    string
	Destination string // kind:address
	FilterName  string
}

// Pending is what waits for one destination.
type Pending struct {
	DestinationID int64
	Due           int
	Oldest        time.Time // when the oldest due notification was queued
	// ByFilter is the same split by the filter that made them, in filter
	// order: what delivery needs where a filter has a mode of its own.
	ByFilter []FilterPending
}

// FilterPending is what one filter made that waits for one destination.
type FilterPending struct {
	FilterID int64 // 0: a deleted filter
	Due      int
	Oldest   time.Time
}

// FirstDestination is what DestinationByAddress answers, from what
// DestinationsByAddress did for kind:address: the first of ds (the
// confirmed one, else the newest claim), or ErrNotFound when there is
// none.
func FirstDestination(ds []Destination, err error, kind, address string) (Destination, error) {
	if err == nil && len(ds) == 0 {
		err = fmt.Errorf("find destination %s:%s: %w", kind, address, ErrNotFound)
	}
	if err != nil {
		return Destination{}, err
	}
	return ds[0], nil
}

// NotificationQuery narrows a listing. Zero values mean no restriction;
// Limit 0 means 100.
type NotificationQuery struct {
	User  string
	Limit int
}

// Max is how many q lists at most: its Limit, or 100.
func (q NotificationQuery) Max() int {
	if q.Limit <= 0 {
		return 100
	}
	return q.Limit
}

// LogEntry is one outcome in the delivery log: what was sent (or not) to
// whom, when, through which filter.
type LogEntry struct {
	ID             int64
	NotificationID int64
	MsgKey         string
	UserID         int64
	DestinationID  int64
	FilterID       int64
	Outcome        State // sent, failed, dead, or queued for a requeue
	Detail         string
	At             time.Time
}
