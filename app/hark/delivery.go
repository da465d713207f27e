package hark

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"hark/config"
	"hark/delivery"
	"hark/delivery/email"
	"hark/delivery/ntfy"
	"hark/delivery/webhook"
	"hark/destkind"
	"hark/store"
)

// newDeliverer is delivery as the config asks for it, with the email
// sender; kinds registered elsewhere (IRC) are added to senders by the
// caller before Run. Its unsubscribe key lives beside the database, so
// links in mails already sent keep working after a restart. Its sent
// journal must survive whatever the database survives: on SQLite it is
// files beside the database (store.path with "-sent.email", "-sent.irc"),
// a write(2) per send where a store write would cost more than the send;
// on PostgreSQL it is rows of the store, so a worker on another machine
// taking a partition over reads the previous owner's. The journal is one
// process's: a named instance keeps its own ("-sent-NAME.email", or the
// instance's rows), so processes delivering from one database never
// replay each other's, except in a takeover.
func newDeliverer(cfg *config.Config, st store.Store, instance string, log *slog.Logger) (*delivery.Deliverer, *email.Mailer, error) {
	key, err := delivery.LoadKey(UnsubscribeKeyPath(cfg))
	if err != nil {
		return nil, nil, err
	}
	mailer, err := email.New(email.Options{Host: cfg.Email.SMTPHost, Port: cfg.Email.SMTPPort, TLS: cfg.Email.TLS,
		From: cfg.Email.From, Username: cfg.Email.Username, Password: cfg.Email.Password})
	if err != nil {
		return nil, nil, err
	}
	hooks, err := newWebhookSender(cfg, key)
	if err != nil {
		mailer.Close()
		return nil, nil, err
	}
	r, f := cfg.Delivery.Retry, cfg.Delivery.Flood
	o := delivery.Options{
		Store: st, Senders: delivery.Senders{store.KindEmail: mailer, webhook.Kind: hooks, ntfy.Kind: newNtfySender(cfg)}, BaseURL: cfg.Web.BaseURL, Key: key,
		Logger: log,
		Leases: st, Instance: leaseOwner(instance), Partitions: cfg.Delivery.Partitions, Lease: cfg.Delivery.Lease,
		Elected:   electedKinds,
		PollEvery: cfg.Delivery.PollEvery, PollOnly: !cfg.Delivery.FollowFeed,
		Retry: delivery.Retry{MaxAttempts: r.MaxAttempts, BackoffMin: r.BackoffMin, BackoffMax: r.BackoffMax},
		Flood: delivery.Flood{Rate: f.Rate, Window: f.Window, DigestFor: f.DigestFor},
		Now:   testClock(log),
	}
	if cfg.Store.Postgres() {
		o.JournalStore = st
	} else {
		o.SentJournal = sentJournal(cfg, instance)
		o.PeerJournal = func(owner string) string { return sentJournal(cfg, owner) }
	}
	d, err := delivery.New(o)
	if err != nil {
		mailer.Close()
		return nil, nil, err
	}
	return d, mailer, nil
}

// UnsubscribeKeyPath is where the unsubscribe key lives: beside the
// database. Webhook secrets are derived from it too.
func UnsubscribeKeyPath(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(cfg.Store.Path), "unsubscribe.key")
}

// electedKinds is the destination kinds one process delivers for the
// whole service, through the one connection of its chat bot: the holder
// of the lease named here.
var electedKinds = map[string]string{
	store.KindIRC:       ircBotLease,
	destkind.Matrix:     matrixBotLease,
	destkind.MatrixRoom: matrixBotLease,
}

// ircBotLease is the lease of the IRC bot's connection.
const ircBotLease = "bot:irc"

// matrixBotLease is the lease of the Matrix bot: its holder sends Matrix
// notifications and reads the bot's commands.
const matrixBotLease = "bot:matrix"

// defaultInstance is the lease owner name of a process without
// --instance.
const defaultInstance = "default"

// leaseOwner is the name instance holds leases under.
func leaseOwner(instance string) string {
	if instance == "" {
		return defaultInstance
	}
	return instance
}

// sentJournal is the path the sent journals of instance start with: the
// instance without a name (or named default) keeps the unnamed path
// journals had before instances.
func sentJournal(cfg *config.Config, instance string) string {
	if instance == "" || instance == defaultInstance {
		return cfg.Store.Path + "-sent"
	}
	return cfg.Store.Path + "-sent-" + instance
}

// TestClockEnv is FOR TESTS ONLY: a duration (3h) that delivery's clock
// runs ahead of the real one, so that an end-to-end test through hark
// serve reaches a daily digest's time of day without waiting for it.
// Never set it in production: digests and retries would go out early.
const TestClockEnv = "HARK_TEST_CLOCK_SHIFT"

// testClock is delivery's clock: the real one, or with TestClockEnv set
// the real one shifted by it (nil: the default).
func testClock(log *slog.Logger) func() time.Time {
	v := os.Getenv(TestClockEnv)
	if v == "" {
		return nil
	}
	shift, err := time.ParseDuration(v)
	if err != nil {
		log.Error("ignoring "+TestClockEnv, "value", v, "err", err)
		return nil
	}
	log.Warn(TestClockEnv+" is set: delivery's clock runs ahead of the real one (for tests only)", "shift", shift)
	return func() time.Time { return time.Now().Add(shift) }
}
