// Package accounts carries out what a person asks of their own settings
// that spans the filter format and the store: exporting and importing a
// user's filters, and giving a new user the default filters. The command
// line and the web pages both call it, so they behave alike. It holds no
// SQL (store does) and no matching (filters does).
package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"hark/filters"
	"hark/rules"
	"hark/store"
)

// Store is what accounts needs of hark's store.
type Store interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error)
	SaveDestination(ctx context.Context, d store.Destination) (store.Destination, error)
	ListFilters(ctx context.Context, userID int64) ([]store.Filter, error)
	ReplaceFilters(ctx context.Context, userID int64, fs []store.Filter) ([]store.Filter, error)
}

// Export is a user's filters in the export format, in their order.
func Export(ctx context.Context, st Store, user string) (*filters.Export, error) {
	u, err := st.UserByName(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("export filters: %w", err)
	}
	dests, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("export filters of %s: %w", user, err)
	}
	fs, err := st.ListFilters(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("export filters of %s: %w", user, err)
	}
	names := make(map[int64]string, len(dests))
	for _, d := range dests {
		names[d.ID] = Address(d)
	}
	e := &filters.Export{Version: filters.FormatVersion, User: user, Filters: make([]filters.Filter, 0, len(fs))}
	for _, f := range fs {
		out := filters.Filter{Name: f.Name, Active: f.Active, OneShot: f.Oneshot, Destinations: []string{}, Rules: []rules.Spec{}}
		for _, id := range f.DestinationIDs {
			out.Destinations = append(out.Destinations, names[id])
		}
		for _, r := range f.Rules {
			out.Rules = append(out.Rules, rules.Spec{Kind: r.Kind, Args: r.Args, Negate: r.Negate})
		}
		e.Filters = append(e.Filters, out)
	}
	return e, nil
}

// ImportResult says what an import changed.
type ImportResult struct {
	Filters int // the user's filters after the import
	// NewDestinations were created, unconfirmed: they receive nothing
	// until their owner confirms them.
	NewDestinations []string
}

// Import applies an export file to its user: it replaces the user's
// filters with the file's, or with merge adds and updates them by name.
// Destinations the user does not have yet are created unconfirmed; one
// that belongs to another user is refused, and nothing changes.
func Import(ctx context.Context, st Store, e *filters.Export, merge bool) (ImportResult, error) {
	u, err := st.UserByName(ctx, e.User)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import filters: %w", err)
	}
	current, err := Export(ctx, st, e.User)
	if err != nil {
		return ImportResult{}, err
	}
	want := filters.Import(current.Filters, e, merge)
	if err := filters.Validate(want); err != nil {
		return ImportResult{}, fmt.Errorf("import filters of %s: %w", e.User, err)
	}
	ids, created, err := ensureDestinations(ctx, st, u, want)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import filters of %s: %w", e.User, err)
	}
	if _, err := st.ReplaceFilters(ctx, u.ID, toStore(want, ids)); err != nil {
		return ImportResult{}, fmt.Errorf("import filters of %s: %w", e.User, err)
	}
	return ImportResult{Filters: len(want), NewDestinations: created}, nil
}

// AddDefaults appends the default filters (FMN's: events on my packages
// and events referring to me, without my own actions) to a user's
// filters, delivering to all of the user's destinations. Defaults whose
// names the user already has are left as the user made them.
func AddDefaults(ctx context.Context, st Store, user string) (int, error) {
	u, err := st.UserByName(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("add default filters: %w", err)
	}
	dests, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("add default filters for %s: %w", user, err)
	}
	addrs := make([]string, len(dests))
	for i, d := range dests {
		addrs[i] = Address(d)
	}
	current, err := Export(ctx, st, user)
	if err != nil {
		return 0, err
	}
	var add []filters.Filter
	for _, f := range filters.Defaults(addrs) {
		if !slices.ContainsFunc(current.Filters, func(c filters.Filter) bool { return c.Name == f.Name }) {
			add = append(add, f)
		}
	}
	if len(add) == 0 {
		return 0, nil
	}
	if _, err := Import(ctx, st, &filters.Export{Version: filters.FormatVersion, User: user, Filters: add}, true); err != nil {
		return 0, err
	}
	return len(add), nil
}

// Address is a destination as the filter format names it: "kind:address".
func Address(d store.Destination) string { return d.Kind + ":" + d.Address }

// ensureDestinations returns the IDs of every destination fs use,
// creating the missing ones unconfirmed, and the names of those created.
func ensureDestinations(ctx context.Context, st Store, u store.User, fs []filters.Filter) (map[string]int64, []string, error) {
	dests, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	ids := make(map[string]int64, len(dests))
	have := make([]string, 0, len(dests))
	for _, d := range dests {
		ids[Address(d)] = d.ID
		have = append(have, Address(d))
	}
	created := filters.NewDestinations(have, fs)
	for _, addr := range created {
		kind, address, _ := strings.Cut(addr, ":") // checked by filters.Validate
		d, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: kind, Address: address, Enabled: true})
		if err != nil {
			return nil, nil, err
		}
		ids[addr] = d.ID
	}
	return ids, created, nil
}

// toStore converts filters in the export format to the store's records.
func toStore(fs []filters.Filter, ids map[string]int64) []store.Filter {
	out := make([]store.Filter, len(fs))
	for i, f := range fs {
		sf := store.Filter{Name: f.Name, Active: f.Active, Oneshot: f.OneShot}
		for _, d := range f.Destinations {
			sf.DestinationIDs = append(sf.DestinationIDs, ids[d])
		}
		for _, r := range f.Rules {
			sf.Rules = append(sf.Rules, store.Rule{Kind: r.Kind, Args: r.Args, Negate: r.Negate})
		}
		out[i] = sf
	}
	return out
}
