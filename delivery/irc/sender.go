package irc

import (
	"context"
	"errors"
	"fmt"

	"hark/delivery"
	"hark/destkind"
)

// Interfaces of the delivery pipeline the bot implements.
var (
	_ delivery.Sender        = (*Bot)(nil)
	_ delivery.DigestLimiter = (*Bot)(nil)
	_ delivery.Confirmer     = (*Bot)(nil)
)

// maxDigest keeps one IRC digest to a screenful: more entries make
// several digests, each numbered, none cut.
const maxDigest = 50

// ErrOffline is a send to a nick that is not on the network now; IRC
// keeps nothing for it, so the pipeline retries later.
var ErrOffline = errors.New("nick is not online")

// ErrNotIdentified is a confirmation to a nick that services do not know
// as identified, when Options.RequireIdentified is set.
var ErrNotIdentified = errors.New("nick is not identified to services")

// Send delivers one notification or digest to the batch's nick as a few
// lines. A render failure is permanent; no connection, a broken one, or a
// nick that is offline (ErrOffline) are retryable.
func (b *Bot) Send(ctx context.Context, batch *delivery.Batch) (retryable bool, err error) {
	if batch.Destination.Kind == destkind.IRCChannel {
		return b.sendChannel(ctx, batch)
	}
	nick := batch.Destination.Address
	lines, err := b.render.Lines(batch, b.Width(nick))
	if err != nil {
		return false, fmt.Errorf("send to irc:%s: %w", nick, err)
	}
	s, err := b.session(ctx)
	if err == nil {
		var on bool
		if on, err = s.online(ctx, nick); err == nil && !on {
			err = ErrOffline
		}
	}
	if err == nil {
		err = b.Say(ctx, nick, lines)
	}
	if err != nil {
		return true, fmt.Errorf("send to irc:%s: %w", nick, err)
	}
	return false, nil
}

// MaxDigest implements delivery.DigestLimiter.
func (b *Bot) MaxDigest() int { return maxDigest }

// Confirm sends c's code to its nick, with RequireIdentified only to a
// nick identified to services. The web UI calls it through
// delivery.Deliverer.SendConfirmation when a user adds an IRC destination;
// that makes the code and rate-limits it per nick and per user.
func (b *Bot) Confirm(ctx context.Context, c delivery.Confirmation) error {
	if c.Destination.Kind == destkind.IRCChannel {
		return b.confirmChannel(ctx, c)
	}
	nick := c.Destination.Address
	s, err := b.session(ctx)
	if err != nil {
		return fmt.Errorf("send confirmation code to irc:%s: %w", nick, err)
	}
	if b.opts.RequireIdentified {
		ok, err := s.identified(nick)
		if err == nil && !ok {
			err = ErrNotIdentified
		}
		if err != nil {
			return fmt.Errorf("send confirmation code to irc:%s: %w", nick, err)
		}
	}
	lines, err := b.render.Text("confirmation", c, c.Location, b.Width(nick))
	if err == nil {
		err = b.Say(ctx, nick, lines)
	}
	if err != nil {
		return fmt.Errorf("send confirmation code to irc:%s: %w", nick, err)
	}
	return nil
}

// sendChannel posts one notification or digest to a channel feed. A
// channel that refuses the bot (ErrChannelRefused) is permanent; no
// connection or a broken one is retryable.
func (b *Bot) sendChannel(ctx context.Context, batch *delivery.Batch) (retryable bool, err error) {
	channel := batch.Destination.Address
	lines, err := b.render.Lines(batch, b.Width(channel))
	if err != nil {
		return false, fmt.Errorf("send to %s: %w", destkind.Spell(destkind.IRCChannel, channel), err)
	}
	if err := b.SayChannel(ctx, channel, lines); err != nil {
		return !errors.Is(err, ErrChannelRefused), fmt.Errorf("send to %s: %w", destkind.Spell(destkind.IRCChannel, channel), err)
	}
	return false, nil
}

// confirmChannel posts c's code in the channel being added as a feed:
// whoever reads the channel, and so may post there, can confirm it on
// the destinations page. A channel that refuses the bot fails here, so
// the page says why before anyone waits for a code.
func (b *Bot) confirmChannel(ctx context.Context, c delivery.Confirmation) error {
	channel := c.Destination.Address
	lines, err := b.render.Text("channel-confirmation", c, c.Location, b.Width(channel))
	if err == nil {
		err = b.SayChannel(ctx, channel, lines)
	}
	if err != nil {
		return fmt.Errorf("send confirmation code to %s: %w", destkind.Spell(destkind.IRCChannel, channel), err)
	}
	return nil
}
