package accounts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"hark/schedule"
	"hark/store"
)

// The way one filter of a user is delivered, set by filter and
// destination name: what the command line, the API and the chat bots
// share. Each reads the text a person typed and names the field in its
// errors.

// fieldErr is a FieldError of field, saying err's text.
func fieldErr(field string, err error) error { return &FieldError{field, err.Error()} }

// FilterStore is what setting a filter's delivery needs of hark's store.
type FilterStore interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error)
	ListFilters(ctx context.Context, userID int64) ([]store.Filter, error)
	SaveFilter(ctx context.Context, f store.Filter) (store.Filter, error)
	SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error
}

// Location is a user's time zone: UTC when they set none. An unknown
// zone is an error naming the field.
func Location(u store.User) (*time.Location, error) {
	loc, err := time.LoadLocation(u.Timezone)
	if err != nil {
		return nil, &FieldError{"timezone", fmt.Sprintf("%q is not a known time zone like Europe/Prague", u.Timezone)}
	}
	return loc, nil
}

// SnoozeFilter snoozes user's filter named filter until when (see
// schedule.ParseSnooze: 2h, 09:00 and tomorrow 09:00 on the user's clock,
// an RFC 3339 time, on, off), then has what it held sent as one digest
// (then "digest" or "") or dropped ("drop"). It says when the snooze ends
// (zero: it was turned off).
func SnoozeFilter(ctx context.Context, st FilterStore, user, filter, when, then string, now time.Time) (time.Time, error) {
	u, f, err := userFilter(ctx, st, user, filter)
	if err != nil {
		return time.Time{}, err
	}
	return SnoozeFilterOf(ctx, st, u, f, when, then, now)
}

// SnoozeFilter snoozes f (see SnoozeFilterOf) and says until when, on
// its user's clock: what the chat bots call.
func (s *Service) SnoozeFilter(ctx context.Context, f store.Filter, when, then string) (time.Time, error) {
	u, err := s.o.Store.UserByID(ctx, f.UserID)
	if err != nil {
		return time.Time{}, fmt.Errorf("snooze filter %q: %w", f.Name, err)
	}
	until, err := SnoozeFilterOf(ctx, s.o.Store, u, f, when, then, s.o.Now())
	if err != nil || until.IsZero() || until.Equal(schedule.Forever) {
		return until, err
	}
	loc, _ := Location(u) // read by SnoozeFilterOf
	return until.In(loc), nil
}

// Snoozer is what SnoozeFilterOf needs of hark's store.
type Snoozer interface {
	SnoozeFilter(ctx context.Context, userID, id int64, until time.Time, drop bool) error
}

// SnoozeFilterOf is SnoozeFilter of user u's filter f, read by the caller
// (a chat bot knows the user by their nick, not their name).
func SnoozeFilterOf(ctx context.Context, st Snoozer, u store.User, f store.Filter, when, then string, now time.Time) (time.Time, error) {
	loc, err := Location(u)
	if err != nil {
		return time.Time{}, err
	}
	until, err := schedule.ParseSnooze(when, now, loc)
	if err != nil {
		return time.Time{}, fieldErr("snooze", err)
	}
	if then != "" && then != "digest" && then != "drop" {
		return time.Time{}, &FieldError{"snooze_then", fmt.Sprintf("%q is not digest or drop", then)}
	}
	if err := st.SnoozeFilter(ctx, u.ID, f.ID, until, then == "drop" && !until.IsZero()); err != nil {
		return time.Time{}, fmt.Errorf("snooze filter %q: %w", f.Name, err)
	}
	return until, nil
}

// SetFilterMode makes user's filter named filter deliver to destination
// dest ("kind:address", one of the filter's) in mode (see
// schedule.ParseMode), or, with mode "default", in the destination's own
// way again.
func SetFilterMode(ctx context.Context, st FilterStore, user, filter, dest, mode string) error {
	u, f, err := userFilter(ctx, st, user, filter)
	if err != nil {
		return err
	}
	dests, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("set mode of filter %q: %w", filter, err)
	}
	if f, err = withMode(f, dests, dest, mode); err != nil {
		return err
	}
	if _, err := st.SaveFilter(ctx, f); err != nil {
		return fmt.Errorf("set mode of filter %q: %w", filter, err)
	}
	return nil
}

// SetFilterMode is SetFilterMode of filter f, through the service's
// checks of a filter: what the web pages and the API call.
func (s *Service) SetFilterMode(ctx context.Context, f store.Filter, dest, mode string) (store.Filter, error) {
	dests, err := s.o.Store.ListDestinations(ctx, f.UserID)
	if err != nil {
		return f, fmt.Errorf("set mode of filter %q: %w", f.Name, err)
	}
	if f, err = withMode(f, dests, dest, mode); err != nil {
		return f, err
	}
	return s.SaveFilter(ctx, f)
}

// SetFilterUrgent is SetFilterUrgent of filter f, through the service's
// checks of a filter.
func (s *Service) SetFilterUrgent(ctx context.Context, f store.Filter, urgent bool) (store.Filter, error) {
	f.Urgent = urgent
	return s.SaveFilter(ctx, f)
}

// withMode is f with its mode at dest (among dests, the user's) set, or
// with "default" cleared.
func withMode(f store.Filter, dests []store.Destination, dest, mode string) (store.Filter, error) {
	var id int64
	for _, d := range dests {
		if Address(d) == dest {
			id = d.ID
		}
	}
	if id == 0 || !slices.Contains(f.DestinationIDs, id) {
		return f, &FieldError{"destination", fmt.Sprintf("%q is not one of filter %q's destinations", dest, f.Name)}
	}
	f.Modes = maps.Clone(f.Modes)
	if mode == "default" {
		delete(f.Modes, id)
		return f, nil
	}
	m, err := schedule.ParseMode(mode)
	if err != nil {
		return f, fieldErr("mode", err)
	}
	if f.Modes == nil {
		f.Modes = map[int64]schedule.Mode{}
	}
	f.Modes[id] = m
	return f, nil
}

// SetFilterUrgent marks user's filter named filter urgent (its
// notifications go out during quiet hours) or not.
func SetFilterUrgent(ctx context.Context, st FilterStore, user, filter string, urgent bool) error {
	_, f, err := userFilter(ctx, st, user, filter)
	if err != nil {
		return err
	}
	f.Urgent = urgent
	if _, err := st.SaveFilter(ctx, f); err != nil {
		return fmt.Errorf("mark filter %q urgent: %w", filter, err)
	}
	return nil
}

// userFilter is user and their filter named name.
func userFilter(ctx context.Context, st FilterStore, user, name string) (store.User, store.Filter, error) {
	u, err := st.UserByName(ctx, user)
	if err != nil {
		return store.User{}, store.Filter{}, fmt.Errorf("user %q: %w", user, err)
	}
	fs, err := st.ListFilters(ctx, u.ID)
	if err != nil {
		return store.User{}, store.Filter{}, fmt.Errorf("filters of %q: %w", user, err)
	}
	for _, f := range fs {
		if f.Name == name {
			return u, f, nil
		}
	}
	return store.User{}, store.Filter{}, &FieldError{"filter", fmt.Sprintf("%s has no filter named %q", user, name)}
}
