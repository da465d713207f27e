package accounts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hark/destkind"
	"hark/filters"
	"hark/internal/confirmcode"
	"hark/rules"
	"hark/store"
)

// ServiceStore is what the settings service needs of hark's store;
// every store.Store is one.
type ServiceStore interface {
	Store
	UserByID(ctx context.Context, id int64) (store.User, error)
	DestinationByID(ctx context.Context, id int64) (store.Destination, error)
	DestinationsByAddress(ctx context.Context, kind, address string) ([]store.Destination, error)
	DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error)
	SaveDestination(ctx context.Context, d store.Destination) (store.Destination, error)
	DeleteDestination(ctx context.Context, id int64) error
	PruneUnconfirmed(ctx context.Context, before time.Time) (int64, error)
	SetConfirmCode(ctx context.Context, id int64, code string, expires time.Time) error
	ConfirmDestination(ctx context.Context, id int64, code string, now time.Time) error
	SaveFilter(ctx context.Context, f store.Filter) (store.Filter, error)
	DeleteFilter(ctx context.Context, id int64) error
	ReplaceFilters(ctx context.Context, userID int64, fs []store.Filter) ([]store.Filter, error)
	SetFilterActive(ctx context.Context, userID, id int64, created time.Time, active bool) error
	QueueSend(ctx context.Context, s store.Send) (store.Send, error)
	SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error
}

// Tokens checks the one-click unsubscribe tokens delivery puts in mails
// (delivery.Tokens).
type Tokens interface {
	ParseUnsubscribeToken(token string) (userID, filterID int64, created time.Time, err error)
}

// Options configure a Service. Zero values take the defaults each field
// documents.
type Options struct {
	Store ServiceStore
	// UnconfirmedTTL is how long an unconfirmed destination lives
	// (config users.unconfirmed_ttl; default 48h): each add sweeps the
	// claims that lapsed.
	UnconfirmedTTL time.Duration
	// Confirm is how long a confirmation code is good and how often one
	// may be asked for (defaults 24h, one per address every 10m, 10 per
	// user a day), so hark cannot be used to message strangers.
	Confirm confirmcode.Policy
	// Tokens checks unsubscribe links; nil refuses them all.
	Tokens Tokens
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the one place the rules about people's settings live: the
// web UI, the command line and the chat bots all change filters,
// destinations, preferences and confirmations through it. What must
// reach a destination (a confirmation code, a test notification) it
// queues in the store's outbox for the delivery role to send, so the
// process a person talks to needs no mail server or chat connection;
// a send that fails shows as the destination's LastProblem.
type Service struct {
	o      Options
	limits confirmcode.Limits
}

// New is a Service on o.
func New(o Options) *Service {
	o.UnconfirmedTTL = cmp.Or(o.UnconfirmedTTL, 48*time.Hour)
	o.Confirm.For = cmp.Or(o.Confirm.For, 24*time.Hour)
	o.Confirm.Every = cmp.Or(o.Confirm.Every, 10*time.Minute)
	o.Confirm.PerDay = cmp.Or(o.Confirm.PerDay, 10)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o}
}

// FieldError is a request a person can fix: it names the field (as the
// web form and the API call it) and says what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Errors callers tell apart with errors.Is.
var (
	// ErrConfirmed is a confirmation asked for a destination that has it.
	ErrConfirmed = errors.New("already confirmed")
	// ErrUnconfirmed is a test send to a destination not confirmed yet.
	ErrUnconfirmed = errors.New("not confirmed yet")
	// ErrRateLimited is a confirmation asked for too soon after the last
	// one to the same address, or too often by one user.
	ErrRateLimited = confirmcode.ErrRateLimited
)

// MaxAddress bounds an address as typed.
const MaxAddress = 254

