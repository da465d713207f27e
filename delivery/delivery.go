// Package delivery is the queue's way out: it reads the durable
// notification queue per destination, holds notifications back for
// digests, renders what a sender needs, sends, retries with backoff and
// records every outcome. It is a pipeline of small stages composed in one
// place (batch → render → flood control → retry → send → record), with one
// worker per destination kind so that an IRC outage never holds up email.
// The kinds' senders (delivery/email, delivery/irc) implement Sender; this
// package decides nothing about who matches what.
//
// Delivery is exactly once across crashes, kill -9 included, short of
// two instants: a notification marked sent is never sent again, pending
// digests are just queued rows, so they survive restarts, and what a
// medium has but the store does not yet know as sent is in the sent
// journal (see journal), which a restart replays before it sends
// anything. So marks can be grouped (markEvery sends per commit): the
// group no longer bounds what a crash repeats. A kill in the instant
// between an email's end of data and its journal record sends it again,
// with the same Message-ID, so a repeat is recognizable; a kill while a
// server that has the whole message is deciding to refuse it loses it.
// Flood-control counts and the bounce count live in memory and start
// afresh after a restart. Several processes deliver from one store by
// leasing partitions of the destinations (see partitions.go), so each
// destination is one process's at a time.
package delivery

import (
	"context"
	"encoding/json"
	"time"

	"hark/store"
)

// Sender puts one Batch on the wire: one email, or a few IRC lines.
// retryable says whether trying again later can help: a refused
// connection or a 4xx SMTP reply can, a malformed address or a 5xx reply
// cannot. A Sender is called by one worker goroutine at a time for its
// kind, but must be safe for concurrent use, since the test notification
// and the web UI call it too.
type Sender interface {
	Send(ctx context.Context, b *Batch) (retryable bool, err error)
}

// Senders registers one Sender per destination kind (store.KindEmail,
// store.KindIRC). A kind with no Sender is not delivered: its
// notifications wait in the queue.
type Senders map[string]Sender

// DigestLimiter is implemented by a Sender whose medium bounds a digest
// (an email grows large, an IRC digest must stay a few lines). A digest
// with more items is split into several batches, never cut.
type DigestLimiter interface {
	MaxDigest() int
}

// Confirmer is implemented by a Sender that can ask an address's owner to
// confirm it: an email with a link, or an IRC message with the code.
type Confirmer interface {
	Confirm(ctx context.Context, c Confirmation) error
}

// AnswerConfirmer is implemented by a Confirmer whose receiver consents
// by answering: a webhook receiver that answers the confirmation request
// 2xx has accepted hark's notifications, as no link needs opening, so
// SendConfirmation confirms the destination as soon as Confirm succeeds.
type AnswerConfirmer interface {
	ConfirmsByAnswer() bool
}

// Confirmation is what a Confirmer sends.
type Confirmation struct {
	User        string
	Destination store.Destination
	Code        string
	// Link is {web.base_url}/confirm/{destination id}/{code}, where the
	// web UI confirms the destination.
	Link    string
	Expires time.Time
	// Location is the user's time zone, for showing Expires.
	Location *time.Location
}

// DigestReason says why a batch is a digest rather than one message.
type DigestReason string

// Digest reasons.
const (
	// NotDigest is a single notification sent at once.
	NotDigest DigestReason = ""
	// DigestBatched is the destination's batch_count / batch_delta.
	DigestBatched DigestReason = "batched"
	// DigestFlood is flood control: the destination got more than the
	// configured rate, so it gets digests until the storm is over.
	DigestFlood DigestReason = "flood"
)

// Batch is one thing a Sender sends: a single notification, or a digest
// of several for one destination. Everything a template needs is here, so
// senders never read the store.
type Batch struct {
	User        string // the user's name
	Destination store.Destination
	// Location is the user's time zone; times shown to the user are in it.
	Location *time.Location
	// Verbose and Markup are the destination's preferences: full entries
	// in digests, IRC colours.
	Verbose bool
	Markup  bool
	Digest  DigestReason
	// FloodUntil is when flood control expects to return to single
	// messages; zero unless Digest is DigestFlood.
	FloodUntil time.Time
	// Part and Parts number a digest that was split because it held more
	// than the sender's MaxDigest items: part Part of Parts, from 1.
	Part, Parts int
	// Test marks the test notification a user asked for from the web UI.
	Test  bool
	Items []Item

	handed func() // set by the send stage: see Handed
}

