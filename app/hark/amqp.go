package hark

import (
	"log/slog"

	"hark/bus"
	"hark/config"
)

// newAMQPSource is the fedora-messaging reader of bus.amqp, or nil when
// the config names no broker.
func newAMQPSource(cfg *config.Config, log *slog.Logger) (*bus.AMQPSource, error) {
	a := cfg.Bus.AMQP
	if a.URL == "" {
		return nil, nil
	}
	return bus.NewAMQPSource(bus.AMQPOptions{
		URL: a.URL, Exchange: a.Exchange, Queue: a.Queue, Bindings: a.Bindings, Prefetch: a.Prefetch,
		CertFile: a.Cert, KeyFile: a.Key, CAFile: a.CA,
		App: a.AppName, AppURL: a.AppURL, Contact: a.ContactEmail,
		MaxMessageBytes: cfg.Bus.MaxMessageBytes, Logger: log,
	})
}