// AddDestination creates an unconfirmed destination kind:address of
// user userID; it receives nothing until confirmed (see
// SendConfirmation). With route, the user's filters that go nowhere yet
// (the defaults of a first login, say) are sent there too. An address
// another user has added, or even confirmed, is added all the same, so
// the answer tells nothing about other users' addresses: the claim is
// settled when someone confirms (store.ConfirmDestination). Each add
// sweeps the claims that lapsed unconfirmed. The user having the
// address already is store.ErrExists. settings are the kind's own,
// checked against its schema; those the kind makes when not given (a
// webhook's secret) are made and returned as made, for the user to see
// once.
func (s *Service) AddDestination(ctx context.Context, userID int64, kind, address string, settings map[string]string, route bool) (d store.Destination, made map[string]string, err error) {
	if len(address) > MaxAddress {
		return d, nil, invalid("address", "is longer than %d characters", MaxAddress)
	}
	k, known := destkind.Lookup(kind)
	if !known {
		return d, nil, invalid("kind", "must be %s", destkind.Choices())
	}
	if err := destkind.Check(kind, address); err != nil {
		return d, nil, invalid("address", "%v", err)
	}
	now := s.o.Now()
	d = store.Destination{UserID: userID, Kind: kind, Address: address, Enabled: true, Created: now}
	for key, v := range settings {
		if d.Settings, err = k.Set(d.Settings, key, v); err != nil {
			return d, nil, invalid(key, "%s", strings.TrimPrefix(err.Error(), key+": "))
		}
	}
	d.Settings, made = k.Generate(d.Settings)
	if _, err := s.o.Store.PruneUnconfirmed(ctx, now.Add(-s.o.UnconfirmedTTL)); err != nil {
		return d, nil, fmt.Errorf("add destination: %w", err)
	}
	d, err = s.o.Store.SaveDestination(ctx, d)
	if err != nil {
		return d, nil, fmt.Errorf("add destination %s:%s: %w", kind, address, err)
	}
	if route {
		if err := s.routeUnrouted(ctx, d); err != nil {
			return d, made, err
		}
	}
	return d, made, nil
}

// routeUnrouted adds d to each of its owner's filters that has no
// destination.
func (s *Service) routeUnrouted(ctx context.Context, d store.Destination) error {
	fs, err := s.o.Store.ListFilters(ctx, d.UserID)
	if err != nil {
		return fmt.Errorf("route filters to %s:%s: %w", d.Kind, d.Address, err)
	}
	for _, f := range fs {
		if len(f.DestinationIDs) == 0 {
			f.DestinationIDs = []int64{d.ID}
			if _, err := s.o.Store.SaveFilter(ctx, f); err != nil {
				return fmt.Errorf("route filter %q to %s:%s: %w", f.Name, d.Kind, d.Address, err)
			}
		}
	}
	return nil
}

// DeleteDestination deletes d; its filters keep their other
// destinations.
func (s *Service) DeleteDestination(ctx context.Context, d store.Destination) error {
	return s.o.Store.DeleteDestination(ctx, d.ID)
}

// SendConfirmation issues unconfirmed destination d a new code, valid
// for Options.Confirm.For, and queues its send: for email a message with
// the link {base_url}/confirm/{id}/{code}, for IRC a private message
// with the code. Rate-limited per address and per user
// (ErrRateLimited). ErrConfirmed when d needs none.
func (s *Service) SendConfirmation(ctx context.Context, d store.Destination) error {
	if d.Confirmed {
		return fmt.Errorf("send confirmation to %s:%s: %w", d.Kind, d.Address, ErrConfirmed)
	}
	now := s.o.Now()
	if !s.limits.Allow(s.o.Confirm, d, now) {
		return fmt.Errorf("send confirmation to %s:%s: %w", d.Kind, d.Address, ErrRateLimited)
	}
	if err := s.o.Store.SetConfirmCode(ctx, d.ID, confirmcode.New(), now.Add(s.o.Confirm.For)); err != nil {
		return fmt.Errorf("send confirmation to %s:%s: %w", d.Kind, d.Address, err)
	}
	return s.queue(ctx, d, store.SendConfirmation)
}

// SendTest queues one test notification to confirmed destination d, so
// its owner can see what hark's messages look like there.
func (s *Service) SendTest(ctx context.Context, d store.Destination) error {
	if !d.Confirmed {
		return fmt.Errorf("send test notification to %s:%s: %w", d.Kind, d.Address, ErrUnconfirmed)
	}
	return s.queue(ctx, d, store.SendTest)
}

func (s *Service) queue(ctx context.Context, d store.Destination, what store.SendWhat) error {
	if _, err := s.o.Store.QueueSend(ctx, store.Send{DestinationID: d.ID, What: what, Created: s.o.Now()}); err != nil {
		return fmt.Errorf("send %s to %s:%s: %w", what, d.Kind, d.Address, err)
	}
	return nil
}

// Confirm confirms d with the code its owner received:
// store.ErrBadCode when it is wrong or expired, store.ErrTaken when
// another user confirmed the address first.
func (s *Service) Confirm(ctx context.Context, d store.Destination, code string) error {
	if len(code) > 64 {
		return invalid("code", "is longer than 64 characters")
	}
	return s.o.Store.ConfirmDestination(ctx, d.ID, code, s.o.Now())
}

