// Package accounts carries out what a person asks of their own settings:
// Service is the one place the rules about them live (destinations and
// their confirmation, preferences, filters and their order, import and
// export, default filters, unsubscribe links), and the web pages, the
// command line and the chat bots all go through it, so they behave
// alike. What must reach a destination (a confirmation code, a test
// notification) it queues in the store's outbox for the delivery role.
// It also applies what an identity provider vouches for at login, and
// disables accounts the provider's directory no longer lists (check.go). It
// holds no SQL (store does), no matching (filters does) and no sending
// (delivery does).
package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"hark/destkind"
	"hark/filters"
	"hark/rules"
	"hark/schedule"
	"hark/store"
)

// Store is what accounts needs of hark's store.
type Store interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	ListDestinations(ctx context.Context, userID int64) ([]store.Destination, error)
	ListFilters(ctx context.Context, userID int64) ([]store.Filter, error)
	ImportFilters(ctx context.Context, userID int64, create []store.Destination, fs []store.Filter) ([]store.Filter, []store.Destination, error)
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
	e := &filters.Export{Version: filters.FormatVersion, User: user, Filters: make([]filters.Filter, 0, len(fs))}
	for _, d := range dests {
		names[d.ID] = Address(d)
		// Secrets stay behind: an export is kept in git, shared.
		if k, _ := destkind.Lookup(d.Kind); k.Public(d.Settings) != nil {
			e.Destinations = append(e.Destinations, filters.DestinationSettings{Destination: Address(d), Settings: k.Public(d.Settings)})
		}
	}
	for _, f := range fs {
		out := filters.Filter{Name: f.Name, Active: f.Active, OneShot: f.Oneshot, Destinations: []string{}, Rules: []rules.Spec{}}
		for _, id := range f.DestinationIDs {
			out.Destinations = append(out.Destinations, names[id])
		}
		for _, r := range f.Rules {
			out.Rules = append(out.Rules, rules.Spec{Kind: r.Kind, Args: r.Args, Negate: r.Negate})
		}
		exportDelivery(&out, f.FilterDelivery, names)
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
// filters with the file's, or with merge adds and updates them by name,
// within filters' limits. Destinations the user does not have yet are
// created unconfirmed. It is all or nothing: an import that fails
// changes nothing, not even the destinations it would have created.
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
	ids, create, created, err := destinationIDs(ctx, st, u, want, e)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import filters of %s: %w", e.User, err)
	}
	if _, _, err := st.ImportFilters(ctx, u.ID, create, toStore(want, ids)); err != nil {
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

// destinationIDs maps every destination fs use to its ID: the user's
// own, or for the ones to create (returned, with their names) the
// placeholder store.ImportFilters fills in.
// A destination created takes the settings e lists for it.
func destinationIDs(ctx context.Context, st Store, u store.User, fs []filters.Filter, e *filters.Export) (map[string]int64, []store.Destination, []string, error) {
	dests, err := st.ListDestinations(ctx, u.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := make(map[string]int64, len(dests))
	have := make([]string, 0, len(dests))
	for _, d := range dests {
		ids[Address(d)] = d.ID
		have = append(have, Address(d))
	}
	created := filters.NewDestinations(have, fs)
	create := make([]store.Destination, len(created))
	for i, addr := range created {
		kind, address, _ := strings.Cut(addr, ":") // checked by filters.Validate
		create[i] = store.Destination{Kind: kind, Address: address, Enabled: true, Settings: e.SettingsOf(addr)}
		ids[addr] = -int64(i + 1)
	}
	return ids, create, created, nil
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
		sf.FilterDelivery = importDelivery(f, ids)
		out[i] = sf
	}
	return out
}

// exportDelivery writes how a filter is delivered into its export form,
// naming destinations as names does.
func exportDelivery(out *filters.Filter, fd store.FilterDelivery, names map[int64]string) {
	out.Urgent = fd.Urgent
	if out.Snooze = schedule.SnoozeText(fd.SnoozeUntil, time.Now()); out.Snooze != "" && fd.SnoozeDrop {
		out.SnoozeThen = "drop"
	}
	for id, m := range fd.Modes {
		if name, ok := names[id]; ok {
			if out.Modes == nil {
				out.Modes = map[string]string{}
			}
			out.Modes[name] = m.String()
		}
	}
}

// importDelivery is how f, checked by filters.Validate, says it is
// delivered, with destinations mapped to IDs by ids.
func importDelivery(f filters.Filter, ids map[string]int64) store.FilterDelivery {
	fd := store.FilterDelivery{Urgent: f.Urgent, SnoozeDrop: f.SnoozeThen == "drop"}
	fd.SnoozeUntil, _ = f.SnoozeUntil() // checked
	if fd.SnoozeUntil.IsZero() {
		fd.SnoozeDrop = false
	}
	for d, text := range f.Modes {
		m, err := schedule.ParseMode(text)
		if err != nil {
			continue // checked
		}
		if fd.Modes == nil {
			fd.Modes = map[int64]schedule.Mode{}
		}
		fd.Modes[ids[d]] = m
	}
	return fd
}
