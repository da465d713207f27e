package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// termMessages stores four messages, one a minute, described as given.
func termMessages(t *testing.T, s *SQLite) []store.Message {
	t.Helper()
	descs := []struct{ topic, desc string }{
		{"org.fedoraproject.prod.bodhi.update.comment", `{"app":"bodhi","packages":["kernel","glibc"],"usernames":["alice"],"agent":"alice"}`},
		{"org.fedoraproject.prod.buildsys.build.state.change", `{"app":"koji","packages":["kernel"],"usernames":["bob"],"agent":"bob"}`},
		{"org.fedoraproject.prod.pagure.pull-request.new", `{"app":"pagure","packages":null,"usernames":["alice","carol"],"agent":""}`},
		{"org.fedoraproject.prod.wiki.article.edit", `not json`},
	}
	var msgs []store.Message
	for i, d := range descs {
		msgs = append(msgs, store.Message{Key: fmt.Sprintf("m%d", i), Topic: d.topic, Timestamp: time.Unix(1700000000+int64(60*i), 0),
			Envelope: json.RawMessage(`{"topic":"` + d.topic + `"}`), Description: json.RawMessage(d.desc)})
	}
	if _, err := s.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func keys(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Key
	}
	return out
}

func TestPrunedMessagesLeaveNoTerms(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	ctx := context.Background()
	if _, err := s.PruneHistory(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM message_terms`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d terms left after pruning every message", n)
	}
}

func TestScanByTermsUsesTheTermsKey(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"ranges", selectHistoryByTerms, []any{`[["package","kernel","kernel"]]`, 1, 1, 50}, "SEARCH t USING PRIMARY KEY (field=? AND value>? AND value<?)"},
		{"every message, in order", scanHistory, []any{1, 1, 50}, "USING INDEX messages_ts"},
		{"one term, in order", selectHistoryByTerm, []any{"package", "kernel", 1, 1, 50}, "SEARCH message_terms USING PRIMARY KEY (field=? AND value=? AND (ts,msg_id)<(?,?))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			joined := strings.Join(queryPlan(t, s, tc.query, tc.args...), "; ")
			if !strings.Contains(joined, tc.want) || strings.Contains(joined, "SCAN message_terms") || strings.Contains(joined, "SCAN t") ||
				strings.Contains(joined, "TEMP B-TREE") && tc.query == scanHistory {
				t.Errorf("plan: %s", joined)
			}
		})
	}
}

// queryPlan is the detail lines of SQLite's plan for query.
func queryPlan(t *testing.T, s *SQLite, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestMigrationFilesMessagesStoredBefore(t *testing.T) {
	// Stored just before the terms came (version 3).
	s := openAfter(t, 2,
		`INSERT INTO messages (msg_key, topic, ts, received, envelope, description) VALUES ('old', 't', 1, 1, '{}', '{"packages":["kernel"]}')`)
	got, err := s.ScanHistory(context.Background(), store.Scan{Terms: []store.Term{{Field: store.TermPackage, Value: "kernel"}}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got.Kept), []string{"old"}) {
		t.Errorf("got %v, want the message stored before the migration", keys(got.Kept))
	}
}
