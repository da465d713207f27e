package hark

import (
	"context"
	"log/slog"

	"hark/accounts"
	"hark/config"
	"hark/delivery"
	"hark/filters"
	"hark/owners"
	"hark/store"
	"hark/ui"
)

// newWebUI is the web UI on the config's settings, changing people's
// settings through the settings service, which queues confirmations and
// test notifications for the delivery role. With no admin yet it logs
// the one-time link that creates the first one.
func newWebUI(ctx context.Context, cfg *config.Config, st ui.Store, settings *accounts.Service, owned *owners.Refresher, index *filters.Index, log *slog.Logger) (*ui.Server, error) {
	opts := ui.Options{
		Store: st, BaseURL: cfg.Web.BaseURL, Logger: log, DefaultFilters: cfg.Users.DefaultFilters,
		SessionTTL: cfg.Web.SessionTTL, UnconfirmedTTL: cfg.Users.UnconfirmedTTL, TrustedProxies: cfg.Web.ProxyPrefixes(), ProxyHeader: cfg.Web.TrustedProxyHeader,
		Settings: settings, Confirmer: settings, Tester: settings, Unsubscriber: settings, Owners: ownershipOf(owned),
		RuleBudget: cfg.Rules.BudgetPerMessage, RuleErrors: index.RuleErrors,
	}
	if o := cfg.OIDC; o.Issuer != "" {
		opts.OIDC = &ui.OIDCOptions{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes, UsernameClaim: o.UsernameClaim,
			EmailClaim: o.EmailClaim, GroupsClaim: o.GroupsClaim, AdminGroups: o.AdminGroups, MatrixClaim: o.MatrixClaim, MatrixServer: o.MatrixServer}
	}
	web, err := ui.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	if link := web.SetupURL(); link != "" {
		log.Warn("no admin yet: open this one-time link to create the first one", "setup_url", link)
	}
	return web, nil
}

// newSettings is the settings service on st: unconfirmed destinations
// lapse after users.unconfirmed_ttl, and unsubscribe links are checked
// with the key delivery signs them with.
func newSettings(cfg *config.Config, st store.Store) (*accounts.Service, error) {
	key, err := delivery.LoadKey(UnsubscribeKeyPath(cfg))
	if err != nil {
		return nil, err
	}
	return accounts.New(accounts.Options{Store: st, UnconfirmedTTL: cfg.Users.UnconfirmedTTL, Tokens: delivery.Tokens(key)}), nil
}
