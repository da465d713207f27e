// Package hark is hark serve's roles wired from the configuration: the
// store, the matching index, the router, delivery, the chat bots, the web
// UI and metrics, each started and stopped by the table in Process.Roles
// (the generic table is package app), and the constructors the other
// subcommands share with them (NewDescriber, OpenStore, ...), so that
// every command builds its parts alike. cmd/hark parses flags and calls
// it.
package hark

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"hark/accounts"
	"hark/app"
	"hark/bus"
	"hark/config"
	"hark/delivery"
	"hark/delivery/email"
	"hark/delivery/irc"
	"hark/delivery/matrix"
	"hark/destkind"
	"hark/filters"
	"hark/metrics"
	"hark/owners"
	"hark/router"
	"hark/store"
)

// Options are what a process is besides its configuration.
type Options struct {
	// Instance names the process, unique and stable among the processes
	// delivering from one database: it names its sent journal and holds
	// its delivery leases. "" is the default instance.
	Instance string
	Logger   *slog.Logger
}

// New is a process of hark serve on cfg, which runs no role yet: Run
// starts the roles it is given, from Roles.
func New(cfg *config.Config, opts Options) *Process {
	return &Process{cfg: cfg, log: opts.Logger, instance: opts.Instance}
}

// RoleNames is the names of every role, in the order they start: what
// --roles may list, known before any configuration is read.
func RoleNames() []string {
	return (&Process{}).Roles().Names()
}

// webStopGrace is how long the web servers may take to finish their
// requests once hark is told to stop.
const webStopGrace = 5 * time.Second

// Process is what the roles of one hark serve process build, each role
// filling in its part for the roles that need it; parts of roles the
// process does not run stay nil.
type Process struct {
	cfg      *config.Config
	log      *slog.Logger
	instance string

	st        store.Store
	settings  *accounts.Service
	ownership *owners.Refresher
	index     *filters.Index
	rt        *router.Router
	inputs    []router.Source
	busStats  func() bus.Stats
	amqpSrc   *bus.AMQPSource
	// catchupMetrics count what catching up from datagrepper fetched.
	catchupMetrics []metrics.Source
	endpoints      int
	ircBot         *irc.Bot
	// matrixBot is the Matrix bot of the delivery role, nil without
	// matrix.homeserver.
	matrixBot *matrix.Bot
	deliverer *delivery.Deliverer
	mailer    *email.Mailer
	// mailerFree is false when a delivery still holds the mailer at the
	// end of the stop budget: closing it would wait for its SMTP
	// transaction.
	mailerFree bool
	web        http.Handler
	metrics    bool
}

// Roles is the table of hark serve's roles, each after those it needs.
// The web UI and the chat bot change settings through the settings
// service, which queues confirmations and test sends in the store's
// outbox for the delivery role, so the web UI needs no delivery; delivery
// needs the chat bot, which sends IRC notifications on its connection.
func (s *Process) Roles() app.Table {
	return app.Table{
		{Name: "store", Title: "the database", Start: s.startStore, Stop: func() error { return s.st.Close() }},
		{Name: "index", Title: "the matching index of every user's filters, with package ownership", Needs: []string{"store"}, Start: s.startIndex},
		{Name: "router", Title: "the bus to the queue: describe, match, queue", Needs: []string{"store", "index"}, Start: s.startRouter},
		{Name: "chat", Title: "the IRC bot: users' commands, and IRC notifications", Needs: []string{"store"}, Start: s.startChat},
		{Name: "delivery", Title: "the queue to email and IRC", Needs: []string{"store", "chat"}, Start: s.startDelivery, Stop: s.stopDelivery},
		{Name: "web", Title: "the web UI and its API, and the check of the identity provider's accounts", Needs: []string{"store", "index"}, Start: s.startWeb},
		{Name: "metrics", Title: "Prometheus /metrics of the roles this process runs", Needs: []string{"store"},
			Start: func(context.Context) error { s.metrics = true; return nil }},
	}
}

func (s *Process) startStore(ctx context.Context) (err error) {
	if s.st, err = openStoreWaiting(ctx, s.cfg, s.log); err != nil {
		return err
	}
	s.settings, err = newSettings(s.cfg, s.st)
	return err
}

func (s *Process) startIndex(ctx context.Context) (err error) {
	if s.ownership, err = newOwners(ctx, s.cfg, s.log); err != nil {
		return err
	}
	s.index = newIndex(s.ownership, s.cfg.Rules.BudgetPerMessage)
	return nil
}

