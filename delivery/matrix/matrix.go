// Package matrix delivers notifications to Matrix users as direct
// messages from a bot account on the Client-Server API: an m.notice with
// a plain body and an HTML formatted_body, in a direct chat the bot
// creates once per user and reuses. It is a delivery.Sender like email
// and IRC; delivery's journal and retries make its sends exactly once.
// Listen answers the commands (chatcmd) people send it in direct chats.
package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"hark/delivery"
	"hark/delivery/chatcmd"
	"hark/destkind"
)

// Interfaces of the delivery pipeline the bot implements.
var (
	_ delivery.Sender        = (*Bot)(nil)
	_ delivery.DigestLimiter = (*Bot)(nil)
	_ delivery.Confirmer     = (*Bot)(nil)
)

// maxDigest keeps one digest message readable; more entries make several
// numbered digests.
const maxDigest = 100

// maxRateWait is the longest a send waits itself for a homeserver that
// answered 429; a longer retry_after_ms is left to delivery's backoff.
const maxRateWait = 30 * time.Second

// Options configure the bot (config matrix.*).
type Options struct {
	// Homeserver is the bot's homeserver base URL.
	Homeserver  string
	UserID      string
	AccessToken string
	DeviceID    string
	// RateLimit and Burst pace the bot's messages: RateLimit a second on
	// average, Burst at once. Homeservers limit a user's messages
	// (Synapse's rc_message, Dendrite's rate_limiting) and answer 429
	// beyond; pacing below that keeps one busy hour from turning into
	// waits and retries. RateLimit 0 leaves pacing to the homeserver's
	// 429 answers alone.
	RateLimit float64
	Burst     int
	Log       *slog.Logger
	// Settings answers the commands people send the bot (Listen); nil
	// answers that commands are not available.
	Settings chatcmd.Settings
	// HTTPClient talks to the homeserver; nil is a client with a 30s
	// timeout.
	HTTPClient *http.Client
}

// Bot is hark's Matrix account.
type Bot struct {
	cli *mautrix.Client
	log *slog.Logger
	// pace is the token bucket every message waits on (Options.RateLimit).
	pace *rate.Limiter
	// cmds answers the commands people send the bot (Listen).
	cmds *chatcmd.Commands

	mu sync.Mutex
	// direct is the bot's m.direct account data, user → rooms, newest
	// last: the direct chats it made, kept by the homeserver with the
	// account so they survive restarts of hark.
	direct map[id.UserID][]id.RoomID
	// lookedBack are the rooms whose recent events this process has
	// searched for a send a crash interrupted (see sentBefore).
	lookedBack map[id.RoomID]bool
}

