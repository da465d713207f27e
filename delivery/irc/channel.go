package irc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"gopkg.in/irc.v4"
)

// A channel feed (destkind.IRCChannel) is posted with PRIVMSG, as
// notifications to nicks are: unlike NOTICE, a PRIVMSG the channel
// refuses is answered (ERR_CANNOTSENDTOCHAN), so the bot can tell its
// owner the channel does not take it instead of talking into the void.
// The bot joins a channel when it first posts there on a connection and
// stays; after a reconnect it joins again at the next post.

// ErrChannelRefused is a channel that will not have the bot or its
// lines: a ban, an invite-only or full channel, a key, a moderated
// channel (+m) the bot has no voice in. It stays so until someone in the
// channel changes it, so delivery treats it as permanent.
var ErrChannelRefused = errors.New("the channel does not take the bot's messages")

// joinRefusals are the replies to a JOIN that say no, in words for the
// destinations page.
var joinRefusals = map[string]string{
	irc.ERR_NOSUCHCHANNEL:   "no such channel",
	irc.ERR_TOOMANYCHANNELS: "the bot is in too many channels",
	irc.ERR_CHANNELISFULL:   "the channel is full (+l)",
	irc.ERR_INVITEONLYCHAN:  "the channel is invite-only (+i): invite the bot first",
	irc.ERR_BANNEDFROMCHAN:  "the bot is banned from the channel (+b)",
	irc.ERR_BADCHANNELKEY:   "the channel needs a key (+k)",
	irc.ERR_BADCHANMASK:     "not a valid channel name",
	"477":                   "the channel only admits registered nicks", // ERR_NEEDREGGEDNICK
}

// cannotSend is what ERR_CANNOTSENDTOCHAN means for the bot, which is in
// the channel when it posts.
const cannotSend = "the channel does not let the bot speak (moderated, +m): give the bot voice (+v) or lift +m"

// joinState is one JOIN the session sent: done closes when the server
// answered, with err nil when the bot is in the channel.
type joinState struct {
	done chan struct{}
	err  error
}

// probe is a PING sent after lines to a channel: everything the server
// says about those lines comes before its PONG.
type probe struct {
	channel string
	done    chan struct{}
	refused string // the server's ERR_CANNOTSENDTOCHAN text, if any
}

// probes numbers the probes' PING tokens.
var probes atomic.Uint64

// isChannel says whether name is a channel's rather than a nick's.
func isChannel(name string) bool { return strings.HasPrefix(name, "#") || strings.HasPrefix(name, "&") }

// channelKey is a channel's name compared as IRC compares them.
func channelKey(ch string) string { return strings.ToLower(ch) }

// join makes sure the bot is in channel on this connection, joining it
// if not, and says why the channel refused.
func (s *session) join(ctx context.Context, channel string) error {
	s.mu.Lock()
	j := s.joins[channelKey(channel)]
	if j == nil || j.err != nil {
		j = &joinState{done: make(chan struct{})}
		s.joins[channelKey(channel)] = j
		s.mu.Unlock()
		err := s.b.limiter.Wait(ctx)
		if err == nil {
			err = s.write("JOIN " + channel)
		}
		if err != nil {
			// No JOIN went out: the next post to the channel tries again
			// instead of waiting for an answer that never comes.
			s.joined(channel, fmt.Errorf("join %s: %w", channel, err))
			return err
		}
	} else {
		s.mu.Unlock()
	}
	select {
	case <-j.done:
		return j.err
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// joined settles the JOIN of channel: err nil when the server echoed it,
// else its refusal.
func (s *session) joined(channel string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.joins[channelKey(channel)]
	if j == nil {
		j = &joinState{done: make(chan struct{})}
		s.joins[channelKey(channel)] = j
	}
	select {
	case <-j.done: // a second answer (a JOIN of the configured channels)
		j.err = err
	default:
		j.err = err
		close(j.done)
	}
}

// left forgets channel after the bot was kicked or parted: the next
// post joins again.
func (s *session) left(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.joins, channelKey(channel))
}

// channelReply handles the server's messages about channels; it reports
// whether m was one.
func (s *session) channelReply(m *irc.Message) bool {
	ours := m.Prefix != nil && strings.EqualFold(m.Name, s.nick())
	switch {
	case m.Command == "JOIN" && ours:
		s.joined(m.Param(0), nil)
	case (m.Command == "PART" && ours) || (m.Command == "KICK" && strings.EqualFold(m.Param(1), s.nick())):
		s.left(m.Param(0))
		if m.Command == "KICK" {
			s.b.log.Warn("irc bot kicked from channel", "channel", m.Param(0), "by", m.Name, "reason", m.Trailing())
		}
	case joinRefusals[m.Command] != "" && isChannel(m.Param(1)):
		s.joined(m.Param(1), fmt.Errorf("join %s: %w: %s (the server said %q)", m.Param(1), ErrChannelRefused, joinRefusals[m.Command], m.Trailing()))
	case m.Command == irc.ERR_CANNOTSENDTOCHAN:
		s.mu.Lock()
		for _, p := range s.probes {
			if channelKey(p.channel) == channelKey(m.Param(1)) {
				p.refused = m.Trailing()
			}
		}
		s.mu.Unlock()
	case m.Command == "PONG":
		s.mu.Lock()
		if p := s.probes[m.Trailing()]; p != nil {
			delete(s.probes, m.Trailing())
			close(p.done)
		}
		s.mu.Unlock()
	default:
		return false
	}
	return true
}

// startProbe registers a probe of channel before its lines go out.
func (s *session) startProbe(channel string) (token string, p *probe) {
	token = "hark-" + strconv.FormatUint(probes.Add(1), 10)
	p = &probe{channel: channel, done: make(chan struct{})}
	s.mu.Lock()
	s.probes[token] = p
	s.mu.Unlock()
	return token, p
}

// dropProbe forgets the probe of token.
func (s *session) dropProbe(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.probes, token)
}

// endProbe pings the server and waits for the answer: a channel that
// refused the lines sent since startProbe has said so by then.
func (s *session) endProbe(ctx context.Context, token string, p *probe) error {
	if err := s.write("PING :" + token); err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	refused := p.refused
	s.mu.Unlock()
	if refused != "" {
		return fmt.Errorf("%w: %s (the server said %q)", ErrChannelRefused, cannotSend, refused)
	}
	return nil
}

// SayChannel posts lines to channel, joining it first, paced by the
// token bucket, and then checks the channel took them. An error wrapping
// ErrChannelRefused is the channel's answer and permanent; others (no
// connection, a broken one) are worth retrying.
func (b *Bot) SayChannel(ctx context.Context, channel string, lines []string) error {
	s, err := b.session(ctx)
	if err != nil {
		return fmt.Errorf("post to %s: %w", channel, err)
	}
	if err := s.join(ctx, channel); err != nil {
		return fmt.Errorf("post to %s: %w", channel, err)
	}
	token, p := s.startProbe(channel)
	defer s.dropProbe(token) // also when a line cannot be written
	for _, line := range lines {
		for _, part := range split(line, budget(s.prefix(), channel)) {
			if err := b.limiter.Wait(ctx); err != nil {
				return fmt.Errorf("post to %s: %w", channel, err)
			}
			if err := s.write("PRIVMSG " + channel + " :" + part); err != nil {
				return fmt.Errorf("post to %s: %w", channel, err)
			}
		}
	}
	if err := s.endProbe(ctx, token, p); err != nil {
		return fmt.Errorf("post to %s: %w", channel, err)
	}
	return nil
}