func (s *Process) startRouter(ctx context.Context) error {
	cfg := s.cfg
	describer, err := NewDescriber(cfg)
	if err != nil {
		return err
	}
	subOpts := bus.SubscriberOptions{Endpoints: busEndpoints(cfg), Topics: cfg.Bus.TopicPrefixes, MaxMessageBytes: cfg.Bus.MaxMessageBytes, Logger: s.log,
		Discover: BusDiscovery(cfg), DiscoverEvery: cfg.Bus.SRVRefresh}
	if cfg.Bus.ValidateSignatures {
		if subOpts.Verifier, err = NewVerifier(cfg); err != nil {
			return err
		}
	}
	s.endpoints = len(subOpts.Endpoints)
	// The bus is the ZeroMQ endpoints, a fedora-messaging broker, or both.
	if s.amqpSrc, err = newAMQPSource(cfg, s.log); err != nil {
		return err
	}
	s.busStats = func() bus.Stats { return bus.Stats{} }
	if len(subOpts.Endpoints) > 0 || subOpts.Discover != nil || s.amqpSrc == nil {
		sub, err := bus.NewSubscriber(subOpts)
		if err != nil {
			return err
		}
		s.inputs, s.busStats = append(s.inputs, sub), sub.Stats
	}
	if s.amqpSrc != nil {
		zmqStats, amqpSrc := s.busStats, s.amqpSrc
		s.inputs, s.busStats = append(s.inputs, amqpSrc), func() bus.Stats { return zmqStats().Plus(amqpSrc.Stats()) }
	}
	s.inputs, s.catchupMetrics = withCatchup(cfg, s.st, s.log, s.inputs, s.busStats)
	s.rt, err = router.New(router.Options{Store: s.st, Describer: describer, Index: s.index, Retention: cfg.History.Retention, Logger: s.log,
		Unreachable: storeUnreachable(cfg)})
	return err
}

func (s *Process) startChat(context.Context) (err error) {
	s.ircBot, err = newIRCBot(s.cfg, s.settings, s.log)
	return err
}

func (s *Process) startDelivery(context.Context) (err error) {
	if s.deliverer, s.mailer, err = newDeliverer(s.cfg, s.st, s.instance, s.log); err != nil {
		return err
	}
	s.mailerFree = true
	if s.ircBot != nil {
		s.deliverer.Register(store.KindIRC, s.ircBot)
		s.deliverer.Register(destkind.IRCChannel, s.ircBot)
	}
	if s.matrixBot, err = newMatrixBot(s.cfg, s.settings, s.log); err != nil {
		return err
	}
	if s.matrixBot != nil {
		s.deliverer.Register(destkind.Matrix, s.matrixBot)
		s.deliverer.Register(destkind.MatrixRoom, s.matrixBot)
	}
	return nil
}

func (s *Process) stopDelivery() error {
	if s.mailerFree {
		s.mailer.Close()
	}
	return nil
}

func (s *Process) startWeb(ctx context.Context) error {
	web, err := newWebUI(ctx, s.cfg, s.st, s.settings, s.ownership, s.index, s.log)
	if err != nil {
		return err
	}
	s.web = web
	return nil
}

