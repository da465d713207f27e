// Package confirmcode issues destination confirmation codes and keeps
// hark from being used to message strangers with them: a code is rate
// limited per address and per user. The settings service (accounts)
// issues codes where people ask for them; delivery issues them when it
// is asked to send one at once.
package confirmcode

import (
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"hark/store"
)

// ErrRateLimited is a confirmation asked for too soon after the last one
// to the same address, or too often by one user.
var ErrRateLimited = errors.New("too many confirmation requests; try again later")

// alphabet has no look-alike characters (0/o, 1/l/i), since people type
// the code into IRC.
const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// New is a fresh confirmation code: 10 characters from a 31-letter
// alphabet, about 50 bits from crypto/rand.
func New() string {
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Policy is how long a code is good and how often one may be asked for.
type Policy struct {
	// For is how long a code stays valid; Every the least time between
	// two codes to one address; PerDay how many one user may ask for in
	// a day.
	For    time.Duration
	Every  time.Duration
	PerDay int
}

// Limits are token buckets per user and per address. They live in
// memory; the per-address one is also kept in the store, through the
// code's expiry, so a restart does not reopen it.
type Limits struct {
	mu    sync.Mutex
	users map[int64]*rate.Limiter
	addrs map[string]*rate.Limiter
}

// Allow says whether d may get a new code at now, and if so counts it.
func (c *Limits) Allow(p Policy, d store.Destination, now time.Time) bool {
	if d.ConfirmCode != "" && now.Before(d.ConfirmExpires.Add(-p.For).Add(p.Every)) {
		return false // the last code went out less than Every ago
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users, c.addrs = map[int64]*rate.Limiter{}, map[string]*rate.Limiter{}
	}
	u := c.users[d.UserID]
	if u == nil {
		u = rate.NewLimiter(rate.Every(24*time.Hour/time.Duration(p.PerDay)), p.PerDay)
		c.users[d.UserID] = u
	}
	// Per user and address: several users may claim one address (the
	// first is not necessarily its owner), and one claimant's mails
	// must not hold back another's.
	key := strconv.FormatInt(d.UserID, 10) + " " + d.Kind + ":" + d.Address
	a := c.addrs[key]
	if a == nil {
		a = rate.NewLimiter(rate.Every(p.Every), 1)
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
