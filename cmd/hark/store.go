package main

import (
	"context"

	"hark/config"
	"hark/store"
	"hark/store/sqlite"
)

// openStore opens the store cfg names: the one place that knows SQLite is
// the backend, so every command works on the store.Store contract.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	s, err := sqlite.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, err
	}
	return s, nil
}
