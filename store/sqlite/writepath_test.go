package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"hark/bus"
	"hark/meta"

	"hark/store"
)

// sampleMessages is every envelope of the repository's bus samples,
// described as the router describes them.
func sampleMessages(t *testing.T) []store.Message {
	t.Helper()
	d, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	var msgs []store.Message
	for line := 1; sc.Scan(); line++ {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			continue // samples the bus refuses are its tests' business
		}
		m, err := store.NewMessage(fmt.Sprintf("s%d", line), env.Topic, env.Timestamp, bus.CompactUTF8(env.Fields), d.Describe(env))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		t.Fatal("no samples decoded")
	}
	return msgs
}

// termRows reads query's (field, value, ts, msg_id) rows, sorted.
func termRows(t *testing.T, s *SQLite, query string) []string {
	t.Helper()
	rows, err := s.r.Query(query)
	got, err := collect(rows, err, func(row scanner) (string, error) {
		var field, value string
		var ts, id int64
		err := row.Scan(&field, &value, &ts, &id)
		return fmt.Sprintf("%s=%s@%d/%d", field, value, ts, id), err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return slices.Compact(got)
}

// The delete trigger removes a message's terms by the json_tree rule;
// the writer files them from Go. Both must name the same rows, or
// pruning leaves terms behind.
func TestTermsFiledFromGoAreTheDeleteTriggersTerms(t *testing.T) {
	s := openTest(t)
	msgs := append(sampleMessages(t), termMessagesFixture()...)
	if _, err := s.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	filed := termRows(t, s, `SELECT field, value, ts, msg_id FROM message_terms`)
	want := termRows(t, s, messageTerms("m", "messages m"))
	if !slices.Equal(filed, want) {
		t.Errorf("filed %d terms, the trigger's rule names %d:\nfiled %v\nwant  %v", len(filed), len(want), filed, want)
	}
}

// termMessagesFixture is the odd descriptions termMessages stores: a
// null list, an empty agent, text that is not JSON, fields of the wrong
// type.
func termMessagesFixture() []store.Message {
	var msgs []store.Message
	for i, d := range []string{`{"app":"pagure","packages":null,"usernames":["alice",""],"agent":""}`, `not json`, ``,
		`{"app":"bodhi","packages":"x","usernames":["bob",7,"carol"],"agent":{"name":"x"}}`} {
		msgs = append(msgs, store.Message{Key: fmt.Sprintf("odd%d", i), Topic: "org.fedoraproject.prod.pagure.pull-request.new",
			Timestamp: time.Unix(1700000000, 0), Envelope: json.RawMessage(`{}`), Description: json.RawMessage(d)})
	}
	return msgs
}

func TestNotificationsWithTheSameWhyShareOneRow(t *testing.T) {
	s := openTest(t)
	f := seed(t, s, "alice", false)
	ctx := context.Background()
	for _, batch := range [][]store.Accepted{{f.accepted("m1"), f.accepted("m2")}, {f.accepted("m3")}} {
		if _, err := s.Enqueue(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	var whys int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM whys`).Scan(&whys); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ListNotifications(ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := string(f.accepted("").Matches[0].Why)
	for _, n := range ns {
		if string(n.Why) != want {
			t.Errorf("notification %s: why %s, want %s", n.MsgKey, n.Why, want)
		}
	}
	if whys != 1 || len(ns) != 3 {
		t.Errorf("%d whys for %d notifications, want 1 for 3", whys, len(ns))
	}
}

// TestMigrationKeepsNotificationsQueuedBefore runs schemaV4's rebuild of
// the notifications table over a row stored by version 3.
func TestMigrationKeepsNotificationsQueuedBefore(t *testing.T) {
	s := openAfter(t, 3,
		`INSERT INTO users (id, name, created) VALUES (1, 'alice', 1)`,
		`INSERT INTO destinations (id, user_id, kind, address, confirmed, created) VALUES (1, 1, 'email', 'a@example.org', 1, 1)`,
		`INSERT INTO filters (id, user_id, name, position, created, updated) VALUES (1, 1, 'f', 0, 1, 1)`,
		`INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, next_attempt, why, created)
			VALUES ('old', 1, 1, 1, 'queued', 0, '[{"kind":"topic"}]', 1)`)
	ns, err := s.Claim(context.Background(), 1, time.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].MsgKey != "old" || ns[0].FilterID != 1 || string(ns[0].Why) != `[{"kind":"topic"}]` {
		t.Errorf("claimed %+v, want the notification queued before the migration", ns)
	}
}

// openAfter opens a database made by the first version migrations, with
// rows written by then, and migrated by Open to the current version.
func openAfter(t *testing.T, version int, rows ...string) *SQLite {
	t.Helper()
	path := t.TempDir() + "/hark.db"
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	queries := append([]string{createSchemaVersion}, migrations[1:version+1]...)
	queries = append(queries, fmt.Sprintf(`UPDATE schema_version SET version = %d`, version))
	for _, q := range append(queries, rows...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	return openAt(t, path)
}

// describedBy is a description that says what it is filed under, as
// meta.Description does.
type describedBy struct {
	App       string   `json:"app"`
	Agent     string   `json:"agent"`
	Usernames []string `json:"usernames"`
	Packages  []string `json:"packages"`
}

func (d *describedBy) FiledUnder() (string, string, []string, []string) {
	return d.App, d.Agent, d.Usernames, d.Packages
}

// A description that files itself must be filed under the same terms as
// its JSON decodes to.
func TestFiledUnderMatchesTheDescriptionsJSON(t *testing.T) {
	d := &describedBy{App: "bodhi", Agent: "ralph", Usernames: []string{"ralph", "toshio"}, Packages: []string{"fedmsg"}}
	m, err := store.NewMessage("k", "org.fedoraproject.prod.bodhi.update.comment", 1700000000, []byte("{}"), d)
	if _, filed := m.FiledUnder(); err != nil || !filed {
		t.Fatalf("NewMessage: %v, filed %v", err, filed)
	}
	// The same record, as a store reads it back: without what NewMessage
	// was told.
	fromJSON := store.Message{Key: m.Key, Topic: m.Topic, Timestamp: m.Timestamp, Envelope: m.Envelope, Description: m.Description}
	if got, want := appendTerms(nil, 7, m), appendTerms(nil, 7, fromJSON); !reflect.DeepEqual(got, want) {
		t.Errorf("filed terms %v, from JSON %v", got, want)
	}
}
