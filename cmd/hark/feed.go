package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"strings"
	"time"

	"hark/config"
	"hark/store"
	"hark/ui"
)

func init() {
	commands["feed"] = command{summary: "give a user a new Atom feed URL (the old one stops working)", run: runFeed}
}

// feedSecrets is what `hark feed` needs of the store.
type feedSecrets interface {
	SetFeedSecret(ctx context.Context, userID int64, secret string, now time.Time) error
}

func runFeed(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark feed rotate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(io.err, `Usage: hark feed rotate NAME

Gives the user a new secret Atom feed URL of their recent notifications
and prints it; the URL before stops working. Users get one on the web UI
too (POST /api/v1/feed).
`)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "rotate" {
		fs.SetOutput(io.err)
		fs.Usage()
		return 2
	}
	return adminCommand(ctx, "hark feed rotate", fs, args[1:], io, func(ctx context.Context, s store.Store, cfg *config.Config, args []string) error {
		if len(args) != 1 {
			return usagef("want NAME")
		}
		feeds, ok := s.(feedSecrets)
		if !ok {
			return fmt.Errorf("this store keeps no feeds")
		}
		u, err := s.UserByName(ctx, args[0])
		if err != nil {
			return err
		}
		secret := rand.Text()
		if err := feeds.SetFeedSecret(ctx, u.ID, secret, time.Now()); err != nil {
			return err
		}
		fmt.Fprintln(io.out, ui.FeedURL(strings.TrimRight(cfg.Web.BaseURL, "/"), secret))
		return nil
	})
}