// Run starts roles and runs them until ctx is done, then drains: the
// sources stop, what they handed over is committed, the web server
// finishes its requests, and the roles stop in reverse, the store last.
// Whatever the roles, /healthz answers on web.listen.
func (s *Process) Run(ctx context.Context, roles []app.Role) (err error) {
	cfg, log := s.cfg, s.log
	stop, err := app.Start(ctx, roles)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	mux := http.NewServeMux()
	if s.web != nil {
		mux.Handle("/", s.web) // the more specific /healthz and /metrics win
	}
	healthz := health{
		ping:       func(ctx context.Context) error { _, err := s.st.SettingsVersion(ctx); return err },
		stuck:      map[string]func() (time.Time, string){},
		stuckAfter: cfg.Web.StuckAfter, now: time.Now,
	}
	if s.rt != nil {
		healthz.stuck["commits stuck"] = s.rt.CommitStuck
	}
	if s.amqpSrc != nil {
		healthz.stuck["no amqp session"] = s.amqpSrc.Down
	}
	mux.Handle("GET /healthz", healthz)
	// Header and idle timeouts keep slow or idle clients from holding
	// connections open forever; bodies are bounded by the UI itself.
	servers := []*http.Server{{Addr: cfg.Web.Listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	if s.metrics {
		metricsHandler := metrics.Handler(log, s.metricSources()...)
		if cfg.Web.MetricsListen != "" {
			metricsMux := http.NewServeMux()
			metricsMux.Handle("GET /metrics", metricsHandler)
			servers = append(servers, &http.Server{Addr: cfg.Web.MetricsListen, Handler: metricsMux})
		} else {
			mux.Handle("GET /metrics", metricsHandler)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(servers)+1)
	// Every listener first, so that one that cannot listen leaves no
	// other serving.
	listeners := make([]net.Listener, 0, len(servers))
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return fmt.Errorf("listen on %s: %w", srv.Addr, err)
		}
		listeners = append(listeners, ln)
	}
	for i, srv := range servers {
		ln := listeners[i]
		log.Info("serving http", "addr", ln.Addr().String())
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve http on %s: %w", srv.Addr, err)
				cancel()
			}
		})
	}
	if s.ownership != nil {
		wg.Go(func() { s.ownership.Run(ctx, cfg.Owners.Refresh) })
	}
	if s.ircBot != nil {
		wg.Go(func() { s.runIRCBot(ctx) })
	}
	if s.matrixBot != nil {
		// One process reads the bot's commands: the one that delivers
		// Matrix notifications.
		wg.Go(func() { s.runElected(ctx, matrixBotLease, "matrix bot elected: reading commands", s.matrixBot.Listen) })
	}
	if s.deliverer != nil {
		wg.Go(func() { s.deliverer.Run(ctx) })
	}
	if s.web != nil && cfg.OIDC.AccountURL != "" {
		// With the web role, whose logins make the provider's users.
		check := &accounts.Checker{Store: s.st, URL: cfg.OIDC.AccountURL, Client: &http.Client{Timeout: 30 * time.Second}, Log: log}
		wg.Go(func() { check.Run(ctx, cfg.OIDC.AccountCheck) })
	}
	// SIGTERM must end hark within 10s whatever it is doing: the web
	// servers get 5s to finish their requests, alongside the router's
	// commit of what the bus handed over (router.Options.StopGrace, 5s),
	// then their connections are closed under whatever still runs.
	wg.Go(func() {
		<-ctx.Done()
		shutdown, done := context.WithTimeout(context.Background(), webStopGrace)
		defer done()
		for _, srv := range servers {
			if srv.Shutdown(shutdown) != nil {
				srv.Close()
			}
		}
	})
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	log.Info("hark serving", "roles", strings.Join(names, ","), "store", StoreName(cfg), "endpoints", s.endpoints, "srv_domains", len(cfg.Bus.SRVDomains), "inbound", cfg.Bus.Inbound, "amqp", s.amqpSrc != nil)
	stopAt := make(chan time.Time, 1)
	context.AfterFunc(ctx, func() { stopAt <- time.Now() })
	if s.rt != nil {
		if err := s.rt.Run(ctx, s.inputs...); err != nil {
			errs <- err
		}
	} else {
		<-ctx.Done()
	}
	cancel()
	// The rest (delivery in the middle of an SMTP transaction, IRC, the
	// ownership refresh) gets what is left of the stop budget; past it
	// hark exits under them, which the sent journals make as safe as a
	// kill -9.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	budget := time.NewTimer(stopBudget - time.Since(<-stopAt))
	defer budget.Stop()
	select {
	case <-done:
	case <-budget.C:
		s.mailerFree = false
		log.Warn("stopping without waiting longer for delivery and the other background work", "budget", stopBudget)
	}
	var all []error
	for collected := false; !collected; {
		select {
		case err := <-errs:
			all = append(all, err)
		default:
			collected = true
		}
	}
	if s.rt != nil {
		log.Info("hark stopped", "committed", s.rt.Stats().Committed)
	} else {
		log.Info("hark stopped")
	}
	return errors.Join(all...)
}

// metricSources is the metrics of the roles this process runs.
func (s *Process) metricSources() []metrics.Source {
	// In the order of the single process's list, so /metrics reads as it
	// did before roles.
	var sources []metrics.Source
	if s.rt != nil {
		sources = append(sources, metrics.Bus(s.busStats), metrics.Router(s.rt.Stats))
		sources = append(sources, s.catchupMetrics...)
	}
	if s.index != nil {
		sources = append(sources, metrics.Index(s.index.Stats))
	}
	sources = append(sources, metrics.Queue(s.st.QueueDepth))
	if s.deliverer != nil {
		sources = append(sources, metrics.Delivery(s.deliverer.Stats))
	}
	if s.ownership != nil {
		sources = append(sources, metrics.Owners(s.ownership.Stats))
	}
	return sources
}

// stopBudget is how long hark serve may take to stop once told to, less
// time for closing the store and exiting: SIGTERM must end it within 10s.
const stopBudget = 8 * time.Second

// runIRCBot keeps the IRC bot connected while this process holds its
// lease, so that among several delivery processes one connection
// answers users and sends IRC notifications; a process that loses the
// lease disconnects.
func (s *Process) runIRCBot(ctx context.Context) {
	if s.deliverer == nil {
		// A process of the chat role alone answers commands and stands
		// for no election: there is nothing for it to deliver.
		s.ircBot.Run(ctx)
		return
	}
	s.runElected(ctx, ircBotLease, "irc bot elected: connecting", func(ctx context.Context) { s.ircBot.Run(ctx) })
}

// runElected runs run while this process holds lease, and again each
// time it wins the lease back: run's context ends when the lease is lost.
func (s *Process) runElected(ctx context.Context, lease, elected string, run func(context.Context)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for ctx.Err() == nil {
		if !s.deliverer.Holds(lease) {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			continue
		}
		held, lost := context.WithCancel(ctx)
		go func() {
			for held.Err() == nil && s.deliverer.Holds(lease) {
				select {
				case <-held.Done():
				case <-t.C:
				}
			}
			lost()
		}()
		s.log.Info(elected, "instance", s.instance)
		run(held)
		lost()
	}
}