// ConfirmAddress confirms the claim on kind:address whose code this is:
// several users may claim one address, and the code says whose it is.
// What a chat bot does with "confirm CODE".
func (s *Service) ConfirmAddress(ctx context.Context, kind, address, code string) error {
	claims, err := s.o.Store.DestinationsByAddress(ctx, kind, address)
	if err != nil {
		return fmt.Errorf("confirm %s:%s: %w", kind, address, err)
	}
	err = store.ErrBadCode
	for _, c := range claims {
		if err = s.Confirm(ctx, c, code); !errors.Is(err, store.ErrBadCode) {
			break
		}
	}
	return err
}

// Who is whose rights a change is made with.
type Who int

// Who changes a setting.
const (
	// Owner is the person whose setting it is: what the web UI and the
	// chat bots act for.
	Owner Who = iota
	// Admin is hark's admin on the command line, who may also mark a
	// destination confirmed.
	Admin
)

// OwnerPreferences are the destination preferences an owner sets;
// "confirmed" is not one: only a confirmation code confirms.
var OwnerPreferences = []string{"enabled", "batch_count", "batch_delta", "digest_at", "quiet_hours", "snooze", "snooze_then", "verbose", "markup"}

// Preference is one preference in its text form (see
// store.Destination.SetPreference).
type Preference struct{ Key, Value string }

// SetPreferences applies prefs to d, in order, and saves it (a new d,
// ID 0, is created: what an admin does for a user). A preference who
// may not set, or a value that is wrong, is a FieldError naming the
// key, and nothing is saved. An owner sets OwnerPreferences of up to 32
// characters; an admin any of store.Preferences.
func (s *Service) SetPreferences(ctx context.Context, d store.Destination, prefs []Preference, who Who) (store.Destination, error) {
	k, _ := destkind.Lookup(d.Kind)
	for _, p := range prefs {
		_, isSetting := k.Setting(p.Key)
		switch {
		case who == Admin:
		case isSetting:
			// destkind bounds a setting's length and names the key.
		case !slices.Contains(OwnerPreferences, p.Key):
			return d, invalid(p.Key, "is not a preference (%s)", strings.Join(append(slices.Clone(OwnerPreferences), k.Keys()...), ", "))
		case len(p.Value) > 32:
			return d, invalid(p.Key, "is longer than 32 characters")
		}
		if err := d.SetPreference(p.Key, p.Value); err != nil {
			return d, invalid(p.Key, "%s", strings.TrimPrefix(err.Error(), p.Key+": "))
		}
	}
	return s.o.Store.SaveDestination(ctx, d)
}

// SaveFilter checks f as its owner would have it and stores it: a name
// unique among the owner's filters, within filters' limits, rules that
// compile (an error names the rule), and destinations of the owner.
func (s *Service) SaveFilter(ctx context.Context, f store.Filter) (store.Filter, error) {
	switch {
	case f.Name == "":
		return f, invalid("name", "is required")
	case len(f.Name) > filters.MaxNameLen:
		return f, invalid("name", "is longer than %d characters", filters.MaxNameLen)
	case len(f.Rules) > filters.MaxRules:
		return f, invalid("rules", "a filter has at most %d rules", filters.MaxRules)
	case len(f.DestinationIDs) > filters.MaxDestinations:
		return f, invalid("destinations", "a filter has at most %d destinations", filters.MaxDestinations)
	}
	owner, err := s.o.Store.UserByID(ctx, f.UserID)
	if err != nil {
		return f, fmt.Errorf("save filter %q: %w", f.Name, err)
	}
	siblings, err := s.o.Store.ListFilters(ctx, f.UserID)
	if err != nil {
		return f, fmt.Errorf("save filter %q: %w", f.Name, err)
	}
	if f.ID == 0 && len(siblings) >= filters.MaxFilters {
		return f, invalid("name", "you have %d filters, the most hark keeps", filters.MaxFilters)
	}
	if slices.ContainsFunc(siblings, func(o store.Filter) bool { return o.Name == f.Name && o.ID != f.ID }) {
		return f, invalid("name", "you already have a filter named %q", f.Name)
	}
	for i, rule := range f.Rules {
		if _, err := rules.Compile(rule.Kind, rule.Args, owner.Name); err != nil {
			return f, invalid(fmt.Sprintf("rules[%d]", i), "%v", err)
		}
	}
	dests, err := s.o.Store.ListDestinations(ctx, f.UserID)
	if err != nil {
		return f, fmt.Errorf("save filter %q: %w", f.Name, err)
	}
	for _, id := range f.DestinationIDs {
		if !slices.ContainsFunc(dests, func(d store.Destination) bool { return d.ID == id }) {
			return f, invalid("destinations", "%d is not one of your destinations", id)
		}
	}
	return s.o.Store.SaveFilter(ctx, f)
}

