package hark

import (
	"context"
	"net/url"

	"hark/config"
	"hark/store"
	"hark/store/postgres"
	"hark/store/sqlite"
)

// OpenStore opens the store cfg names: the one place that knows the
// backends, so every command works on the store.Store contract. A
// store.url is a PostgreSQL database; otherwise the SQLite file at
// store.path.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if cfg.Store.Postgres() {
		s, err := postgres.Open(ctx, cfg.Store.URL)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// storeName is where the store is, for logs: the SQLite file, or the
// PostgreSQL URL with its password hidden.
func storeName(cfg *config.Config) string {
	if !cfg.Store.Postgres() {
		return cfg.Store.Path
	}
	u, err := url.Parse(cfg.Store.URL)
	if err != nil {
		return "postgres"
	}
	return u.Redacted()
}
