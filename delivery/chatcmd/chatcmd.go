// Package chatcmd answers the commands people send hark's chat bots in
// private (IRC, Matrix): help, stop, start, list filters, confirm CODE,
// snooze WHEN and snooze FILTER WHEN [drop]. It owns the words and their
// replies; each bot owns its transport and says who wrote (the IRC nick,
// the Matrix ID), which is the address of the destination a command
// changes.
package chatcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/accounts"
	"hark/store"
)

// Settings is what the commands read and change: the destination of the
// address that wrote, and its owner's filters. The settings service
// (accounts.Service) implements it, so a command follows the rules the
// web pages follow.
type Settings interface {
	DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error)
	ListFilters(ctx context.Context, userID int64) ([]store.Filter, error)
	SetPreferences(ctx context.Context, d store.Destination, prefs []accounts.Preference, who accounts.Who) (store.Destination, error)
	// ConfirmAddress confirms the claim on an address whose code this is:
	// several users may wait for confirmation, and the code says whose.
	ConfirmAddress(ctx context.Context, kind, address, code string) error
	// SnoozeFilter snoozes one filter (snooze FILTER WHEN) and says until
	// when, on its user's clock.
	SnoozeFilter(ctx context.Context, f store.Filter, when, then string) (time.Time, error)
}

// Timeout bounds one command's store work and reply.
const Timeout = 30 * time.Second

// Commands answers one chat bot's commands.
type Commands struct {
	// Settings reads and changes settings; nil answers that commands
	// are not available.
	Settings Settings
	// Kind is the destination kind of the bot's addresses (irc, matrix).
	Kind string
	// Noun is what the replies call an address: "nick", "Matrix ID".
	Noun string
	// Help is the reply to help (and to an empty message) for from.
	Help func(from string) ([]string, error)
	Log  *slog.Logger
}

// Request is one message to the bot.
type Request struct {
	// From is the writer's address: their nick, their Matrix ID.
	From string
	Text string
	// Vouch, when set, runs before a command that reads or changes
	// settings, and refuses it with its answer when that is not "": IRC
	// asks NickServ whether the nick is identified.
	Vouch func() (refusal string, err error)
}

// Reply is the answer to r: Answer's, or an apology when hark itself
// failed, which it logs.
func (c *Commands) Reply(ctx context.Context, r Request) []string {
	reply, err := c.Answer(ctx, r)
	if err != nil {
		log := c.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error(c.Kind+" command failed", "from", r.From, "command", firstWord(r.Text), "err", err)
		reply = []string{"Sorry, that failed on hark's side; try again later."}
	}
	return reply
}

func firstWord(text string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	return strings.ToLower(w)
}

// Answer runs one command and returns the reply; err is hark's own
// failure (the store), not the user's mistake.
func (c *Commands) Answer(ctx context.Context, r Request) ([]string, error) {
	text := strings.TrimSpace(r.Text)
	words := strings.Fields(text)
	cmd := strings.ToLower(strings.Join(words, " "))
	if cmd == "help" || cmd == "" {
		return c.Help(r.From)
	}
	known := []string{"stop", "start", "list filters", "confirm"}
	twoWords := len(words) == 2 && (strings.EqualFold(words[0], "confirm") || strings.EqualFold(words[0], "snooze"))
	snoozeFilter := len(words) >= 3 && strings.EqualFold(words[0], "snooze")
	if !slices.Contains(known, cmd) && !twoWords && !snoozeFilter {
		return []string{fmt.Sprintf("Unknown command %q. Send help for the list.", text)}, nil
	}
	if c.Settings == nil {
		return []string{"Commands are not available on this hark."}, nil
	}
	if r.Vouch != nil {
		refusal, err := r.Vouch()
		if err != nil {
			return nil, err
		}
		if refusal != "" {
			return []string{refusal}, nil
		}
	}
	d, err := c.Settings.DestinationByAddress(ctx, c.Kind, r.From)
	if errors.Is(err, store.ErrNotFound) {
		return []string{fmt.Sprintf("The %s %s is not a destination of any hark user; add it on hark's web page first.", c.Noun, r.From)}, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case cmd == "stop" || cmd == "start":
		return c.setEnabled(ctx, d, cmd == "start")
	case cmd == "list filters":
		return c.listFilters(ctx, d)
	case snoozeFilter:
		return c.snoozeFilter(ctx, d, words[1:])
	case strings.EqualFold(words[0], "snooze"):
		return c.snooze(ctx, d, strings.ToLower(words[1]))
	case len(words) == 2:
		// Codes are lower case (delivery.NewCode); people may type them
		// otherwise.
		return c.confirm(ctx, d, r.From, strings.ToLower(words[1]))
	}
	return []string{"Send confirm followed by the code the bot sent you."}, nil
}

func (c *Commands) setEnabled(ctx context.Context, d store.Destination, enabled bool) ([]string, error) {
	d, err := c.Settings.SetPreferences(ctx, d, []accounts.Preference{{Key: "enabled", Value: strconv.FormatBool(enabled)}}, accounts.Owner)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return []string{fmt.Sprintf("Stopped: hark sends nothing to this %s until you send start.", c.Noun)}, nil
	}
	if !d.Confirmed {
		return []string{fmt.Sprintf("Started, but this %s is not confirmed yet: send confirm CODE with the code the bot sent you.", c.Noun)}, nil
	}
	return []string{fmt.Sprintf("Started: hark sends notifications to this %s again.", c.Noun)}, nil
}

