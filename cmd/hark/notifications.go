package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"hark/config"
	"hark/store"
)

func init() {
	commands["notifications"] = command{summary: "list notifications, newest first, with their state", run: runNotifications}
}

// notificationJSON is one element of `hark notifications --json`; its keys
// are a contract for scripts.
type notificationJSON struct {
	ID          int64       `json:"id"`
	MsgID       string      `json:"msg_id"`
	User        string      `json:"user"`
	Destination string      `json:"destination"`
	Filter      string      `json:"filter"`
	State       store.State `json:"state"`
	Created     time.Time   `json:"created"`
	Sent        *time.Time  `json:"sent"` // null until sent
}

func runNotifications(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark notifications", flag.ContinueOnError)
	user := fs.String("user", "", "only the notifications of user `NAME`")
	asJSON := fs.Bool("json", false, "print one JSON array")
	limit := fs.Int("limit", 100, "at most `N` notifications")
	return adminCommand(ctx, "hark notifications", fs, args, io, func(ctx context.Context, s store.Store, _ *config.Config, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected argument %q", args[0])
		}
		if *user != "" {
			if _, err := s.UserByName(ctx, *user); err != nil {
				return err
			}
		}
		ns, err := s.ListNotifications(ctx, store.NotificationQuery{User: *user, Limit: *limit})
		if err != nil {
			return err
		}
		out := make([]notificationJSON, len(ns))
		for i, n := range ns {
			out[i] = notificationJSON{ID: n.ID, MsgID: n.MsgKey, User: n.UserName, Destination: n.Destination,
				Filter: n.FilterName, State: n.State, Created: n.Created}
			if !n.Sent.IsZero() {
				out[i].Sent = &ns[i].Sent
			}
		}
		if *asJSON {
			enc := json.NewEncoder(io.out)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tSTATE\tUSER\tDESTINATION\tFILTER\tCREATED\tSENT\tMSG_ID")
		for _, n := range out {
			sent := "-"
			if n.Sent != nil {
				sent = n.Sent.Format(time.DateTime)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.State, n.User, n.Destination, n.Filter, n.Created.Format(time.DateTime), sent, n.MsgID)
		}
		return w.Flush()
	})
}
