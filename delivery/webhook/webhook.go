// Package webhook delivers hark's notifications as HTTP POSTs of one JSON
// document each (a notification or a digest), signed as the Standard
// Webhooks specification says (https://www.standardwebhooks.com/), so a
// receiver can trigger a job from a bus message: a rebuild, a CI run, a
// post. Requests go through hark/internal/outbound: never to a non-public
// address unless the admin allows it, never following a redirect.
//
// A webhook is delivered exactly once across crashes, kill -9 included,
// without the receiver de-duplicating: outbound.Do writes the request
// but its last byte, the batch is handed over (journaled), and only then
// is the last byte written. A kill before the journal record leaves the
// receiver a cut request, which it cannot read whole, and the batch is
// sent again after the restart; a kill after it leaves a journaled
// request, not sent again. Only a kill in the instant between the
// record and the last byte's write (two system calls) loses it, and a
// kill after the write and before a refusal (a 503) is read loses it
// too, as a refused email is lost. A repeat after a live failure (a
// timeout) keeps its webhook-id, derived from the notification ids.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"hark/delivery"
	"hark/internal/hookurl"
	"hark/internal/outbound"
	"hark/store"
)

// Kind is the destination kind this package delivers: webhook:https://….
const Kind = "webhook"

// Payload types, the "type" field of every document.
const (
	TypeNotification = "hark.notification"
	TypeDigest       = "hark.digest"
	TypeTest         = "hark.test"
	TypeConfirmation = "hark.confirmation"
)

// CheckURL reports whether address is a URL a webhook can be sent to:
// absolute, http or https, with a host and no fragment. Whether the host
// is public is decided when it is dialed (see outbound).
func CheckURL(address string) error { return hookurl.Webhook(address) }

// Secret is a destination's signing key. Users see it as whsec_ and its
// base64, the form Standard Webhooks libraries take.
type Secret []byte

// String is the secret as whsec_<base64>.
func (s Secret) String() string { return hookurl.SecretPrefix + base64.StdEncoding.EncodeToString(s) }

// ParseSecret reads a whsec_<base64> secret of 24 to 64 bytes; its
// error does not quote it.
func ParseSecret(s string) (Secret, error) {
	key, err := hookurl.Secret(s)
	if err != nil {
		return nil, fmt.Errorf("webhook secret %w", err)
	}
	return key, nil
}

// DeriveSecret is destination d's secret derived from hark's own key (the
// unsubscribe key): what signs for a destination made before secrets
// were stored (see DestinationSecret), the same after a restart.
// Changing the destination's address gives it a new one.
func DeriveSecret(key []byte, d store.Destination) Secret {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "hark webhook secret\x00%d\x00%s", d.ID, d.Address)
	return m.Sum(nil)
}

// DestinationSecret is d's signing secret: its secret setting (chosen by
// its owner or made when it was created), else the one derived from key.
func DestinationSecret(key []byte, d store.Destination) (Secret, error) {
	if v := d.Settings[SecretSetting]; v != "" {
		return ParseSecret(v)
	}
	return DeriveSecret(key, d), nil
}

// SecretSetting is the key of a webhook destination's secret in its
// settings (destkind's schema): secret=whsec_….
const SecretSetting = "secret"

// Options configure a Sender.
type Options struct {
	// Secret is destination d's signing secret.
	Secret func(d store.Destination) (Secret, error)
	// Timeout bounds one request (default 10s); a timeout is retried.
	Timeout time.Duration
	// AllowPrivate is config's webhook.allow_private: requests may reach
	// loopback, link-local and private addresses.
	AllowPrivate bool
	// MaxDigest bounds the notifications in one document (default 100):
	// a larger digest is split.
	MaxDigest int
	// UserAgent is sent with each request (default "hark").
	UserAgent string
	// Now is the clock of webhook-timestamp; tests replace it.
	Now func() time.Time
}

// Sender posts batches to webhook destinations; it implements
// delivery.Sender, delivery.DigestLimiter and delivery.Confirmer.
type Sender struct {
	o      Options
	client *http.Client
}

