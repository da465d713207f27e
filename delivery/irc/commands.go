package irc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"hark/accounts"
	"hark/store"
)

// Settings is what the bot's commands read and change: the destination
// of the nick that wrote, and its owner's filters. The settings service
// (accounts.Service) implements it, so a command follows the rules the
// web pages follow.
type Settings interface {
	DestinationByAddress(ctx context.Context, kind, address string) (store.Destination, error)
	ListFilters(ctx context.Context, userID int64) ([]store.Filter, error)
	SetPreferences(ctx context.Context, d store.Destination, prefs []accounts.Preference, who accounts.Who) (store.Destination, error)
	// ConfirmAddress confirms the claim on a nick whose code this is:
	// several users may wait for confirmation, and the code says whose.
	ConfirmAddress(ctx context.Context, kind, address, code string) error
	// SnoozeFilter snoozes one filter (snooze FILTER WHEN) and says until
	// when, on its user's clock.
	SnoozeFilter(ctx context.Context, f store.Filter, when, then string) (time.Time, error)
}

// commandTimeout bounds one command's store work and reply.
const commandTimeout = 30 * time.Second

// runCommands answers private messages one at a time until the session
// ends, so a flood of commands is paced by the same token bucket as
// notifications.
func (s *session) runCommands() {
	for {
		select {
		case <-s.done:
			return
		case m := <-s.commands:
			// Not tied to the session: a reply may go out after a reconnect.
			ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
			s.b.command(ctx, s, m)
			cancel()
		}
	}
}

// command answers one private message.
func (b *Bot) command(ctx context.Context, s *session, m *irc.Message) {
	nick, text := m.Name, strings.TrimSpace(m.Trailing())
	if strings.HasPrefix(text, "\x01") { // CTCP (VERSION, ACTION…): not a command
		return
	}
	reply, err := b.answer(ctx, s, nick, text)
	if err != nil {
		b.log.Error("irc command failed", "from", nick, "command", firstWord(text), "err", err)
		reply = []string{"Sorry, that failed on hark's side; try again later."}
	}
	if err := b.Say(ctx, nick, reply); err != nil {
		b.log.Warn("irc command reply not sent", "to", nick, "err", err)
	}
}

func firstWord(text string) string {
	w, _, _ := strings.Cut(text, " ")
	return strings.ToLower(w)
}

// answer runs one command and returns the reply; err is hark's own
// failure (the store), not the user's mistake.
func (b *Bot) answer(ctx context.Context, s *session, nick, text string) ([]string, error) {
	words := strings.Fields(text)
	cmd := strings.ToLower(strings.Join(words, " "))
	if cmd == "help" || cmd == "" {
		return b.render.Text("help", nil, nil, b.Width(nick))
	}
	known := []string{"stop", "start", "list filters", "confirm"}
	twoWords := len(words) == 2 && (strings.EqualFold(words[0], "confirm") || strings.EqualFold(words[0], "snooze"))
	snoozeFilter := len(words) >= 3 && strings.EqualFold(words[0], "snooze")
	if !slices.Contains(known, cmd) && !twoWords && !snoozeFilter {
		return []string{fmt.Sprintf("Unknown command %q. Send help for the list.", text)}, nil
	}
	if b.opts.Settings == nil {
		return []string{"Commands are not available on this hark."}, nil
	}
	if b.opts.RequireIdentified {
		ok, err := s.identified(nick)
		if err != nil {
			return nil, err
		}
		if !ok {
			return []string{"Identify to services (NickServ) first: hark takes commands only from identified nicks."}, nil
		}
	}
	d, err := b.opts.Settings.DestinationByAddress(ctx, store.KindIRC, nick)
	if errors.Is(err, store.ErrNotFound) {
		return []string{fmt.Sprintf("The nick %s is not a destination of any hark user; add it on hark's web page first.", nick)}, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case cmd == "stop" || cmd == "start":
		return b.setEnabled(ctx, d, cmd == "start")
	case cmd == "list filters":
		return b.listFilters(ctx, d)
	case snoozeFilter:
		return b.snoozeFilter(ctx, d, words[1:])
	case strings.EqualFold(words[0], "snooze"):
		return b.snooze(ctx, d, strings.ToLower(words[1]))
	case len(words) == 2:
		// Codes are lower case (delivery.NewCode); people may type them
		// otherwise.
		return b.confirm(ctx, d, nick, strings.ToLower(words[1]))
	}
	return []string{"Send confirm followed by the code the bot sent you."}, nil
}

func (b *Bot) setEnabled(ctx context.Context, d store.Destination, enabled bool) ([]string, error) {
	d, err := b.opts.Settings.SetPreferences(ctx, d, []accounts.Preference{{Key: "enabled", Value: strconv.FormatBool(enabled)}}, accounts.Owner)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return []string{"Stopped: hark sends nothing to this nick until you send start."}, nil
	}
	if !d.Confirmed {
		return []string{"Started, but this nick is not confirmed yet: send confirm CODE with the code the bot sent you."}, nil
	}
	return []string{"Started: hark sends notifications to this nick again."}, nil
}

// snooze mutes the nick for a while (2h), until turned off (on), or ends
// the snooze (off); what matches meanwhile comes as the destination's
// snooze_then says.
func (b *Bot) snooze(ctx context.Context, d store.Destination, arg string) ([]string, error) {
	d, err := b.opts.Settings.SetPreferences(ctx, d, []accounts.Preference{{Key: "snooze", Value: arg}}, accounts.Owner)
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
func (b *Bot) snoozeFilter(ctx context.Context, d store.Destination, args []string) ([]string, error) {
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
	fs, err := b.opts.Settings.ListFilters(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	at := slices.IndexFunc(fs, func(f store.Filter) bool { return strings.EqualFold(f.Name, name) })
	if at < 0 {
		return []string{fmt.Sprintf("You have no filter named %q; send list filters to see them.", name)}, nil
	}
	until, err := b.opts.Settings.SnoozeFilter(ctx, fs[at], when, then)
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

func (b *Bot) listFilters(ctx context.Context, d store.Destination) ([]string, error) {
	fs, err := b.opts.Settings.ListFilters(ctx, d.UserID)
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

// confirm confirms the claim on nick whose code this is: d is the nick's
// confirmed destination, or one of its claims.
func (b *Bot) confirm(ctx context.Context, d store.Destination, nick, code string) ([]string, error) {
	if d.Confirmed {
		return []string{"This nick is already confirmed."}, nil
	}
	err := b.opts.Settings.ConfirmAddress(ctx, store.KindIRC, nick, code)
	if errors.Is(err, store.ErrBadCode) {
		return []string{"That code is wrong or has expired; ask for a new one on hark's web page."}, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{"Confirmed: hark will send your notifications to this nick."}, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
