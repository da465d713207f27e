package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"hark/store"
	"hark/store/sqlite"
)

// BenchmarkRawPage is one page of 100 from /raw over a history of 20,000
// messages, next to reading one page of the history as previews do
// (baseline): datagrepper's total and pages make /raw count every
// message the query selects.
func BenchmarkRawPage(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hark.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	var msgs []store.Message
	for i := range 20000 {
		key := fmt.Sprintf("msg-%05d", i)
		topic := fmt.Sprintf("org.fedoraproject.prod.app%d.event", i%7)
		env, _ := json.Marshal(map[string]any{"topic": topic, "msg_id": key, "timestamp": t0 + i, "msg": map[string]any{"text": fmt.Sprintf("event %d of a build", i)}})
		m, err := store.NewMessage(key, topic, float64(t0+i), env, map[string]any{"usernames": []string{users[i%5]}, "packages": []string{fmt.Sprintf("pkg%d", i%50)}})
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if _, err := st.AddMessages(ctx, msgs); err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, Options{Store: st, BaseURL: "http://hark.example"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-history-page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.ScanHistory(ctx, store.Scan{Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, q := range []string{"", "user=alice", "package=pkg7", "category=app3&contains=build"} {
		b.Run("raw?"+q, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/raw?rows_per_page=100&"+q, nil)
			for b.Loop() {
				if _, err := s.searchHistory(req, rawMessage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
