// Package ntfy delivers hark's notifications to an ntfy topic
// (https://ntfy.sh or a self-hosted server), which pushes them to the
// ntfy apps on phones and desktops: push notifications without hark
// shipping an app. It speaks ntfy's documented publish API: a POST to
// the topic's URL whose body is the message, with the title, priority,
// tags and click URL in headers. Requests go through
// hark/internal/outbound (config webhook.allow_private applies).
package ntfy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hark/bus"
	"hark/delivery"
	"hark/internal/hookurl"
	"hark/internal/outbound"
	"hark/store"
)

// Kind is the destination kind this package delivers:
// ntfy:https://ntfy.sh/TOPIC.
const Kind = "ntfy"

// CheckURL reports whether address is an ntfy topic URL: http or https,
// a host, and one path segment, the topic. An access token may ride in
// the user part (https://:tk_…@ntfy.example.org/topic), a user and
// password too (https://user:pass@…).
func CheckURL(address string) error {
	_, _, err := parse(address)
	return err
}

// parse is the URL to publish to and the Authorization header of address.
func parse(address string) (publish, authorization string, err error) { return hookurl.Ntfy(address) }

// TokenSetting is the key of an ntfy destination's access token in its
// settings (destkind's schema): token=tk_….
const TokenSetting = "token"

// Options configure a Sender.
type Options struct {
	// Timeout bounds one request (default 10s); a timeout is retried.
	Timeout time.Duration
	// AllowPrivate lets requests reach loopback and private addresses,
	// for a self-hosted ntfy on the admin's network.
	AllowPrivate bool
	// MaxDigest bounds the notifications in one push (default 20): a
	// phone shows a few lines.
	MaxDigest int
}

// Sender publishes batches to ntfy topics; it implements
// delivery.Sender, delivery.DigestLimiter and delivery.Confirmer.
type Sender struct {
	o      Options
	client *http.Client
}

var (
	_ delivery.Sender        = (*Sender)(nil)
	_ delivery.DigestLimiter = (*Sender)(nil)
	_ delivery.Confirmer     = (*Sender)(nil)
)

// New fills o's defaults.
func New(o Options) *Sender {
	if o.MaxDigest <= 0 {
		o.MaxDigest = 20
	}
	return &Sender{o: o, client: outbound.NewClient(outbound.Options{Timeout: o.Timeout, AllowPrivate: o.AllowPrivate})}
}

// MaxDigest implements delivery.DigestLimiter.
func (s *Sender) MaxDigest() int { return s.o.MaxDigest }

// Send implements delivery.Sender: b becomes one ntfy message, handed
// over (delivery.Batch.Handed) once the request is written. A 2xx is
// success; a timeout, a failed connection, 408, 429 (ntfy's rate limit)
// and 5xx are retried; any other answer, and a non-public address, are
// permanent.
func (s *Sender) Send(ctx context.Context, b *delivery.Batch) (retryable bool, err error) {
	req, err := Request(ctx, b)
	if err != nil {
		return false, err
	}
	return s.do(req, b.Handed)
}

// Confirm implements delivery.Confirmer: a push to the topic with the
// confirmation code, which its reader types into hark's Destinations
// page or gives to `hark destination confirm`, and the link, which a tap
// on the push opens. Whoever reads the topic may add it, as whoever
// reads a mailbox may add the address.
func (s *Sender) Confirm(ctx context.Context, c delivery.Confirmation) error {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	body := fmt.Sprintf("%s added this ntfy topic to hark for notifications. Confirmation code: %s (or open %s) before %s.",
		c.User, c.Code, c.Link, c.Expires.In(loc).Format("2006-01-02 15:04 MST"))
	req, err := newRequest(ctx, c.Destination, "hark: confirm this topic", body)
	if err != nil {
		return fmt.Errorf("confirm %s: %w", c.Destination.Address, err)
	}
	req.Header.Set("Tags", "key")
	req.Header.Set("Click", c.Link)
	if _, err := s.do(req, nil); err != nil {
		return fmt.Errorf("confirm %s: %w", c.Destination.Address, err)
	}
	return nil
}

