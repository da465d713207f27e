package postgres

import (
	"context"
	"testing"

	"hark/internal/testpeer"
	"hark/store"
	"hark/store/storetest"
)

// TestConformance runs the store contract's suite on PostgreSQL, a fresh
// database per test.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Fresh: testpeer.PostgresDB,
		Open: func(ctx context.Context, url string) (store.Store, error) {
			s, err := Open(ctx, url)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	})
}
