package irc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hark/delivery"
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

// confirmEvery is how often one nick may be sent a confirmation code, so
// hark cannot be used to pester someone on IRC.
const confirmEvery = time.Minute

// ErrTooSoon is a confirmation asked for again before confirmEvery passed.
var ErrTooSoon = errors.New("a code was sent to this nick less than a minute ago")

// ErrNotIdentified is a confirmation to a nick that services do not know
// as identified, when Options.RequireIdentified is set.
var ErrNotIdentified = errors.New("nick is not identified to services")

// Send delivers one notification or digest to the batch's nick as a few
// lines. A render failure is permanent; a send failure (no connection,
// a broken one) is retryable.
func (b *Bot) Send(ctx context.Context, batch *delivery.Batch) (retryable bool, err error) {
	nick := batch.Destination.Address
	lines, err := b.render.Lines(batch, b.Width(nick))
	if err != nil {
		return false, fmt.Errorf("send to irc:%s: %w", nick, err)
	}
	if err := b.Say(ctx, nick, lines); err != nil {
		return true, fmt.Errorf("send to irc:%s: %w", nick, err)
	}
	return false, nil
}

// MaxDigest implements delivery.DigestLimiter.
func (b *Bot) MaxDigest() int { return maxDigest }

// Confirm sends c's code to its nick, at most once per confirmEvery per
// nick and, with RequireIdentified, only to a nick identified to
// services. The web UI calls it (through the delivery pipeline) when a
// user adds an IRC destination.
func (b *Bot) Confirm(ctx context.Context, c delivery.Confirmation) error {
	nick := c.Destination.Address
	if err := b.confirmAllowed(nick, time.Now()); err != nil {
		return fmt.Errorf("send confirmation code to irc:%s: %w", nick, err)
	}
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

// confirmAllowed records a confirmation to nick at now unless one went
// out less than confirmEvery ago.
func (b *Bot) confirmAllowed(nick string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if last, ok := b.confirmed[nick]; ok && now.Sub(last) < confirmEvery {
		return ErrTooSoon
	}
	for n, t := range b.confirmed { // forget old entries so the map stays small
		if now.Sub(t) >= confirmEvery {
			delete(b.confirmed, n)
		}
	}
	b.confirmed[nick] = now
	return nil
}
