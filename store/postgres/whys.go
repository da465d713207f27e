package postgres

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"sync"
)

// whyHash names a why (a filter's rule verdicts) in the whys table: a
// notification keeps the 16-byte hash instead of the few hundred bytes of
// text, which is mostly the same message after message.
func whyHash(why []byte) []byte {
	if len(why) == 0 {
		return nil // NULL: no why
	}
	h := sha256.Sum256(why)
	return h[:16]
}

// whyRows is the distinct whys of a batch not known to be stored yet, in
// hash order (racing transactions insert them in the same order, so
// they wait for each other instead of deadlocking).
type whyRows struct {
	hashes [][]byte
	texts  []string
	seen   map[string]bool
}

func (w *whyRows) add(hash, why []byte, known *whyCache) {
	if hash == nil || known.has(hash) || w.seen[string(hash)] {
		return
	}
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	w.seen[string(hash)] = true
	w.hashes = append(w.hashes, hash)
	w.texts = append(w.texts, string(why))
}

// sorted orders the rows by hash.
func (w *whyRows) sorted() {
	idx := make([]int, len(w.hashes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(w.hashes[a], w.hashes[b]) })
	hashes, texts := make([][]byte, len(idx)), make([]string, len(idx))
	for i, j := range idx {
		hashes[i], texts[i] = w.hashes[j], w.texts[j]
	}
	w.hashes, w.texts = hashes, texts
}

// whyCacheSize bounds the whys a process remembers as stored; past it the
// cache starts again (a few hundred are distinct in practice).
const whyCacheSize = 10000

// whyCache is the hashes of whys known to be committed: whys are never
// deleted, so a known one needs no insert.
type whyCache struct {
	mu     sync.Mutex
	hashes map[string]bool
}

func (c *whyCache) has(hash []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hashes[string(hash)]
}

// keep remembers hashes, once their transaction committed.
func (c *whyCache) keep(hashes [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hashes == nil || len(c.hashes)+len(hashes) > whyCacheSize {
		c.hashes = make(map[string]bool, len(hashes))
	}
	for _, h := range hashes {
		c.hashes[string(h)] = true
	}
}
