package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrBadToken is an unsubscribe token that was not made by this hark (or
// was mangled on the way).
var ErrBadToken = errors.New("invalid unsubscribe token")

// tokenMAC is how many bytes of HMAC-SHA256 a token carries: 128 bits
// cannot be guessed, and keep the URL short.
const tokenMAC = 16

// UnsubscribeToken is the token of the one-click unsubscribe URL for
// filter filterID of user userID, created at created: the ids, the
// creation time (in milliseconds, as stored) and an HMAC over them with
// the deliverer's key. It needs no table, never expires, and cannot be
// forged or pointed at another user's filter without the key. The
// creation time binds it to this filter: ids are given again after a
// deletion, and a link to a deleted filter must not turn off its
// successor.
func (d *Deliverer) UnsubscribeToken(userID, filterID int64, created time.Time) string {
	return Tokens(d.o.Key).UnsubscribeToken(userID, filterID, created)
}

// ParseUnsubscribeToken checks token and returns the user and filter it
// names, and when that filter was created.
func (d *Deliverer) ParseUnsubscribeToken(token string) (userID, filterID int64, created time.Time, err error) {
	return Tokens(d.o.Key).ParseUnsubscribeToken(token)
}

// Tokens makes and checks unsubscribe tokens with a key (see LoadKey),
// without a Deliverer: the web role checks the links delivery made.
type Tokens []byte

// UnsubscribeToken is Deliverer.UnsubscribeToken with key t.
func (t Tokens) UnsubscribeToken(userID, filterID int64, created time.Time) string {
	msg := binary.AppendUvarint(nil, uint64(userID))
	msg = binary.AppendUvarint(msg, uint64(filterID))
	msg = binary.AppendUvarint(msg, uint64(created.UnixMilli()))
	return base64.RawURLEncoding.EncodeToString(append(msg, t.mac(msg)...))
}

func (t Tokens) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, t)
	h.Write([]byte("hark unsubscribe v2\x00"))
	h.Write(msg)
	return h.Sum(nil)[:tokenMAC]
}

// ParseUnsubscribeToken is Deliverer.ParseUnsubscribeToken with key t.
func (t Tokens) ParseUnsubscribeToken(token string) (userID, filterID int64, created time.Time, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= tokenMAC {
		return 0, 0, time.Time{}, ErrBadToken
	}
	msg, sum := raw[:len(raw)-tokenMAC], raw[len(raw)-tokenMAC:]
	if !hmac.Equal(sum, t.mac(msg)) {
		return 0, 0, time.Time{}, ErrBadToken
	}
	var fields [3]uint64
	for i := range fields {
		v, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, 0, time.Time{}, ErrBadToken
		}
		fields[i], msg = v, msg[n:]
	}
	if len(msg) != 0 {
		return 0, 0, time.Time{}, ErrBadToken
	}
	return int64(fields[0]), int64(fields[1]), time.UnixMilli(int64(fields[2])), nil
}

// Unsubscribe applies a one-click unsubscribe (RFC 8058): it turns off
// the filter token names and returns its id. The web UI serves
// {base_url}/unsubscribe/{token} and calls this for the POST.
func (d *Deliverer) Unsubscribe(ctx context.Context, token string) (filterID int64, err error) {
	userID, filterID, created, err := d.ParseUnsubscribeToken(token)
	if err != nil {
		return 0, fmt.Errorf("unsubscribe: %w", err)
	}
	if err := d.o.Store.SetFilterActive(ctx, userID, filterID, created, false); err != nil {
		return 0, fmt.Errorf("unsubscribe: %w", err)
	}
	return filterID, nil
}

// LoadKey reads the unsubscribe key at path, creating it (32 random bytes,
// mode 0600) when it does not exist: serve keeps it beside the database.
func LoadKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 16 {
			return nil, fmt.Errorf("load key %s: %d bytes, want at least 16", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	_, err = f.Write(key)
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	return key, nil
}
