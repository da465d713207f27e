package router

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"hark/filters"
	"hark/rules"
	"hark/store"
)

// reloadLoop reloads the filters whenever the store's change feed says
// the settings changed after from, and every ReloadEvery in case the
// feed missed it, until ctx is done.
func (r *Router) reloadLoop(ctx context.Context, from store.FeedCursor) {
	changed := make(chan struct{}, 1)
	var follower sync.WaitGroup
	defer follower.Wait()
	follower.Go(func() {
		store.Follow(ctx, r.opts.Store, from, r.opts.ReloadEvery, func(cs []store.Change) {
			if slices.ContainsFunc(cs, func(c store.Change) bool { return c.Type == store.ChangeSettings }) {
				select {
				case changed <- struct{}{}:
				default: // a reload is due already
				}
			}
		}, func(err error) {
			r.log.Error("read the change feed; filters reload on the timer meanwhile", "every", r.opts.ReloadEvery, "err", err)
		})
	})
	tick := time.NewTicker(r.opts.ReloadEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
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

// snapshot reads every enabled user's active filters, as the index
// takes them, with their usable destinations (confirmed, enabled and not
// turned off by delivery), each filter with its store ids (filters.Ref).
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
	snap := snapshot{users: map[string][]filters.Filter{}}
	for _, f := range active {
		user, ok := names[f.UserID]
		if !ok {
			continue
		}
		spec := filters.Filter{Name: f.Name, Active: f.Active, OneShot: f.Oneshot, Ref: filters.Ref{UserID: f.UserID, FilterID: f.ID}}
		for _, id := range f.DestinationIDs {
			if d, ok := usable[id]; ok {
				spec.Destinations = append(spec.Destinations, d)
				spec.Ref.DestinationIDs = append(spec.Ref.DestinationIDs, id)
			}
		}
		for _, rule := range f.Rules {
			spec.Rules = append(spec.Rules, rules.Spec{Kind: rule.Kind, Args: rule.Args, Negate: rule.Negate})
		}
		snap.users[user] = append(snap.users[user], spec)
	}
	return snap, nil
}

// snapshot is the store's active filters by user.
type snapshot struct {
	users map[string][]filters.Filter
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

// sameFilter says whether two filters would compile to the same thing,
// with the same store ids.
func sameFilter(a, b filters.Filter) bool {
	return a.Name == b.Name && a.Active == b.Active && a.OneShot == b.OneShot &&
		slices.Equal(a.Destinations, b.Destinations) &&
		a.Ref.UserID == b.Ref.UserID && a.Ref.FilterID == b.Ref.FilterID && slices.Equal(a.Ref.DestinationIDs, b.Ref.DestinationIDs) &&
		slices.EqualFunc(a.Rules, b.Rules, func(x, y rules.Spec) bool {
			return x.Kind == y.Kind && x.Negate == y.Negate && string(x.Args) == string(y.Args)
		})
}
