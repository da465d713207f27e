package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/destkind"
	"hark/internal/testpeer"
	"hark/store"
)

// channelBatch is one notification to channel's feed.
func channelBatch(channel string) *delivery.Batch {
	b := batch(1, delivery.NotDigest, false, false)
	b.Destination = store.Destination{Kind: destkind.IRCChannel, Address: channel}
	return b
}

// TestChannelFeedReachesAnotherClient: carol is in #feed; the bot joins
// it at its first post, and its confirmation code and a notification
// reach her there; after a reconnect it joins again.
func TestChannelFeedReachesAnotherClient(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	carol := testpeer.DialIRC(t, ircd.Addr, "carol")
	carol.Send("JOIN #feed")
	carol.Wait(" 366 ") // end of NAMES: she is in
	b := startBot(t, Options{Server: ircd.Addr})
	c := delivery.Confirmation{User: "carol", Destination: store.Destination{Kind: destkind.IRCChannel, Address: "#feed"},
		Code: "k7q2zpabcd", Link: "https://hark.example/confirm/7/k7q2zpabcd", Expires: time.Now().Add(time.Hour)}
	if err := b.Confirm(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	code := carol.Wait("PRIVMSG #feed :")
	if !strings.Contains(code.Raw, "k7q2zpabcd") || !strings.Contains(code.Raw, "carol added this channel") {
		t.Errorf("confirmation in the channel: %q", code.Raw)
	}
	send(t, b, channelBatch("#feed"))
	if got := carol.Wait("python-foo-1.0-1.fc43"); !strings.HasPrefix(got.Raw, ":hark!") || !strings.Contains(got.Raw, " PRIVMSG #feed :") {
		t.Errorf("carol received %q", got.Raw)
	}
	if joins := carol.Lines(" JOIN "); len(joins) != 2 { // hers, the bot's once
		t.Errorf("JOINs seen: %d, want carol's and the bot's one", len(joins))
	}

	carol.Send("KICK #feed hark :out")
	carol.Wait(" KICK #feed hark")
	send(t, b, channelBatch("#feed"))
	carol.WaitN("python-foo-1.0-1.fc43", 2, wait)
}

// TestChannelRefusalsArePermanent: a channel that bans the bot, is
// invite-only or moderated refuses it, and says why in words.
func TestChannelRefusalsArePermanent(t *testing.T) {
	ircd := testpeer.StartIRCd(t)
	op := testpeer.DialIRC(t, ircd.Addr, "carol")
	for _, tc := range []struct{ channel, mode, want string }{
		{"#banned", "+b hark!*@*", "banned"},
		{"#invited", "+i", "invite-only"},
		{"#quiet", "+m", "moderated"},
	} {
		op.Send("JOIN " + tc.channel)
		op.Send("MODE " + tc.channel + " " + tc.mode)
		op.Wait(" MODE " + tc.channel + " " + tc.mode)
	}
	b := startBot(t, Options{Server: ircd.Addr})
	for _, tc := range []struct{ channel, want string }{
		{"#banned", "banned"},
		{"#invited", "invite-only"},
		{"#quiet", "moderated"},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			retryable, err := b.Send(ctx, channelBatch(tc.channel))
			if retryable || !errors.Is(err, ErrChannelRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("post to %s: retryable %v, err %v; want a permanent refusal saying %q", tc.channel, retryable, err, tc.want)
			}
			c := delivery.Confirmation{User: "carol", Destination: store.Destination{Kind: destkind.IRCChannel, Address: tc.channel}, Code: "k7q2zpabcd"}
			if err := b.Confirm(ctx, c); !errors.Is(err, ErrChannelRefused) {
				t.Errorf("confirmation to %s: %v, want ErrChannelRefused", tc.channel, err)
			}
		})
	}
	// The moderator gives the bot voice: the feed works.
	op.Send("MODE #quiet +v hark")
	op.Wait(" MODE #quiet +v hark")
	send(t, b, channelBatch("#quiet"))
	op.Wait("PRIVMSG #quiet :")
}