// New checks o and fills its defaults.
func New(o Options) (*Sender, error) {
	if o.Secret == nil {
		return nil, errors.New("new webhook sender: no secret")
	}
	if o.MaxDigest <= 0 {
		o.MaxDigest = 100
	}
	if o.UserAgent == "" {
		o.UserAgent = "hark"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	client := outbound.NewClient(outbound.Options{Timeout: o.Timeout, AllowPrivate: o.AllowPrivate})
	return &Sender{o: o, client: client}, nil
}

// MaxDigest implements delivery.DigestLimiter.
func (s *Sender) MaxDigest() int { return s.o.MaxDigest }

// Send implements delivery.Sender: b becomes one signed POST, handed
// over (delivery.Batch.Handed) once the request is written. A 2xx
// answer is success; a timeout, a connection that fails, 408, 429 or a
// 5xx is retryable; any other answer (a 4xx, a redirect, which is not
// followed) and an address that is not public are permanent.
func (s *Sender) Send(ctx context.Context, b *delivery.Batch) (retryable bool, err error) {
	doc := Document(b)
	id := MessageID(b)
	return s.post(ctx, b.Destination, id, doc, b.Handed)
}

// Confirm implements delivery.Confirmer: a first test delivery carrying
// the confirmation link and code. A receiver that answers it 2xx
// confirms the destination (see ConfirmsByAnswer); one that does not
// can still be confirmed by opening the link, or by an admin with
// `hark destination set NAME webhook:URL confirmed=true`.
func (s *Sender) Confirm(ctx context.Context, c delivery.Confirmation) error {
	doc := Envelope{
		Type:      TypeConfirmation,
		Timestamp: s.o.Now().UTC(),
		Data: ConfirmationData{
			User: c.User, Destination: c.Destination.Kind + ":" + c.Destination.Address,
			Code: c.Code, Link: c.Link, Expires: c.Expires.UTC(),
		},
	}
	if _, err := s.post(ctx, c.Destination, randomID(), doc, nil); err != nil {
		return fmt.Errorf("confirm %s: %w", c.Destination.Address, err)
	}
	return nil
}

// ConfirmsByAnswer implements delivery.AnswerConfirmer: a receiver that
// answers the confirmation 2xx has accepted hark's webhooks.
func (s *Sender) ConfirmsByAnswer() bool { return true }

// post signs doc and sends it to d, calling handed (if not nil) once the
// request is written.
func (s *Sender) post(ctx context.Context, d store.Destination, id string, doc Envelope, handed func()) (retryable bool, err error) {
	secret, err := s.o.Secret(d)
	if err != nil {
		return true, fmt.Errorf("post webhook %s: secret: %w", d.Address, err)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return false, fmt.Errorf("post webhook %s: %w", d.Address, err)
	}
	signer, err := standardwebhooks.NewWebhookRaw(secret)
	if err != nil {
		return false, fmt.Errorf("post webhook %s: %w", d.Address, err)
	}
	now := s.o.Now()
	sig, err := signer.Sign(id, now, body)
	if err != nil {
		return false, fmt.Errorf("post webhook %s: sign: %w", d.Address, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Address, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("post webhook %s: %w", d.Address, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := outbound.Do(s.client, req, handed)
	if err != nil {
		if errors.Is(err, outbound.ErrPrivate) {
			return false, fmt.Errorf("post webhook %s: %w", d.Address, err)
		}
		return true, fmt.Errorf("post webhook %s: %w", d.Address, err)
	}
	// Read a little of the answer so the connection can be reused, and
	// quote its start in the error a user sees.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return classify(d.Address, resp.StatusCode, answer)
}

// classify turns a receiver's status into Send's verdict.
func classify(address string, status int, answer []byte) (retryable bool, err error) {
	switch {
	case status >= 200 && status < 300:
		return false, nil
	case status >= 300 && status < 400:
		return false, fmt.Errorf("post webhook %s: answered %d, a redirect, which hark does not follow: set the destination to the final URL", address, status)
	case outbound.Retryable(status):
		return true, fmt.Errorf("post webhook %s: answered %d %s", address, status, excerpt(answer))
	}
	return false, fmt.Errorf("post webhook %s: answered %d %s", address, status, excerpt(answer))
}

func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// MessageID is b's webhook-id: the same for every attempt at the same
// notifications, so a receiver recognizes a repeat; random for a test
// notification, which has no ids.
func MessageID(b *delivery.Batch) string {
	m := sha256.New()
	for _, it := range b.Items {
		if it.NotificationID == 0 {
			return randomID()
		}
		fmt.Fprintf(m, "%d,", it.NotificationID)
	}
	if len(b.Items) == 0 {
		return randomID()
	}
	return "msg_" + hex.EncodeToString(m.Sum(nil)[:16])
}

func randomID() string {
	return "msg_" + rand.Text()
}
