package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"hark/store"
	"hark/store/storetest"
)

// TestConformance runs the store contract's suite on SQLite files.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Fresh: func(t testing.TB) string { return filepath.Join(t.TempDir(), "hark.db") },
		Open: func(ctx context.Context, path string) (store.Store, error) {
			s, err := Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	})
}
