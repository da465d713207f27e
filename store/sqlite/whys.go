package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// whyCache maps a why's text to its row in whys, so that queuing a
// notification costs a map lookup rather than a statement: the distinct
// whys are few (see schemaV5). Rows added by a transaction enter the
// cache only once it committed, since a rollback takes them back.
type whyCache struct {
	mu  sync.Mutex
	ids map[string]int64
}

// maxWhys bounds the cache; past it, it starts over (the rows stay).
const maxWhys = 1 << 16

func (c *whyCache) lookup(why string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[why]
	return id, ok
}

// keep adds ids, which a committed transaction stored.
func (c *whyCache) keep(ids map[string]int64) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids)+len(ids) > maxWhys {
		c.ids = make(map[string]int64, len(ids))
	}
	for why, id := range ids {
		c.ids[why] = id
	}
}

// whyIDs resolves whys inside one write transaction.
type whyIDs struct {
	cache *whyCache
	added map[string]int64 // resolved in this transaction, not yet committed
}

// id is why's row in whys, stored now if it is new; 0 for no why.
func (w *whyIDs) id(ctx context.Context, tx *sql.Tx, why []byte) (int64, error) {
	if len(why) == 0 {
		return 0, nil
	}
	if id, ok := w.cache.lookup(string(why)); ok {
		return id, nil
	}
	if id, ok := w.added[string(why)]; ok {
		return id, nil
	}
	text := string(why)
	if _, err := tx.ExecContext(ctx, insertWhy, text); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, selectWhyID, text).Scan(&id); err != nil {
		return 0, err
	}
	if w.added == nil {
		w.added = map[string]int64{}
	}
	w.added[text] = id
	return id, nil
}