// do sends req, calling handed (if not nil) as outbound.Do does, and
// judges the answer.
func (s *Sender) do(req *http.Request, handed func()) (retryable bool, err error) {
	resp, err := outbound.Do(s.client, req, handed)
	if err != nil {
		return !errors.Is(err, outbound.ErrPrivate), fmt.Errorf("publish to ntfy %s: %w", req.URL, err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	return outbound.Retryable(resp.StatusCode), fmt.Errorf("publish to ntfy %s: answered %d %q", req.URL, resp.StatusCode, strings.TrimSpace(string(answer)))
}

// Request is b as ntfy's publish API takes it: POST to the topic URL,
// the message as the body, Title, Priority (1-5, from the messages'
// severity), Tags (the apps, and an emoji for warnings and errors),
// Click (the message's link, or the user's history page for a digest)
// and Authorization when the destination has a token setting or its
// URL carries a token.
func Request(ctx context.Context, b *delivery.Batch) (*http.Request, error) {
	title, body, click := text(b)
	req, err := newRequest(ctx, b.Destination, title, body)
	if err != nil {
		return nil, err
	}
	severity := 0
	for _, it := range b.Items {
		severity = max(severity, it.Severity)
	}
	req.Header.Set("Priority", strconv.Itoa(Priority(severity)))
	if tags := Tags(b, severity); len(tags) > 0 {
		req.Header.Set("Tags", strings.Join(tags, ","))
	}
	if click != "" {
		req.Header.Set("Click", click)
	}
	return req, nil
}

// newRequest is a publish of body titled title to d's topic, with d's
// access token.
func newRequest(ctx context.Context, d store.Destination, title, body string) (*http.Request, error) {
	publish, auth, err := parse(d.Address)
	if err != nil {
		return nil, fmt.Errorf("publish to ntfy: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, publish, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("publish to ntfy: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	// Headers are ASCII: ntfy decodes a non-ASCII title sent as an
	// RFC 2047 encoded word.
	req.Header.Set("Title", mime.BEncoding.Encode("utf-8", title))
	if token := d.Settings[TokenSetting]; token != "" {
		auth = "Bearer " + token // the setting wins over the URL's user part
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req, nil
}

// Priority maps a fedora-messaging severity to ntfy's 1 (min) to 5
// (max): debug is low, info the default, a warning high, an error max.
func Priority(severity int) int {
	switch {
	case severity >= bus.SeverityError:
		return 5
	case severity >= bus.SeverityWarning:
		return 4
	case severity > 0 && severity <= bus.SeverityDebug:
		return 2
	}
	return 3
}

// Tags are b's apps, preceded by the emoji short code ntfy shows for a
// warning or an error.
func Tags(b *delivery.Batch, severity int) []string {
	var tags []string
	switch {
	case severity >= bus.SeverityError:
		tags = append(tags, "rotating_light")
	case severity >= bus.SeverityWarning:
		tags = append(tags, "warning")
	}
	for _, app := range b.Apps() {
		// A tag is one comma-separated field.
		if app = strings.ReplaceAll(app, ",", " "); app != "" {
			tags = append(tags, app)
		}
	}
	return tags
}

// text is the push's title, body and click URL.
func text(b *delivery.Batch) (title, body, click string) {
	if len(b.Items) == 1 && b.Digest == delivery.NotDigest {
		it := b.Items[0]
		title = oneLine(it.Title)
		body = it.Subtitle
		if it.Body != "" {
			body = strings.TrimSpace(body + "\n\n" + it.Body)
		}
		if body == "" {
			body = it.Topic
		}
		click = it.Link
		if click == "" {
			click = it.HistoryLink
		}
		if b.Test {
			title = "hark test: " + title
		}
		return title, truncate(body, 4000), click
	}
	title = fmt.Sprintf("%d notifications", len(b.Items))
	if b.Parts > 1 {
		title += fmt.Sprintf(" (part %d of %d)", b.Part, b.Parts)
	}
	lines := make([]string, len(b.Items))
	for i, it := range b.Items {
		lines[i] = "• " + oneLine(it.Title)
		if click == "" {
			click = it.HistoryLink
		}
	}
	return title, truncate(strings.Join(lines, "\n"), 4000), click
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate keeps s under ntfy's message size (4096 bytes by default,
// beyond which the server makes the message an attachment).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