// DeleteFilter deletes f; its notifications stay, unlinked.
func (s *Service) DeleteFilter(ctx context.Context, f store.Filter) error {
	return s.o.Store.DeleteFilter(ctx, f.ID)
}

// MoveFilter moves f by places in its owner's order; a filter already
// first or last stays.
func (s *Service) MoveFilter(ctx context.Context, f store.Filter, by int) error {
	fs, err := s.o.Store.ListFilters(ctx, f.UserID)
	if err != nil {
		return fmt.Errorf("move filter %q: %w", f.Name, err)
	}
	i := slices.IndexFunc(fs, func(o store.Filter) bool { return o.ID == f.ID })
	j := i + by
	if i < 0 || j < 0 || j >= len(fs) {
		return nil
	}
	fs[i], fs[j] = fs[j], fs[i]
	_, err = s.o.Store.ReplaceFilters(ctx, f.UserID, fs)
	return err
}

// OrderFilters puts user userID's filters in the order of ids, which
// must name each of them once.
func (s *Service) OrderFilters(ctx context.Context, userID int64, ids []int64) error {
	fs, err := s.o.Store.ListFilters(ctx, userID)
	if err != nil {
		return fmt.Errorf("order filters: %w", err)
	}
	if len(ids) != len(fs) {
		return invalid("ids", "name each of your %d filters once", len(fs))
	}
	ordered := make([]store.Filter, 0, len(fs))
	for _, id := range ids {
		i := slices.IndexFunc(fs, func(f store.Filter) bool { return f.ID == id })
		if i < 0 || slices.ContainsFunc(ordered, func(f store.Filter) bool { return f.ID == id }) {
			return invalid("ids", "%d is not one of your filters, or is named twice", id)
		}
		ordered = append(ordered, fs[i])
	}
	_, err = s.o.Store.ReplaceFilters(ctx, userID, ordered)
	return err
}

// DestinationByAddress is the confirmed destination of an address, or
// else the newest claim on it: whose a chat nick is.
func (s *Service) DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error) {
	return s.o.Store.DestinationByAddress(ctx, kind, address)
}

// ListFilters is one user's filters in their order.
func (s *Service) ListFilters(ctx context.Context, userID int64) ([]store.Filter, error) {
	return s.o.Store.ListFilters(ctx, userID)
}

// Export is Export on the service's store.
func (s *Service) Export(ctx context.Context, user string) (*filters.Export, error) {
	return Export(ctx, s.o.Store, user)
}

// Import is Import on the service's store.
func (s *Service) Import(ctx context.Context, e *filters.Export, merge bool) (ImportResult, error) {
	return Import(ctx, s.o.Store, e, merge)
}

// AddDefaults is AddDefaults on the service's store.
func (s *Service) AddDefaults(ctx context.Context, user string) (int, error) {
	return AddDefaults(ctx, s.o.Store, user)
}

// ErrBadToken is an unsubscribe link this hark did not make, or one
// whose filter is gone.
var ErrBadToken = errors.New("invalid unsubscribe link")

// ParseUnsubscribeToken checks an unsubscribe token and returns the user
// and filter it names, and when that filter was created.
func (s *Service) ParseUnsubscribeToken(token string) (userID, filterID int64, created time.Time, err error) {
	if s.o.Tokens == nil {
		return 0, 0, time.Time{}, ErrBadToken
	}
	return s.o.Tokens.ParseUnsubscribeToken(token)
}

// Unsubscribe applies a one-click unsubscribe (RFC 8058): it turns off
// the filter token names and returns its id.
func (s *Service) Unsubscribe(ctx context.Context, token string) (filterID int64, err error) {
	userID, filterID, created, err := s.ParseUnsubscribeToken(token)
	if err != nil {
		return 0, fmt.Errorf("unsubscribe: %w", err)
	}
	if err := s.o.Store.SetFilterActive(ctx, userID, filterID, created, false); err != nil {
		return 0, fmt.Errorf("unsubscribe: %w", err)
	}
	return filterID, nil
}
