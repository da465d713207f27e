package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// termMessages stores four messages, one a minute, described as given.
func termMessages(t *testing.T, s *SQLite) []Message {
	t.Helper()
	descs := []struct{ topic, desc string }{
		{"org.fedoraproject.prod.bodhi.update.comment", `{"app":"bodhi","packages":["kernel","glibc"],"usernames":["alice"],"agent":"alice"}`},
		{"org.fedoraproject.prod.buildsys.build.state.change", `{"app":"koji","packages":["kernel"],"usernames":["bob"],"agent":"bob"}`},
		{"org.fedoraproject.prod.pagure.pull-request.new", `{"app":"pagure","packages":null,"usernames":["alice","carol"],"agent":""}`},
		{"org.fedoraproject.prod.wiki.article.edit", `not json`},
	}
	var msgs []Message
	for i, d := range descs {
		msgs = append(msgs, Message{Key: fmt.Sprintf("m%d", i), Topic: d.topic, Timestamp: time.Unix(1700000000+int64(60*i), 0),
			Envelope: json.RawMessage(`{"topic":"` + d.topic + `"}`), Description: json.RawMessage(d.desc)})
	}
	if _, err := s.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func keys(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Key
	}
	return out
}

func TestScanHistoryByTermsFindsMessagesNewestFirst(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	for _, tc := range []struct {
		name  string
		terms []Term
		want  []string
	}{
		{"package in two messages", []Term{{Field: TermPackage, Value: "kernel"}}, []string{"m1", "m0"}},
		{"second package of a message", []Term{{Field: TermPackage, Value: "glibc"}}, []string{"m0"}},
		{"user", []Term{{Field: TermUser, Value: "alice"}}, []string{"m2", "m0"}},
		{"agent", []Term{{Field: TermAgent, Value: "bob"}}, []string{"m1"}},
		{"empty agent is not filed", []Term{{Field: TermAgent, Value: ""}}, nil},
		{"app", []Term{{Field: TermApp, Value: "pagure"}}, []string{"m2"}},
		{"exact topic", []Term{{Field: TermTopic, Value: "org.fedoraproject.prod.wiki.article.edit"}}, []string{"m3"}},
		{"topic prefix", []Term{{Field: TermTopic, Value: "org.fedoraproject.prod.b", Prefix: true}}, []string{"m1", "m0"}},
		{"alternatives once each", []Term{{Field: TermUser, Value: "alice"}, {Field: TermPackage, Value: "kernel"}}, []string{"m2", "m1", "m0"}},
		{"no terms", []Term{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ScanHistory(context.Background(), Scan{Terms: tc.terms, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got.Kept), tc.want) {
				t.Errorf("got %v, want %v", keys(got.Kept), tc.want)
			}
		})
	}
}

func TestScanHistoryPagesByCursor(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		terms []Term
	}{
		{"every message", nil},
		{"by terms", []Term{{Field: TermTopic, Value: "org.", Prefix: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for cur := (Cursor{}); ; {
				page, err := s.ScanHistory(ctx, Scan{Terms: tc.terms, Before: cur, Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, keys(page.Kept)...)
				if page.Read < 3 {
					break
				}
				cur = page.Last
			}
			if want := []string{"m3", "m2", "m1", "m0"}; !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestScanHistoryKeepsWhatKeepAccepts(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	got, err := s.ScanHistory(context.Background(), Scan{Limit: 10, Keep: func(env []byte) bool { return strings.Contains(string(env), "pagure") }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got.Kept), []string{"m2"}) || got.Read != 4 || got.Last.ID != 1 {
		t.Errorf("kept %v of %d read, last %+v; want m2 of 4, last the oldest", keys(got.Kept), got.Read, got.Last)
	}
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

func TestTermValuesAreDistinctAndSorted(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	got, err := s.TermValues(context.Background(), TermPackage)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"glibc", "kernel"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
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
	got, err := s.ScanHistory(context.Background(), Scan{Terms: []Term{{Field: TermPackage, Value: "kernel"}}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got.Kept), []string{"old"}) {
		t.Errorf("got %v, want the message stored before the migration", keys(got.Kept))
	}
}
