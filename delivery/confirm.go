package delivery

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"hark/store"
)

// ErrRateLimited is a confirmation asked for too soon after the last one
// to the same address, or too often by one user.
var ErrRateLimited = errors.New("too many confirmation requests; try again later")

// confirmLimits are token buckets per user and per address. They live in
// memory; the per-address one is also kept in the store, through the code's
// expiry, so a restart does not reopen it.
type confirmLimits struct {
	mu    sync.Mutex
	users map[int64]*rate.Limiter
	addrs map[string]*rate.Limiter
}

func (c *confirmLimits) allow(o *Options, d store.Destination, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users, c.addrs = map[int64]*rate.Limiter{}, map[string]*rate.Limiter{}
	}
	u := c.users[d.UserID]
	if u == nil {
		u = rate.NewLimiter(rate.Every(24*time.Hour/time.Duration(o.ConfirmPerDay)), o.ConfirmPerDay)
		c.users[d.UserID] = u
	}
	// Per user and address: several users may claim one address (the
	// first is not necessarily its owner), and one claimant's mails
	// must not hold back another's.
	key := strconv.FormatInt(d.UserID, 10) + " " + d.Kind + ":" + d.Address
	a := c.addrs[key]
	if a == nil {
		a = rate.NewLimiter(rate.Every(o.ConfirmEvery), 1)
		c.addrs[key] = a
	}
	// Reserve from both or neither: a refused address must not use up
	// the user's allowance.
	ra, ru := a.ReserveN(now, 1), u.ReserveN(now, 1)
	if ra.DelayFrom(now) > 0 || ru.DelayFrom(now) > 0 {
		ra.CancelAt(now)
		ru.CancelAt(now)
		return false
	}
	return true
}

// SendConfirmation asks the owner of unconfirmed destination dest to
// confirm it: a new code, valid for ConfirmFor, is stored and sent with
// the link {base_url}/confirm/{destination id}/{code} (the web UI serves
// it and calls store.ConfirmDestination), or, for a sender whose
// receiver consents by answering (AnswerConfirmer), confirmed as soon as
// it answers. Rate-limited per address and per
// user (ErrRateLimited), so hark cannot be made to mail strangers.
func (d *Deliverer) SendConfirmation(ctx context.Context, dest store.Destination) error {
	if dest.Confirmed {
		return fmt.Errorf("send confirmation to %s:%s: already confirmed", dest.Kind, dest.Address)
	}
	c, ok := d.o.Senders[dest.Kind].(Confirmer)
	if !ok {
		return fmt.Errorf("send confirmation to %s:%s: no sender for %s confirms destinations", dest.Kind, dest.Address, dest.Kind)
	}
	now := d.o.Now()
	recent := dest.ConfirmCode != "" && now.Before(dest.ConfirmExpires.Add(-d.o.ConfirmFor).Add(d.o.ConfirmEvery))
	if recent || !d.conf.allow(&d.o, dest, now) {
		return fmt.Errorf("send confirmation to %s:%s: %w", dest.Kind, dest.Address, ErrRateLimited)
	}
	dir, err := d.dir.get(ctx)
	if err != nil {
		return err
	}
	code := NewCode()
	expires := now.Add(d.o.ConfirmFor)
	if err := d.o.Store.SetConfirmCode(ctx, dest.ID, code, expires); err != nil {
		return fmt.Errorf("send confirmation: %w", err)
	}
	u := dir.users[dest.UserID]
	err = c.Confirm(ctx, Confirmation{
		User: u.name, Destination: dest, Code: code, Expires: expires, Location: u.loc,
		Link: d.o.BaseURL + "/confirm/" + strconv.FormatInt(dest.ID, 10) + "/" + code,
	})
	if err != nil {
		return fmt.Errorf("send confirmation to %s:%s: %w", dest.Kind, dest.Address, err)
	}
	if ac, ok := c.(AnswerConfirmer); ok && ac.ConfirmsByAnswer() {
		if err := d.o.Store.ConfirmDestination(ctx, dest.ID, code, d.o.Now()); err != nil {
			return fmt.Errorf("confirm %s:%s: %w", dest.Kind, dest.Address, err)
		}
	}
	return nil
}

// codeAlphabet has no look-alike characters (0/o, 1/l/i), since people
// type the code into IRC.
const codeAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewCode is a fresh confirmation code: 10 characters from a 31-letter
// alphabet, about 50 bits from crypto/rand.
func NewCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// SendTest sends dest one test notification at once, outside the queue,
// so its owner can see what hark's messages look like there. Errors come
// back to the caller (the web UI shows them) rather than being retried.
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
