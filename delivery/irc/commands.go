package irc

import (
	"context"
	"strings"

	"gopkg.in/irc.v4"

	"hark/delivery/chatcmd"
)

// Settings is what the bot's commands read and change (chatcmd.Settings):
// the destination of the nick that wrote, and its owner's filters.
type Settings = chatcmd.Settings

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
			ctx, cancel := context.WithTimeout(context.Background(), chatcmd.Timeout)
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
	r := chatcmd.Request{From: nick, Text: text}
	if b.opts.RequireIdentified {
		r.Vouch = func() (string, error) {
			ok, err := s.identified(nick)
			if err != nil || ok {
				return "", err
			}
			return "Identify to services (NickServ) first: hark takes commands only from identified nicks.", nil
		}
	}
	if err := b.Say(ctx, nick, b.cmds.Reply(ctx, r)); err != nil {
		b.log.Warn("irc command reply not sent", "to", nick, "err", err)
	}
}
