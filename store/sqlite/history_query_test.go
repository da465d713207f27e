package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"hark/store"
)

func TestQueryHistorySelectsCountsAndPages(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	// Twelve messages a second apart: topics cycle bodhi, koji and a
	// short one; users alice and bob; package p0..p3; agent bob for odd.
	topics := []string{"org.fedoraproject.prod.bodhi.update.comment", "org.fedoraproject.prod.buildsys.tag", "short.topic"}
	var msgs []store.Message
	for i := range 12 {
		key := fmt.Sprintf("m%02d", i)
		agent := ""
		if i%2 == 1 {
			agent = "bob"
		}
		m, err := store.NewMessage(key, topics[i%3], float64(1000+i), []byte(fmt.Sprintf(`{"msg_id":%q,"text":"n%d"}`, key, i)),
			map[string]any{"usernames": []string{[]string{"alice", "bob"}[i%2]}, "packages": []string{fmt.Sprintf("p%d", i%4)}, "agent": agent})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if _, err := s.AddMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	keys := func(ms []store.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Key)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		q     store.HistoryQuery
		total int
		page  []string
	}{
		{"all, newest first", store.HistoryQuery{Limit: 3}, 12, []string{"m11", "m10", "m09"}},
		{"all, oldest first, second page", store.HistoryQuery{Ascending: true, Offset: 3, Limit: 3}, 12, []string{"m03", "m04", "m05"}},
		{"time window, ends included", store.HistoryQuery{Start: time.Unix(1002, 0), End: time.Unix(1004, 0), Limit: 10}, 3, []string{"m04", "m03", "m02"}},
		{"category", store.HistoryQuery{Categories: []string{"bodhi"}, Limit: 10}, 4, []string{"m09", "m06", "m03", "m00"}},
		{"category of no topic", store.HistoryQuery{Categories: []string{"wiki"}, Limit: 10}, 0, nil},
		{"not a category keeps short topics", store.HistoryQuery{NotCategories: []string{"bodhi", "buildsys"}, Limit: 10}, 4, []string{"m11", "m08", "m05", "m02"}},
		{"users ORed, package ANDed", store.HistoryQuery{Users: []string{"alice", "bob"}, Packages: []string{"p1"}, Limit: 10}, 3, []string{"m09", "m05", "m01"}},
		{"agent, not a topic", store.HistoryQuery{Agents: []string{"bob"}, NotTopics: []string{topics[1]}, Limit: 10}, 4, []string{"m11", "m09", "m05", "m03"}},
		{"contains", store.HistoryQuery{Contains: []string{"n1", "n7"}, Limit: 10}, 4, []string{"m11", "m10", "m07", "m01"}},
		{"not a user", store.HistoryQuery{NotUsers: []string{"alice"}, NotPackages: []string{"p3"}, Limit: 10}, 3, []string{"m09", "m05", "m01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total, page, err := s.QueryHistory(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if total != tc.total || !slices.Equal(keys(page), tc.page) {
				t.Errorf("total %d, page %v; want %d, %v", total, keys(page), tc.total, tc.page)
			}
		})
	}
}
