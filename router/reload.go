package router

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"hark/filters"
	"hark/rules"
)

// directory maps the names the index speaks in (user, filter name,
// "kind:address") to the store's IDs, for one reload of the filters.
type directory struct {
	filters map[userKey]filterRef
	dests   map[userKey]int64
}

// userKey is a name within one user's namespace.
type userKey struct{ user, name string }

type filterRef struct {
	id, userID int64
	oneshot    bool
	why        json.RawMessage // filters.MatchedVerdicts, encoded
}

func (d *directory) filter(user, name string) (filterRef, bool) {
	f, ok := d.filters[userKey{user, name}]
	return f, ok
}

func (d *directory) destination(user, dest string) (int64, bool) {
	id, ok := d.dests[userKey{user, dest}]
	return id, ok
}

// reloadLoop polls the store's settings version and reloads the filters
// when it moved, until ctx is done.
func (r *Router) reloadLoop(ctx context.Context) {
	tick := time.NewTicker(r.opts.ReloadEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("reload filters failed; matching goes on with the old ones", "err", err)
		}
	}
}

// Reload brings the index in step with the store when the store's
// settings version moved since the last reload. Only users whose filters
// changed are recompiled, so matching never stops.
func (r *Router) Reload(ctx context.Context) error {
	version, err := r.opts.Store.SettingsVersion(ctx)
	if err != nil {
		r.stats.reloadErrors.Add(1)
		return fmt.Errorf("reload filters: %w", err)
	}
	if version == r.version.Load() {
		return nil
	}
	snap, err := r.snapshot(ctx)
	if err != nil {
		r.stats.reloadErrors.Add(1)
		return fmt.Errorf("reload filters: %w", err)
	}
	ix := r.opts.Index
	r.dir.Store(snap.dir)
	for user, fs := range snap.users {
		if slices.EqualFunc(ix.Filters(user), fs, sameFilter) {
			continue
		}
		if err := ix.SetUser(user, fs); err != nil {
			// A filter the store holds but that no longer compiles (say a
			// rule kind was renamed) must not silence the user's others.
			r.log.Error("filters of user do not compile; using the ones that do", "user", user, "err", err)
			if err := ix.SetUser(user, compilable(user, fs)); err != nil {
				r.log.Error("filters of user dropped", "user", user, "err", err)
			}
		}
	}
	for _, user := range ix.Users() {
		if _, ok := snap.users[user]; !ok {
			ix.RemoveUser(user)
		}
	}
	r.version.Store(version)
	r.stats.reloads.Add(1)
	return nil
}

// snapshot is the store's active filters, as the index takes them, with
// the directory mapping them back to IDs.
type snapshot struct {
	users map[string][]filters.Filter
	dir   *directory
}

// snapshot reads every enabled user's active filters and their usable
// destinations: confirmed, enabled and not turned off by delivery.
func (r *Router) snapshot(ctx context.Context) (snapshot, error) {
	users, err := r.opts.Store.ListUsers(ctx)
	if err != nil {
		return snapshot{}, err
	}
	dests, err := r.opts.Store.AllDestinations(ctx)
	if err != nil {
		return snapshot{}, err
	}
	active, err := r.opts.Store.ActiveFilters(ctx)
	if err != nil {
		return snapshot{}, err
	}
	names := make(map[int64]string, len(users))
	for _, u := range users {
		if !u.Disabled {
			names[u.ID] = u.Name
		}
	}
	usable := make(map[int64]string, len(dests))
	for _, d := range dests {
		if d.Confirmed && d.Enabled && d.DisabledReason == "" {
			usable[d.ID] = d.Kind + ":" + d.Address
		}
	}
	snap := snapshot{
		users: map[string][]filters.Filter{},
		dir:   &directory{filters: map[userKey]filterRef{}, dests: map[userKey]int64{}},
	}
	for _, f := range active {
		user, ok := names[f.UserID]
		if !ok {
			continue
		}
		spec := filters.Filter{Name: f.Name, Active: f.Active, OneShot: f.Oneshot}
		for _, id := range f.DestinationIDs {
			if d, ok := usable[id]; ok {
				spec.Destinations = append(spec.Destinations, d)
				snap.dir.dests[userKey{user, d}] = id
			}
		}
		for _, rule := range f.Rules {
			spec.Rules = append(spec.Rules, rules.Spec{Kind: rule.Kind, Args: rule.Args, Negate: rule.Negate})
		}
		snap.users[user] = append(snap.users[user], spec)
		why, _ := json.Marshal(filters.MatchedVerdicts(spec)) // plain verdicts: cannot fail
		snap.dir.filters[userKey{user, f.Name}] = filterRef{id: f.ID, userID: f.UserID, oneshot: f.Oneshot, why: why}
	}
	return snap, nil
}

// compilable is fs without the filters whose rules do not compile.
func compilable(user string, fs []filters.Filter) []filters.Filter {
	return slices.DeleteFunc(slices.Clone(fs), func(f filters.Filter) bool {
		for _, r := range f.Rules {
			if _, err := rules.Compile(r.Kind, r.Args, user); err != nil {
				return true
			}
		}
		return false
	})
}

// sameFilter says whether two filters would compile to the same thing.
func sameFilter(a, b filters.Filter) bool {
	return a.Name == b.Name && a.Active == b.Active && a.OneShot == b.OneShot &&
		slices.Equal(a.Destinations, b.Destinations) &&
		slices.EqualFunc(a.Rules, b.Rules, func(x, y rules.Spec) bool {
			return x.Kind == y.Kind && x.Negate == y.Negate && string(x.Args) == string(y.Args)
		})
}