// Handed is how a Sender tells delivery the moment its medium has the
// batch, before it waits for an acknowledgement: the email sender calls
// it once the end of the message's data is written, before the server's
// reply. Delivery then journals the batch as sent (see journal), so a
// crash from here on does not send it again. A Sender that never calls it
// has handed the batch over when Send returns without error; calling it
// more than once, or outside Send, does nothing more. It must be called,
// if at all, from the goroutine running Send.
func (b *Batch) Handed() {
	if h := b.handed; h != nil {
		b.handed = nil
		h()
	}
}

// Item is one notification with everything known about its message.
type Item struct {
	NotificationID int64 // 0 in a test notification
	MsgID          string
	Topic          string
	App            string // the category: bodhi, koji, ...
	Title          string
	Subtitle       string
	// Body is the message's long text (a fedora-messaging schema's
	// __str__), "" when its processor writes none; emails show it under
	// the subtitle, as FMN does.
	Body      string
	Link      string
	Icon      string
	Agent     string
	Usernames []string
	Packages  []string
	// Severity is the message's fedora-messaging level (bus.SeverityInfo
	// and the others); a ZeroMQ message is info.
	Severity int
	// Time is the event's own time (the envelope's timestamp), shown even
	// when delivery is late; Queued is when hark queued it.
	Time   time.Time
	Queued time.Time
	// FilterID and FilterName name the filter that triggered the
	// notification; FilterLink is its page in the web UI.
	FilterID   int64
	FilterName string
	FilterLink string
	// HistoryLink is the notification on the user's history page in the
	// web UI, where senders that cut a long notification send the reader.
	HistoryLink string
	// Unsubscribe is the one-click URL that turns the filter off
	// (List-Unsubscribe); see UnsubscribeToken.
	Unsubscribe string
	// NotLikeThis is the web UI's page that stops messages like this one
	// (its topic, app or a package) in the filter that sent it, after
	// showing how many of the last week's it would have stopped.
	NotLikeThis string
	// Why is the filter's rule verdicts as the store keeps them.
	Why json.RawMessage
	// Thread names the object the message is about (one bodhi update, one
	// koji build): its page when the processor gives one, else the app
	// and its first object. Emails about one object thread together on it;
	// "" leaves the notification unthreaded.
	Thread string

	attempts int // tries so far, this one included: the retry stage's input
}

// Topics is the batch's distinct topics in first-seen order: a digest
// carries one header per value so mail filters see all of them.
func (b *Batch) Topics() []string {
	return b.distinct(func(it *Item) []string { return []string{it.Topic} })
}

// Apps is the batch's distinct apps (categories) in first-seen order.
func (b *Batch) Apps() []string {
	return b.distinct(func(it *Item) []string { return []string{it.App} })
}

// Usernames is the batch's distinct usernames in first-seen order.
func (b *Batch) Usernames() []string {
	return b.distinct(func(it *Item) []string { return it.Usernames })
}

// Packages is the batch's distinct packages in first-seen order.
func (b *Batch) Packages() []string {
	return b.distinct(func(it *Item) []string { return it.Packages })
}

// MsgIDs is the batch's message ids, one per item.
func (b *Batch) MsgIDs() []string {
	return b.distinct(func(it *Item) []string { return []string{it.MsgID} })
}

func (b *Batch) distinct(values func(*Item) []string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range b.Items {
		for _, v := range values(&b.Items[i]) {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// LocalTime is t in the batch's user's time zone.
func (b *Batch) LocalTime(t time.Time) time.Time {
	if b.Location == nil {
		return t.UTC()
	}
	return t.In(b.Location)
}
