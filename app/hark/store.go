package hark

import (
	"context"

	"hark/config"
	"hark/store"
	"hark/store/sqlite"
)

// OpenStore opens the store cfg names: the one place that knows SQLite is
// the backend, so every command works on the store.Store contract.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	s, err := sqlite.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, err
	}
	return s, nil
}
