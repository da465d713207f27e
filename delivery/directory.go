package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"hark/store"
)

// directory is the users, destinations and filter names delivery renders
// with, read again only when the store's settings version moved.
type directory struct {
	st Store

	mu      sync.Mutex
	version int64
	snap    *snapshot
	// off are destinations delivery disabled since the last read, so they
	// stop at once rather than at the next reload.
	off map[int64]bool
}

// snapshot is one read of the directory; it is never changed.
type snapshot struct {
	users   map[int64]user
	dests   map[int64]store.Destination
	filters map[int64]store.FilterName
}

type user struct {
	name string
	loc  *time.Location
	// disabled users (an admin's hark user disable, or their account
	// gone at the identity provider) receive nothing: what is queued for
	// them waits, as for a disabled destination, until they are enabled.
	disabled bool
}

// receives says whether d may be sent to: confirmed by its owner, enabled,
// and not disabled by delivery.
func receives(d store.Destination) bool {
	return d.Confirmed && d.Enabled && d.DisabledReason == ""
}

func (dr *directory) get(ctx context.Context) (*snapshot, error) {
	v, err := dr.st.SettingsVersion(ctx)
	if err != nil {
		return nil, err
	}
	dr.mu.Lock()
	if dr.snap != nil && v == dr.version {
		defer dr.mu.Unlock()
		return dr.snap, nil
	}
	dr.mu.Unlock()
	snap, err := read(ctx, dr.st)
	if err != nil {
		return nil, err
	}
	dr.mu.Lock()
	defer dr.mu.Unlock()
	dr.version, dr.snap, dr.off = v, snap, nil
	return snap, nil
}

func read(ctx context.Context, st Store) (*snapshot, error) {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	dests, err := st.AllDestinations(ctx)
	if err != nil {
		return nil, fmt.Errorf("read destinations: %w", err)
	}
	filters, err := st.FilterNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("read filters: %w", err)
	}
	s := &snapshot{users: map[int64]user{}, dests: map[int64]store.Destination{}, filters: map[int64]store.FilterName{}}
	for _, u := range users {
		loc, err := time.LoadLocation(u.Timezone)
		if err != nil {
			loc = time.UTC // a bad zone shows UTC rather than nothing
		}
		s.users[u.ID] = user{name: u.Name, loc: loc, disabled: u.Disabled}
	}
	for _, d := range dests {
		s.dests[d.ID] = d
	}
	for _, f := range filters {
		s.filters[f.ID] = f
	}
	return s, nil
}

// disable marks id disabled until the next reload shows it so.
func (dr *directory) disable(id int64) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.off == nil {
		dr.off = map[int64]bool{}
	}
	dr.off[id] = true
}

func (dr *directory) disabled(id int64) bool {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	return dr.off[id]
}
