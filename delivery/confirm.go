package delivery

import (
	"context"
	"fmt"
	"strconv"

	"hark/internal/confirmcode"
	"hark/store"
)

// ErrRateLimited is a confirmation asked for too soon after the last one
// to the same address, or too often by one user.
var ErrRateLimited = confirmcode.ErrRateLimited

// SendConfirmation asks the owner of unconfirmed destination dest to
// confirm it at once: a new code, valid for ConfirmFor, is stored and
// sent (see sendConfirmation). Rate-limited per address and per user
// (ErrRateLimited), so hark cannot be made to mail strangers. The web UI
// and the chat bots do not call it: the settings service (accounts)
// issues the code and queues its send in the outbox, which SendQueued
// sends.
func (d *Deliverer) SendConfirmation(ctx context.Context, dest store.Destination) error {
	if dest.Confirmed {
		return fmt.Errorf("send confirmation to %s:%s: already confirmed", dest.Kind, dest.Address)
	}
	if _, ok := d.o.Senders[dest.Kind].(Confirmer); !ok {
		return fmt.Errorf("send confirmation to %s:%s: no sender for %s confirms destinations", dest.Kind, dest.Address, dest.Kind)
	}
	now := d.o.Now()
	if !d.conf.Allow(d.confirmPolicy(), dest, now) {
		return fmt.Errorf("send confirmation to %s:%s: %w", dest.Kind, dest.Address, ErrRateLimited)
	}
	dest.ConfirmCode, dest.ConfirmExpires = NewCode(), now.Add(d.o.ConfirmFor)
	if err := d.o.Store.SetConfirmCode(ctx, dest.ID, dest.ConfirmCode, dest.ConfirmExpires); err != nil {
		return fmt.Errorf("send confirmation: %w", err)
	}
	return d.sendConfirmation(ctx, dest)
}

// confirmPolicy is the Options' confirmation limits.
func (d *Deliverer) confirmPolicy() confirmcode.Policy {
	return confirmcode.Policy{For: d.o.ConfirmFor, Every: d.o.ConfirmEvery, PerDay: d.o.ConfirmPerDay}
}

// sendConfirmation sends dest its code, issued already, with the link
// {base_url}/confirm/{destination id}/{code} (the web UI serves it and
// calls store.ConfirmDestination), or, for a sender whose receiver
// consents by answering (AnswerConfirmer), confirms dest as soon as it
// answers.
func (d *Deliverer) sendConfirmation(ctx context.Context, dest store.Destination) error {
	c, ok := d.o.Senders[dest.Kind].(Confirmer)
	if !ok {
		return fmt.Errorf("send confirmation to %s:%s: no sender for %s confirms destinations", dest.Kind, dest.Address, dest.Kind)
	}
	dir, err := d.dir.get(ctx)
	if err != nil {
		return err
	}
	u := dir.users[dest.UserID]
	err = c.Confirm(ctx, Confirmation{
		User: u.name, Destination: dest, Code: dest.ConfirmCode, Expires: dest.ConfirmExpires, Location: u.loc,
		Link: d.o.BaseURL + "/confirm/" + strconv.FormatInt(dest.ID, 10) + "/" + dest.ConfirmCode,
	})
	if err != nil {
		return fmt.Errorf("send confirmation to %s:%s: %w", dest.Kind, dest.Address, err)
	}
	if ac, ok := c.(AnswerConfirmer); ok && ac.ConfirmsByAnswer() {
		if err := d.o.Store.ConfirmDestination(ctx, dest.ID, dest.ConfirmCode, d.o.Now()); err != nil {
			return fmt.Errorf("confirm %s:%s: %w", dest.Kind, dest.Address, err)
		}
	}
	return nil
}

// NewCode is a fresh confirmation code (see confirmcode.New).
func NewCode() string { return confirmcode.New() }

// SendTest sends dest one test notification at once, outside the queue,
// so its owner can see what hark's messages look like there. Errors come
// back to the caller rather than being retried. The web UI queues its
// test sends in the outbox instead (accounts), which SendQueued sends.
func (d *Deliverer) SendTest(ctx context.Context, dest store.Destination) error {
	s := d.o.Senders[dest.Kind]
	if s == nil {
		return fmt.Errorf("send test notification to %s:%s: no sender for %s", dest.Kind, dest.Address, dest.Kind)
	}
	dir, err := d.dir.get(ctx)
	if err != nil {
		return err
	}
	u := dir.users[dest.UserID]
	now := d.o.Now()
	b := &Batch{User: u.name, Destination: dest, Location: u.loc, Verbose: dest.Verbose, Markup: dest.Markup, Test: true,
		Items: []Item{{
			MsgID: "test-" + NewCode(), Topic: "hark.test", App: "hark",
			Title: "hark.test", Subtitle: "Test notification from hark for " + u.name,
			Link: d.o.BaseURL, Usernames: []string{u.name}, Time: now, Queued: now,
			FilterName: "(test)", FilterLink: d.o.BaseURL + "/filters",
		}}}
	ctx, cancel := context.WithTimeout(ctx, d.o.SendTimeout)
	defer cancel()
	if _, err := s.Send(ctx, b); err != nil {
		return fmt.Errorf("send test notification to %s:%s: %w", dest.Kind, dest.Address, err)
	}
	return nil
}

// Resend queues dead-lettered notifications again (every dead one when ids
// is empty) and says how many: what an owner or admin does once the
// reason they died is fixed.
func (d *Deliverer) Resend(ctx context.Context, ids []int64) (int64, error) {
	return d.o.Store.RequeueDead(ctx, ids, d.o.Now())
}
