package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"hark/bus"
	"hark/config"
	"hark/destkind"
	"hark/metrics"
	"hark/router"
	"hark/store"
)

func init() {
	commands["serve"] = command{summary: "run the service: read the bus, match every user's filters, queue notifications", run: runServe}
}

func runServe(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("hark serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	load := configFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: hark serve [--config FILE]\n\nRuns hark on the configuration's settings (built-in defaults without a file):")
		fmt.Fprintln(io.err, "reads the bus, matches filters, queues notifications, serves /metrics and /healthz.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(io.err, nil))
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(io.err, "hark serve: %v\n", err)
		return 2
	}
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("hark serve stopped", "err", err)
		return 1
	}
	return 0
}

// webStopGrace is how long the web servers may take to finish their
// requests once hark is told to stop.
const webStopGrace = 5 * time.Second

// serve wires the service together and runs it until ctx is done, then
// drains: the sources stop, what they handed over is committed, the web
// server finishes its requests, and the store is closed.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	describer, err := newDescriber(cfg)
	if err != nil {
		return err
	}
	ownership, err := newOwners(ctx, cfg, log)
	if err != nil {
		return err
	}
	index := newIndex(ownership, cfg.Rules.BudgetPerMessage)
	subOpts := bus.SubscriberOptions{Endpoints: busEndpoints(cfg), Topics: cfg.Bus.TopicPrefixes, MaxMessageBytes: cfg.Bus.MaxMessageBytes, Logger: log,
		Discover: busDiscovery(cfg), DiscoverEvery: cfg.Bus.SRVRefresh}
	if cfg.Bus.ValidateSignatures {
		if subOpts.Verifier, err = newVerifier(cfg); err != nil {
			return err
		}
	}
	// The bus is the ZeroMQ endpoints, a fedora-messaging broker, or both.
	amqpSrc, err := newAMQPSource(cfg, log)
	if err != nil {
		return err
	}
	var inputs []router.Source
	busStats := func() bus.Stats { return bus.Stats{} }
	if len(subOpts.Endpoints) > 0 || subOpts.Discover != nil || amqpSrc == nil {
		sub, err := bus.NewSubscriber(subOpts)
		if err != nil {
			return err
		}
		inputs, busStats = append(inputs, sub), sub.Stats
	}
	if amqpSrc != nil {
		zmqStats := busStats
		inputs, busStats = append(inputs, amqpSrc), func() bus.Stats { return zmqStats().Plus(amqpSrc.Stats()) }
	}
	inputs, catchupMetrics := withCatchup(cfg, st, log, inputs, busStats)
	rt, err := router.New(router.Options{Store: st, Describer: describer, Index: index, Retention: cfg.History.Retention, Logger: log})
	if err != nil {
		return err
	}
	deliverer, mailer, err := newDeliverer(cfg, st, log)
	if err != nil {
		return err
	}
	// The mailer is closed unless a delivery still holds it at the end of
	// the stop budget (see below): closing would wait for its SMTP
	// transaction.
	mailerFree := true
	defer func() {
		if mailerFree {
			mailer.Close()
		}
	}()
	ircBot, err := newIRCBot(cfg, st, log)
	if err != nil {
		return err
	}
	if ircBot != nil {
		deliverer.Register(store.KindIRC, ircBot)
	}
	matrixBot, err := newMatrixBot(cfg, log)
	if err != nil {
		return err
	}
	if matrixBot != nil {
		deliverer.Register(destkind.Matrix, matrixBot)
		deliverer.Register(destkind.MatrixRoom, matrixBot)
	}

	sources := []metrics.Source{metrics.Bus(busStats), metrics.Router(rt.Stats), metrics.Index(index.Stats), metrics.Queue(st.QueueDepth), metrics.Delivery(deliverer.Stats)}
	if ownership != nil {
		sources = append(sources, metrics.Owners(ownership.Stats))
	}
	sources = append(sources, catchupMetrics...)
	web, err := newWebUI(ctx, cfg, st, deliverer, ownership, index, log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", web) // the more specific /healthz and /metrics win
	healthz := health{
		ping:       func(ctx context.Context) error { _, err := st.SettingsVersion(ctx); return err },
		stuck:      map[string]func() (time.Time, string){"commits stuck": rt.CommitStuck},
		stuckAfter: cfg.Web.StuckAfter, now: time.Now,
	}
	if amqpSrc != nil {
		healthz.stuck["no amqp session"] = amqpSrc.Down
	}
	mux.Handle("GET /healthz", healthz)
	metricsHandler := metrics.Handler(log, sources...)
	// Header and idle timeouts keep slow or idle clients from holding
	// connections open forever; bodies are bounded by the UI itself.
	servers := []*http.Server{{Addr: cfg.Web.Listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	if cfg.Web.MetricsListen != "" {
		metricsMux := http.NewServeMux()
		metricsMux.Handle("GET /metrics", metricsHandler)
		servers = append(servers, &http.Server{Addr: cfg.Web.MetricsListen, Handler: metricsMux})
	} else {
		mux.Handle("GET /metrics", metricsHandler)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(servers)+1)
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", srv.Addr, err)
		}
		log.Info("serving http", "addr", ln.Addr().String())
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve http on %s: %w", srv.Addr, err)
				cancel()
			}
		})
	}
	if ownership != nil {
		wg.Go(func() { ownership.Run(ctx, cfg.Owners.Refresh) })
	}
	if ircBot != nil {
		wg.Go(func() { ircBot.Run(ctx) })
	}
	wg.Go(func() { deliverer.Run(ctx) })
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
	log.Info("hark serving", "store", cfg.Store.Path, "endpoints", len(subOpts.Endpoints), "srv_domains", len(cfg.Bus.SRVDomains), "inbound", cfg.Bus.Inbound, "amqp", amqpSrc != nil)
	stopAt := make(chan time.Time, 1)
	context.AfterFunc(ctx, func() { stopAt <- time.Now() })
	if err := rt.Run(ctx, inputs...); err != nil {
		errs <- err
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
		mailerFree = false
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
	log.Info("hark stopped", "committed", rt.Stats().Committed)
	return errors.Join(all...)
}

// stopBudget is how long hark serve may take to stop once told to, less
// time for closing the store and exiting: SIGTERM must end it within 10s.
const stopBudget = 8 * time.Second
