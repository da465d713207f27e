package hark

import (
	"context"
	"log/slog"
	"time"

	"hark/bus"
	"hark/config"
	"hark/filters"
	"hark/meta"
	"hark/owners"
	"hark/rules"
)

// The constructors here turn configuration sections into the runtime
// objects several subcommands share, so every command builds them alike.

// NewDescriber is the meta describer the config asks for: the built-in
// processors, the config's extra files, and its username aliases.
func NewDescriber(cfg *config.Config) (*meta.Describer, error) {
	return meta.New(meta.Options{Files: cfg.Meta.Processors, Aliases: cfg.Meta.Aliases})
}

// NewVerifier is the signature checker of bus.signatures and
// bus.gpg_keyring. A service configured for GnuPG alone refuses X.509
// messages rather than trusting any certificate they carry.
func NewVerifier(cfg *config.Config) (*bus.Verifier, error) {
	sig := cfg.Bus.Signatures
	return bus.NewVerifier(bus.VerifyOptions{CAFile: sig.CA, CRLFile: sig.CRL, RoutingPolicy: sig.RoutingPolicy, Nitpicky: sig.Nitpicky,
		GPGKeyring: cfg.Bus.GPGKeyring, RequireCA: true})
}

// newOwners loads package ownership from owners.source, or returns nil
// when none is configured (owned-by and group-owned then never match).
func newOwners(ctx context.Context, cfg *config.Config, log *slog.Logger) (*owners.Refresher, error) {
	if cfg.Owners.Source == "" {
		return nil, nil
	}
	return owners.NewRefresher(ctx, owners.Source{Aliases: cfg.Owners.Source, Groups: cfg.Owners.Groups}, log)
}

// newIndex is an empty filter index that reads ownership from ref (nil:
// none), and bounds each user's costly rules per message by budget.
func newIndex(ref *owners.Refresher, budget time.Duration) *filters.Index {
	return filters.New(filters.Options{Owners: ownershipOf(ref), Budget: budget})
}

// ownershipOf reads the current ownership data from ref: what matching and
// previews evaluate owned-by rules with. nil when there is none.
func ownershipOf(ref *owners.Refresher) func() rules.Ownership {
	if ref == nil {
		return nil
	}
	return func() rules.Ownership { return ref.Current() }
}

// BusDiscovery finds the publishers bus.srv_domains names in DNS, or is
// nil when none is configured.
func BusDiscovery(cfg *config.Config) bus.Discoverer {
	if len(cfg.Bus.SRVDomains) == 0 {
		return nil
	}
	return bus.NewSRVDiscovery(cfg.Bus.SRVDomains, cfg.Bus.SRVResolver)
}

// busEndpoints is the config's publishers to dial, plus the inbound
// address to bind for active-mode publishers.
func busEndpoints(cfg *config.Config) []bus.Endpoint {
	var eps []bus.Endpoint
	for _, ep := range cfg.Bus.Endpoints {
		eps = append(eps, bus.Endpoint{URL: ep.URL, Replay: ep.Replay})
	}
	if cfg.Bus.Inbound != "" {
		eps = append(eps, bus.Endpoint{URL: cfg.Bus.Inbound, Bind: true})
	}
	return eps
}