// snooze mutes the address for a while (2h), until turned off (on), or
// ends the snooze (off); what matches meanwhile comes as the
// destination's snooze_then says.
func (c *Commands) snooze(ctx context.Context, d store.Destination, arg string) ([]string, error) {
	d, err := c.Settings.SetPreferences(ctx, d, []accounts.Preference{{Key: "snooze", Value: arg}}, accounts.Owner)
	if _, ok := errors.AsType[*accounts.FieldError](err); ok {
		return []string{fmt.Sprintf("%v. Send snooze 2h, snooze on or snooze off.", err)}, nil
	}
	if err != nil {
		return nil, err
	}
	then := "then comes as one digest"
	if d.SnoozeDrop {
		then = "is dropped"
	}
	switch {
	case d.SnoozeUntil.IsZero():
		return []string{"Snooze off: notifications come as usual."}, nil
	case d.SnoozeUntil.Equal(store.Forever):
		return []string{"Snoozed until you send snooze off; what matches meanwhile " + then + "."}, nil
	}
	return []string{fmt.Sprintf("Snoozed until %s UTC; what matches meanwhile %s.", d.SnoozeUntil.UTC().Format("2006-01-02 15:04"), then)}, nil
}

// snoozeFilter is snooze FILTER WHEN [drop]: it mutes one of the user's
// filters for a while (2h), until a time on the user's clock (09:00,
// tomorrow 09:00), until turned off (on), or ends its snooze (off); what
// it matches meanwhile then comes as one digest, or with drop is
// dropped.
func (c *Commands) snoozeFilter(ctx context.Context, d store.Destination, args []string) ([]string, error) {
	const usage = "Send snooze FILTER 2h (or 09:00, tomorrow 09:00, on, off), with drop at the end to drop what matched meanwhile."
	then := "digest"
	if strings.EqualFold(args[len(args)-1], "drop") {
		then, args = "drop", args[:len(args)-1]
	}
	n := 1
	if len(args) >= 3 && strings.EqualFold(args[len(args)-2], "tomorrow") {
		n = 2
	}
	if len(args) <= n {
		return []string{usage}, nil
	}
	name, when := strings.Join(args[:len(args)-n], " "), strings.Join(args[len(args)-n:], " ")
	fs, err := c.Settings.ListFilters(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	at := slices.IndexFunc(fs, func(f store.Filter) bool { return strings.EqualFold(f.Name, name) })
	if at < 0 {
		return []string{fmt.Sprintf("You have no filter named %q; send list filters to see them.", name)}, nil
	}
	until, err := c.Settings.SnoozeFilter(ctx, fs[at], when, then)
	if _, ok := errors.AsType[*accounts.FieldError](err); ok {
		return []string{fmt.Sprintf("%v. %s", err, usage)}, nil
	}
	if err != nil {
		return nil, err
	}
	after := "then comes as one digest"
	if then == "drop" {
		after = "is dropped"
	}
	switch {
	case until.IsZero():
		return []string{fmt.Sprintf("Snooze of %s off: its notifications come as usual.", fs[at].Name)}, nil
	case until.Equal(store.Forever):
		return []string{fmt.Sprintf("%s snoozed until you send snooze %s off; what it matches meanwhile %s.", fs[at].Name, fs[at].Name, after)}, nil
	}
	return []string{fmt.Sprintf("%s snoozed until %s; what it matches meanwhile %s.", fs[at].Name, until.Format("2006-01-02 15:04 MST"), after)}, nil
}

func (c *Commands) listFilters(ctx context.Context, d store.Destination) ([]string, error) {
	fs, err := c.Settings.ListFilters(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return []string{"You have no filters."}, nil
	}
	lines := []string{fmt.Sprintf("You have %d filter%s:", len(fs), plural(len(fs)))}
	for i, f := range fs {
		var notes []string
		if !f.Active {
			notes = append(notes, "inactive")
		}
		if f.Oneshot {
			notes = append(notes, "one-shot")
		}
		if slices.Contains(f.DestinationIDs, d.ID) {
			notes = append(notes, "sends here")
		}
		line := fmt.Sprintf("%d. %s", i+1, f.Name)
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, ", ") + ")"
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// confirm confirms the claim on from whose code this is: d is the
// address's confirmed destination, or one of its claims.
func (c *Commands) confirm(ctx context.Context, d store.Destination, from, code string) ([]string, error) {
	if d.Confirmed {
		return []string{fmt.Sprintf("This %s is already confirmed.", c.Noun)}, nil
	}
	err := c.Settings.ConfirmAddress(ctx, c.Kind, from, code)
	if errors.Is(err, store.ErrBadCode) {
		return []string{"That code is wrong or has expired; ask for a new one on hark's web page."}, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("Confirmed: hark will send your notifications to this %s.", c.Noun)}, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Help is the list of commands for a bot whose replies call an address
// noun, sent to it in where ("in private", "in a direct chat"). The IRC
// bot has its own in its templates, which operators may change.
func Help(noun, where string) []string {
	return []string{
		"I am hark's notification bot. Commands (send them to me " + where + "):",
		"help: this text",
		"stop: stop sending notifications to this " + noun,
		"start: send notifications to this " + noun + " again",
		"list filters: your filters, and which send to this " + noun,
		"confirm CODE: confirm this " + noun + " with the code the bot sent you",
		"snooze 2h, snooze on, snooze off: mute this " + noun + " for a while, or until snooze off",
		"snooze FILTER 2h (or 09:00, tomorrow 09:00, on, off), drop at the end to drop what matched: mute one filter",
	}
}
