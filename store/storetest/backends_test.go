package storetest_test

import (
	"context"
	"path/filepath"
	"testing"

	"hark/internal/testpeer"
	"hark/store"
	"hark/store/postgres"
	"hark/store/sqlite"
	"hark/store/storetest"
)

// backends is every store.Store implementation, by name: the one suite
// runs on each, so that none drifts from the contract.
var backends = []struct {
	name    string
	backend storetest.Backend
}{
	{"sqlite", storetest.Backend{
		Fresh: func(t testing.TB) string { return filepath.Join(t.TempDir(), "hark.db") },
		Open: func(ctx context.Context, path string) (store.Store, error) {
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}},
	{"postgres", storetest.Backend{
		// A fresh database on the machine's server per test.
		Fresh: testpeer.PostgresDB,
		Open: func(ctx context.Context, url string) (store.Store, error) {
			s, err := postgres.Open(ctx, url)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}},
}

// TestConformance runs the store contract's suite on every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storetest.Run(t, b.backend) })
	}
}