// New makes the bot; it talks to the homeserver only when sending, and
// when Listen reads commands.
func New(o Options) (*Bot, error) {
	cli, err := mautrix.NewClient(o.Homeserver, id.UserID(o.UserID), o.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("make matrix client for %s: %w", o.Homeserver, err)
	}
	cli.DeviceID = id.DeviceID(o.DeviceID)
	// Delivery decides about retries (and keeps the queue durable):
	// the client tries once.
	cli.DefaultHTTPRetries = 0
	cli.Client = o.HTTPClient
	if cli.Client == nil {
		cli.Client = &http.Client{Timeout: 30 * time.Second}
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	pace := rate.NewLimiter(rate.Inf, 1)
	if o.RateLimit > 0 {
		pace = rate.NewLimiter(rate.Limit(o.RateLimit), max(o.Burst, 1))
	}
	cmds := &chatcmd.Commands{Settings: o.Settings, Kind: destkind.Matrix, Noun: "Matrix ID", Log: log,
		Help: func(string) ([]string, error) { return chatcmd.Help("Matrix ID", "in a direct chat"), nil }}
	return &Bot{cli: cli, log: log, pace: pace, cmds: cmds, lookedBack: map[id.RoomID]bool{}}, nil
}

// MaxDigest implements delivery.DigestLimiter.
func (b *Bot) MaxDigest() int { return maxDigest }

// Send delivers one notification or digest as one m.notice in the user's
// direct chat. An address that is not a Matrix ID, or a user the
// homeserver refuses to invite, is permanent; an unreachable homeserver,
// 5xx, 429, an unreadable answer or a refused token are retryable.
func (b *Bot) Send(ctx context.Context, batch *delivery.Batch) (retryable bool, err error) {
	to := batch.Destination.Address
	msg := Render(batch)
	content := &event.Content{Parsed: msg, Raw: map[string]any{MsgIDsKey: msgIDs(batch)}}
	o := once{txn: txnID(batch), retried: batch.Attempts() > 1}
	if batch.Destination.Kind == destkind.MatrixRoom {
		err = b.sendRoom(ctx, to, content, o)
	} else {
		err = b.sendDirect(ctx, id.UserID(to), content, o)
	}
	if err != nil {
		return Retryable(err), fmt.Errorf("send to %s: %w", destkind.Spell(batch.Destination.Kind, to), explain(err))
	}
	return false, nil
}

// Confirm sends c's code, and its link, to the Matrix ID being added.
func (b *Bot) Confirm(ctx context.Context, c delivery.Confirmation) error {
	to := c.Destination.Address
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	expires := c.Expires.In(loc).Format("2006-01-02 15:04 MST")
	where := "this Matrix ID"
	if c.Destination.Kind == destkind.MatrixRoom {
		where = "this room"
	}
	msg := &event.MessageEventContent{
		MsgType: event.MsgNotice,
		Body:    fmt.Sprintf("hark: %s added %s for notifications. Confirmation code: %s (or open %s) before %s.", c.User, where, c.Code, c.Link, expires),
		Format:  event.FormatHTML,
		FormattedBody: fmt.Sprintf("hark: %s added %s for notifications. Confirmation code: <code>%s</code> (or <a href=\"%s\">confirm here</a>) before %s.",
			html.EscapeString(c.User), where, html.EscapeString(c.Code), html.EscapeString(c.Link), html.EscapeString(expires)),
	}
	content := &event.Content{Parsed: msg}
	var err error
	if c.Destination.Kind == destkind.MatrixRoom {
		// Posted in the room: whoever reads it there may add the feed.
		err = b.sendRoom(ctx, to, content, once{})
	} else {
		err = b.sendDirect(ctx, id.UserID(to), content, once{})
	}
	if err != nil {
		return fmt.Errorf("send confirmation code to %s: %w", destkind.Spell(c.Destination.Kind, to), explain(err))
	}
	return nil
}

// MsgIDsKey is the field of a notice's content listing the bus messages'
// IDs it notifies of, as email's X-Fedmsg-Msg-Id headers do: clients
// ignore it; scripts and tests can tell notices apart by it.
const MsgIDsKey = "org.fedoraproject.msg_ids"

func msgIDs(b *delivery.Batch) []string {
	ids := make([]string, 0, len(b.Items))
	for _, it := range b.Items {
		if it.MsgID != "" {
			ids = append(ids, it.MsgID)
		}
	}
	return ids
}

// ErrBadID is an address that is not a Matrix user ID.
var ErrBadID = errors.New("not a Matrix user ID (@name:server)")

// once is what keeps a batch's send to one event: its transaction ID
// ("" for a new one), and whether an earlier attempt may have reached
// the homeserver (the batch was claimed before, by this process or one
// that was killed), which has send look for it first (see sentBefore).
type once struct {
	txn     string
	retried bool
}

// txnID names a batch's send for the homeserver, which keeps one event
// per transaction ID: a batch sent again after a crash between the
// homeserver's answer and delivery's journal is dropped there, not shown
// twice. Its notifications make it; a test notification (no IDs) gets a
// fresh one.
func txnID(b *delivery.Batch) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d", b.Destination.Address, b.Part)
	n := 0
	for _, it := range b.Items {
		if it.NotificationID != 0 {
			fmt.Fprintf(h, "\x00%d", it.NotificationID)
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return "hark." + hex.EncodeToString(h.Sum(nil)[:16])
}

// sendDirect sends msg in to's direct chat, creating it when there is
// none or to has left it.
func (b *Bot) sendDirect(ctx context.Context, to id.UserID, msg *event.Content, o once) error {
	if _, _, err := to.Parse(); err != nil || !strings.HasPrefix(string(to), "@") {
		return ErrBadID
	}
	room, err := b.directRoom(ctx, to)
	if err != nil {
		return err
	}
	return b.send(ctx, room, msg, o)
}

// directRoom is the bot's direct chat with user: the newest one in
// m.direct that user is still in (joined or invited), else a new one.
func (b *Bot) directRoom(ctx context.Context, user id.UserID) (id.RoomID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.direct == nil {
		direct := map[id.UserID][]id.RoomID{}
		err := b.cli.GetAccountData(ctx, event.AccountDataDirectChats.Type, &direct)
		if err != nil && !errors.Is(err, mautrix.MNotFound) {
			return "", fmt.Errorf("read the bot's direct chats: %w", err)
		}
		b.direct = direct
	}
	if rooms := b.direct[user]; len(rooms) > 0 {
		room := rooms[len(rooms)-1]
		var member event.MemberEventContent
		err := b.cli.StateEvent(ctx, room, event.StateMember, string(user), &member)
		if err == nil && (member.Membership == event.MembershipJoin || member.Membership == event.MembershipInvite) {
			return room, nil
		}
		if err != nil && !errors.Is(err, mautrix.MNotFound) && !errors.Is(err, mautrix.MForbidden) {
			return "", fmt.Errorf("check %s is in direct chat %s: %w", user, room, err)
		}
		b.log.Info("matrix user left the direct chat; making a new one", "user", user, "room", room)
	}
	// Some homeservers invite IDs that name no one: the user's profile
	// tells whether they exist (M_NOT_FOUND, a permanent error).
	err := rateLimited(ctx, func() error {
		_, err := b.cli.GetProfile(ctx, user)
		return err
	})
	if notFound(err) {
		err = explainAs(err, fmt.Sprintf("there is no Matrix user %s", user))
	}
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", user, err)
	}
	var resp *mautrix.RespCreateRoom
	err = rateLimited(ctx, func() error {
		var err error
		resp, err = b.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{
			Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{user}, Name: "hark",
		})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("make direct chat with %s: %w", user, err)
	}
	b.direct[user] = append(b.direct[user], resp.RoomID)
	if err := b.cli.SetAccountData(ctx, event.AccountDataDirectChats.Type, b.direct); err != nil {
		// The room works; only its reuse after a restart is lost.
		b.log.Warn("could not record the direct chat in the bot's account data", "user", user, "room", resp.RoomID, "err", err)
	}
	return resp.RoomID, nil
}

// sendRoom posts msg to a room feed, joining the room first: a room the
// bot is invited to or may join. A room that does not exist or refuses
// the bot is a permanent error.
func (b *Bot) sendRoom(ctx context.Context, room string, msg *event.Content, o once) error {
	if strings.HasPrefix(room, "#") {
		// Resolved first: an unknown alias is a clear 404, where some
		// homeservers answer a join with 500.
		var resolved *mautrix.RespAliasResolve
		err := rateLimited(ctx, func() error {
			var err error
			resolved, err = b.cli.ResolveAlias(ctx, id.RoomAlias(room))
			return err
		})
		if notFound(err) {
			err = explainAs(err, fmt.Sprintf("there is no Matrix room %s", room))
		}
		if err != nil {
			return fmt.Errorf("look up room %s: %w", room, err)
		}
		room = string(resolved.RoomID)
	}
	var joined *mautrix.RespJoinRoom
	err := rateLimited(ctx, func() error {
		var err error
		joined, err = b.cli.JoinRoom(ctx, room, nil)
		return err
	})
	if refused(err) {
		err = explainAs(err, fmt.Sprintf("hark's bot (%s) may not join the room: make the room public or invite the bot", b.cli.UserID))
	}
	if err != nil {
		return fmt.Errorf("join %s: %w", room, err)
	}
	return b.send(ctx, joined.RoomID, msg, o)
}

// lookBack is how many of a room's latest events sentBefore searches.
const lookBack = 50

// TxnKey is the field of a notice's content holding its transaction ID.
const TxnKey = "org.fedoraproject.hark_txn"

// sentBefore says whether the bot's latest events in room include the
// send txn: a homeserver that was still taking the send when hark was
// killed may have kept the event without remembering the transaction
// ID, and delivery, which had not journaled it, sends it again. The
// first send to each room after a start searches, and so does a batch
// tried before: it may have been claimed before the kill and waited for
// its lease while other sends went first.
func (b *Bot) sentBefore(ctx context.Context, room id.RoomID, o once) (bool, error) {
	b.mu.Lock()
	done := b.lookedBack[room]
	b.mu.Unlock()
	if o.txn == "" || done && !o.retried {
		return false, nil
	}
	var resp *mautrix.RespMessages
	err := rateLimited(ctx, func() error {
		var err error
		resp, err = b.cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, lookBack)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read recent events of %s: %w", room, err)
	}
	b.mu.Lock()
	b.lookedBack[room] = true
	b.mu.Unlock()
	for _, evt := range resp.Chunk {
		if evt.Sender == b.cli.UserID && evt.Content.Raw[TxnKey] == o.txn {
			b.log.Info("matrix notice was sent before a restart; not sending it again", "room", room, "event", evt.ID)
			return true, nil
		}
	}
	return false, nil
}

// send sends msg to a room the bot is in, once.
func (b *Bot) send(ctx context.Context, room id.RoomID, msg *event.Content, o once) error {
	if sent, err := b.sentBefore(ctx, room, o); sent || err != nil {
		return err
	}
	if o.txn != "" {
		msg.Raw[TxnKey] = o.txn
	}
	if err := b.pace.Wait(ctx); err != nil {
		return fmt.Errorf("wait for the bot's message rate: %w", err)
	}
	err := rateLimited(ctx, func() error {
		var opts []mautrix.ReqSendEvent
		if o.txn != "" {
			opts = append(opts, mautrix.ReqSendEvent{TransactionID: o.txn})
		}
		_, err := b.cli.SendMessageEvent(ctx, room, event.EventMessage, msg, opts...)
		return err
	})
	var he mautrix.HTTPError
	if err != nil && o.txn != "" && (!errors.As(err, &he) || he.Response == nil || he.Response.StatusCode >= 500) {
		// No answer, or a failing homeserver: it may have kept the event
		// all the same, and forget the transaction ID if it restarts
		// before the retry. The retry looks first.
		b.mu.Lock()
		delete(b.lookedBack, room)
		b.mu.Unlock()
	}
	return err
}

// rateLimited runs call, and once more after the wait a 429 answer asks
// for when that is at most maxRateWait.
func rateLimited(ctx context.Context, call func() error) error {
	err := call()
	wait, limited := RetryAfter(err)
	if !limited || wait > maxRateWait {
		return err
	}
	select {
	case <-ctx.Done():
		return err
	case <-time.After(wait):
	}
	return call()
}

// RetryAfter is how long a 429 answer asks to wait (retry_after_ms, or
// the Retry-After header; a second when it names neither), and whether
// err is one.
func RetryAfter(err error) (time.Duration, bool) {
	var he mautrix.HTTPError
	if !errors.As(err, &he) || !he.IsStatus(http.StatusTooManyRequests) {
		return 0, false
	}
	if he.RespError != nil {
		if ms, ok := he.RespError.ExtraData["retry_after_ms"].(float64); ok && ms >= 0 {
			return time.Duration(ms) * time.Millisecond, true
		}
	}
	if s := he.Response.Header.Get("Retry-After"); s != "" {
		if d, err := time.ParseDuration(s + "s"); err == nil {
			return d, true
		}
	}
	return time.Second, true
}

// Retryable says whether a send that failed with err may work later: all
// but a bad address and a request the homeserver refuses for good (an
// unknown user or room, a forbidden invite, a malformed request).
func Retryable(err error) bool {
	if errors.Is(err, ErrBadID) {
		return false
	}
	var he mautrix.HTTPError
	if !errors.As(err, &he) || he.Response == nil {
		return true // no answer, or one that is not Matrix JSON
	}
	switch code := he.Response.StatusCode; {
	case code == http.StatusTooManyRequests, code >= 500, code == http.StatusUnauthorized:
		// A refused token is the operator's to fix; the queue waits.
		return true
	case code >= 400:
		return false
	}
	return true
}
