// Package app is the table of the roles `hark serve` is made of (the
// store, the matching index, the router, delivery, the chat bots, the web
// UI, metrics): what each needs, and how it comes up and goes down. A
// process runs the roles it is asked for and whatever they need, so the
// router, delivery and the web UI can run as separate processes on one
// database, or all in one.
package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is one part of the service.
type Role struct {
	Name  string
	Title string // what it does, for --help
	// Needs names the roles that must be up before this one; a process
	// asked for this role runs them too.
	Needs []string
	// Start brings the role up; the roles it needs are up. Nil when the
	// role only groups its needs.
	Start func(ctx context.Context) error
	// Stop releases what Start took. It runs in the reverse order of the
	// starts, also when a later role failed to start. Nil when there is
	// nothing to release.
	Stop func() error
}

// Table is every role, each after the roles it needs: the order they
// start in.
type Table []Role

// All is the spelling of every role in a list of roles.
const All = "all"

// Names is the table's role names, in order.
func (t Table) Names() []string {
	names := make([]string, len(t))
	for i, r := range t {
		names[i] = r.Name
	}
	return names
}

// Check reports a role that needs a role that is not in the table, or
// not before it: a mistake in the table, not in what a user asked for.
func (t Table) Check() error {
	for i, r := range t {
		for _, n := range r.Needs {
			j := slices.IndexFunc(t, func(r Role) bool { return r.Name == n })
			if j < 0 || j >= i {
				return fmt.Errorf("role %s needs %s, which does not come before it", r.Name, n)
			}
		}
	}
	return nil
}

// Resolve is the roles a list such as "router,delivery,web" names, with
// the roles they need, in the order they start; "" and "all" are every
// role.
func (t Table) Resolve(list string) ([]Role, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	list = strings.TrimSpace(list)
	if list == "" || list == All {
		return slices.Clone(t), nil
	}
	want := map[string]bool{}
	var add func(name string) error
	add = func(name string) error {
		i := slices.IndexFunc(t, func(r Role) bool { return r.Name == name })
		if i < 0 {
			return fmt.Errorf("unknown role %q: the roles are %s, or %s", name, strings.Join(t.Names(), ", "), All)
		}
		if want[name] {
			return nil
		}
		want[name] = true
		for _, n := range t[i].Needs {
			if err := add(n); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range strings.Split(list, ",") {
		if err := add(strings.TrimSpace(name)); err != nil {
			return nil, err
		}
	}
	var roles []Role
	for _, r := range t {
		if want[r.Name] {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// Start starts roles in order. When one fails, the ones started are
// stopped again and the error names the role. stop stops them all, in
// reverse order, and joins their errors.
func Start(ctx context.Context, roles []Role) (stop func() error, err error) {
	var started []Role
	stop = func() error {
		var errs []error
		for _, r := range slices.Backward(started) {
			if r.Stop != nil {
				if err := r.Stop(); err != nil {
					errs = append(errs, fmt.Errorf("stop %s: %w", r.Name, err))
				}
			}
		}
		started = nil
		return errors.Join(errs...)
	}
	for _, r := range roles {
		if r.Start != nil {
			if err := r.Start(ctx); err != nil {
				return nil, errors.Join(fmt.Errorf("start %s: %w", r.Name, err), stop())
			}
		}
		started = append(started, r)
	}
	return stop, nil
}

// Has says whether roles holds the role named name.
func Has(roles []Role, name string) bool {
	return slices.ContainsFunc(roles, func(r Role) bool { return r.Name == name })
}
