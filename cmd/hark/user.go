package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"hark/accounts"
	"hark/config"
	"hark/destkind"
	"hark/store"
)

func init() {
	commands["user"] = command{summary: "add, list, disable and enable users, set their passwords, make them admins", run: runUser}
}

const userUsage = `Usage:
  hark user add NAME [--email ADDR]... [--irc NICK]... [--admin] [--confirmed] [--defaults]
  hark user list
  hark user passwd NAME    (the password is read from stdin)
  hark user admin NAME [--revoke]
  hark user disable NAME
  hark user enable NAME`

func runUser(ctx context.Context, args []string, io stdio) int {
	sub := map[string]func(context.Context, []string, stdio) int{
		"add": runUserAdd, "list": runUserList, "passwd": runUserPasswd, "disable": runUserDisable, "enable": runUserEnable, "admin": runUserAdmin,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(io.err, userUsage)
		return 2
	}
	return sub[args[0]](ctx, args[1:], io)
}

// userFlags is a FlagSet for "hark user VERB" that prints the user usage.
func userFlags(verb string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("hark user "+verb, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(io.err, userUsage)
		fs.PrintDefaults()
	}
	return fs
}

// oneName is the single NAME argument of a user command.
func oneName(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("want one NAME, got %d arguments", len(args))
	}
	return args[0], nil
}

func runUserAdd(ctx context.Context, args []string, io stdio) int {
	fs := userFlags("add", io)
	var emails, nicks stringsFlag
	fs.Var(&emails, "email", "an email `ADDR` to notify (repeatable)")
	fs.Var(&nicks, "irc", "an IRC `NICK` to notify (repeatable)")
	admin := fs.Bool("admin", false, "the user administers hark")
	confirmed := fs.Bool("confirmed", false, "the destinations need no confirmation")
	defaults := fs.Bool("defaults", false, "give the user the default filters (my packages, things about me; not my own actions)")
	return adminCommand(ctx, "hark user add", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		name, err := oneName(args)
		if err != nil {
			return err
		}
		var dests []store.Destination
		add := func(kind string, addrs []string) {
			for _, addr := range addrs {
				dests = append(dests, store.Destination{Kind: kind, Address: addr, Enabled: true, Confirmed: *confirmed})
			}
		}
		add(store.KindEmail, emails)
		add(store.KindIRC, nicks)
		// Refuse bad or taken addresses before the user exists, so a
		// mistake leaves nothing half made.
		for _, d := range dests {
			if err := destkind.Check(d.Kind, d.Address); err != nil {
				return usagef("--%s: %v", d.Kind, err) // the flags are named after the kinds
			}
			if other, err := s.DestinationByAddress(ctx, d.Kind, d.Address); err == nil && other.Confirmed && d.Confirmed {
				return fmt.Errorf("%s:%s: %w", d.Kind, d.Address, store.ErrTaken)
			}
		}
		u, err := s.CreateUser(ctx, store.User{Name: name, Admin: *admin})
		if err != nil {
			return err
		}
		for _, d := range dests {
			d.UserID = u.ID
			if _, err := s.SaveDestination(ctx, d); err != nil {
				return err
			}
		}
		fmt.Fprintf(io.out, "added user %s with %d destinations\n", name, len(dests))
		if *defaults {
			n, err := accounts.AddDefaults(ctx, s, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "added %d default filters\n", n)
		}
		return nil
	})
}

func runUserList(ctx context.Context, args []string, io stdio) int {
	return adminCommand(ctx, "hark user list", userFlags("list", io), args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected argument %q", args[0])
		}
		users, err := s.ListUsers(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tADMIN\tDISABLED\tCREATED\tDESTINATIONS")
		for _, u := range users {
			ds, err := s.ListDestinations(ctx, u.ID)
			if err != nil {
				return err
			}
			var names []string
			for _, d := range ds {
				state := ""
				if !d.Confirmed {
					state = " (unconfirmed)"
				}
				names = append(names, d.Kind+":"+d.Address+state)
			}
			fmt.Fprintf(w, "%s\t%t\t%t\t%s\t%s\n", u.Name, u.Admin, u.Disabled, u.Created.Format("2006-01-02"), strings.Join(names, ", "))
		}
		return w.Flush()
	})
}

func runUserPasswd(ctx context.Context, args []string, io stdio) int {
	return adminCommand(ctx, "hark user passwd", userFlags("passwd", io), args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		name, err := oneName(args)
		if err != nil {
			return err
		}
		if _, err := s.UserByName(ctx, name); err != nil {
			return err
		}
		line, err := bufio.NewReader(io.in).ReadString('\n')
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return fmt.Errorf("read password from stdin: no password given (%v)", err)
		}
		hash, err := store.HashPassword(password)
		if err != nil {
			return err
		}
		if err := s.SetPasswordHash(ctx, name, hash); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "set the password of %s\n", name)
		return nil
	})
}

// runUserAdmin makes an existing user an admin (or, with --revoke, not),
// so a user made on the command line can administer the web UI too.
func runUserAdmin(ctx context.Context, args []string, io stdio) int {
	fs := userFlags("admin", io)
	revoke := fs.Bool("revoke", false, "stop the user being an admin")
	return adminCommand(ctx, "hark user admin", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		name, err := oneName(args)
		if err != nil {
			return err
		}
		if err := s.SetUserAdmin(ctx, name, !*revoke); err != nil {
			return err
		}
		if *revoke {
			fmt.Fprintf(io.out, "%s is no longer an admin\n", name)
		} else {
			fmt.Fprintf(io.out, "%s is an admin\n", name)
		}
		return nil
	})
}

func runUserDisable(ctx context.Context, args []string, io stdio) int {
	return setUserDisabled(ctx, "disable", true, args, io,
		"disabled %s; the running service stops matching their filters within a second and holds what is queued for them\n")
}

func runUserEnable(ctx context.Context, args []string, io stdio) int {
	return setUserDisabled(ctx, "enable", false, args, io,
		"enabled %s; the running service matches their filters again within a second and delivers what was held\n")
}

// setUserDisabled is hark user disable and enable: done says what
// happened to the user named.
func setUserDisabled(ctx context.Context, verb string, disabled bool, args []string, io stdio, done string) int {
	return adminCommand(ctx, "hark user "+verb, userFlags(verb, io), args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		name, err := oneName(args)
		if err != nil {
			return err
		}
		if err := s.SetUserDisabled(ctx, name, disabled); err != nil {
			return err
		}
		fmt.Fprintf(io.out, done, name)
		return nil
	})
}
