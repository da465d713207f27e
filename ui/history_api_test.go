package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hark/store"
)

// stored puts n messages into the history, one a minute from t0: topics
// alternate bodhi and koji, users cycle alice, bob, carol, and every
// tenth mentions "kernel".
func stored(t *testing.T, ts *testServer, n int) []store.Message {
	t.Helper()
	return storedFrom(t, ts, n, t0)
}

// storedFrom is stored from another time than t0.
func storedFrom(t *testing.T, ts *testServer, n int, from int64) []store.Message {
	t.Helper()
	var msgs []store.Message
	users := []string{"alice", "bob", "carol"}
	for i := range n {
		topic := "org.fedoraproject.prod.bodhi.update.comment"
		if i%2 == 1 {
			topic = "org.fedoraproject.prod.buildsys.build.state.change"
		}
		text := fmt.Sprintf("build %d", i)
		if i%10 == 0 {
			text = fmt.Sprintf("kernel %d", i)
		}
		key := fmt.Sprintf("2026-msg-%03d", i)
		stamp := float64(from + 60*int64(i))
		env, _ := json.Marshal(map[string]any{"topic": topic, "msg_id": key, "timestamp": stamp, "i": 1, "msg": map[string]any{"text": text}})
		m, err := store.NewMessage(key, topic, stamp, env, map[string]any{
			"app": "bodhi", "usernames": []string{users[i%3]}, "packages": []string{fmt.Sprintf("pkg%d", i%4)}})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if _, err := ts.store.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

const t0 = 1772366400 // 2026-03-01T12:00:00Z

// rawAnswer is datagrepper's /raw answer as a script reads it.
type rawAnswer struct {
	RawMessages []map[string]any `json:"raw_messages"`
	Total       int              `json:"total"`
	Pages       int              `json:"pages"`
	Count       int              `json:"count"`
	Arguments   map[string]any   `json:"arguments"`
}

func getRaw(t *testing.T, c *client, query string) rawAnswer {
	t.Helper()
	return decodeRaw(t, c.get("/api/v1/raw?"+query), query)
}

func decodeRaw(t *testing.T, resp response, query string) rawAnswer {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/raw?%s: %d %s", query, resp.StatusCode, resp.Body)
	}
	var a rawAnswer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRawPagesThroughEveryMessageOnce is a script with an API token
// paging through /raw as datagrepper's documentation shows: every stored
// message comes once.
func TestRawPagesThroughEveryMessageOnce(t *testing.T) {
	ts := newTestServer(t)
	msgs := stored(t, ts, 237)
	resp := ts.login(t, "alice", false).postJSON("/api/v1/tokens", `{"name":"history script"}`)
	var tok struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil || tok.Secret == "" {
		t.Fatalf("create token: %d %s", resp.StatusCode, resp.Body)
	}
	script := ts.client(t)
	get := func(query string) rawAnswer {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/raw?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		return decodeRaw(t, script.do(req), query)
	}
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			seen := map[string]int{}
			var prev float64
			for page := 1; ; page++ {
				a := get(fmt.Sprintf("rows_per_page=20&order=%s&page=%d", order, page))
				if a.Total != len(msgs) || a.Pages != 12 || a.Count != len(a.RawMessages) {
					t.Fatalf("page %d: total %d pages %d count %d of %d; want 237, 12", page, a.Total, a.Pages, a.Count, len(a.RawMessages))
				}
				for _, m := range a.RawMessages {
					seen[m["msg_id"].(string)]++
					stamp := m["timestamp"].(float64)
					if prev != 0 && (order == "asc") != (stamp > prev) {
						t.Errorf("%s order: %v after %v", order, stamp, prev)
					}
					prev = stamp
				}
				if page >= a.Pages {
					break
				}
			}
			for _, m := range msgs {
				if seen[m.Key] != 1 {
					t.Errorf("message %s seen %d times, want 1", m.Key, seen[m.Key])
				}
			}
		})
	}
}

func TestRawFiltersAsDatagrepperDoes(t *testing.T) {
	ts := newTestServer(t)
	stored(t, ts, 60)
	c := ts.login(t, "alice", false)
	for _, tc := range []struct {
		name  string
		query url.Values
		want  int
	}{
		{"everything", url.Values{}, 60},
		{"a topic", url.Values{"topic": {"org.fedoraproject.prod.bodhi.update.comment"}}, 30},
		{"a category", url.Values{"category": {"buildsys"}}, 30},
		{"two users are ORed", url.Values{"user": {"alice", "bob"}}, 40},
		{"a user and a package are ANDed", url.Values{"user": {"alice"}, "package": {"pkg0"}}, 5},
		{"contains", url.Values{"contains": {"kernel"}, "category": {"bodhi"}}, 6},
		{"start and end, both included", url.Values{"start": {fmt.Sprint(t0 + 600)}, "end": {fmt.Sprint(t0 + 1200)}}, 11},
		{"start and delta", url.Values{"start": {fmt.Sprint(t0)}, "delta": {"599"}}, 10},
		{"nobody", url.Values{"user": {"mallory"}}, 0},
		{"not a category", url.Values{"not_category": {"buildsys"}}, 30},
		{"a user, not a package", url.Values{"user": {"alice"}, "not_package": {"pkg0"}}, 15},
		{"dates", url.Values{"start": {"2026-03-01T12:10:00+00:00"}, "end": {"2026-03-01T12:20:00Z"}}, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.query.Set("rows_per_page", "100")
			a := getRaw(t, c, tc.query.Encode())
			if a.Total != tc.want || len(a.RawMessages) != tc.want {
				t.Errorf("total %d, %d messages; want %d", a.Total, len(a.RawMessages), tc.want)
			}
		})
	}
}

// TestRawAnswersInDatagreppersShape checks the answer to the query of
// datagrepper's documentation (rows_per_page=1) key by key.
func TestRawAnswersInDatagreppersShape(t *testing.T) {
	ts := newTestServer(t)
	stored(t, ts, 3)
	c := ts.login(t, "alice", false)
	a := getRaw(t, c, fmt.Sprintf("delta=172800&end=%d&rows_per_page=1", t0+7200))
	if a.Total != 3 || a.Pages != 3 || a.Count != 1 {
		t.Fatalf("total %d pages %d count %d; want 3 3 1", a.Total, a.Pages, a.Count)
	}
	for _, k := range []string{"start", "end", "delta", "page", "rows_per_page", "order", "topics", "categories", "users", "packages", "contains"} {
		if _, ok := a.Arguments[k]; !ok {
			t.Errorf("arguments lack %q: %v", k, a.Arguments)
		}
	}
	if a.Arguments["order"] != "desc" || a.Arguments["delta"] != 172800.0 || a.Arguments["start"] != float64(t0+7200-172800) {
		t.Errorf("arguments %v", a.Arguments)
	}
	m := a.RawMessages[0]
	for _, k := range []string{"i", "msg_id", "topic", "timestamp", "msg", "certificate", "signature", "username", "crypto", "headers", "users", "packages"} {
		if _, ok := m[k]; !ok {
			t.Errorf("message lacks %q: %v", k, m)
		}
	}
	if m["msg_id"] != "2026-msg-002" || m["timestamp"] != float64(t0+120) || fmt.Sprint(m["users"]) != "[carol]" {
		t.Errorf("newest message %v", m)
	}
}

func TestIDAnswersOneMessage(t *testing.T) {
	ts := newTestServer(t)
	stored(t, ts, 3)
	c := ts.login(t, "bob", false)
	resp := c.get("/api/v1/id?id=2026-msg-001")
	var m map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &m) != nil || m["msg_id"] != "2026-msg-001" {
		t.Fatalf("GET /api/v1/id: %d %s", resp.StatusCode, resp.Body)
	}
	for query, want := range map[string]int{"id=nope": http.StatusNotFound, "": http.StatusBadRequest} {
		if resp := c.get("/api/v1/id?" + query); resp.StatusCode != want {
			t.Errorf("GET /api/v1/id?%s: %d, want %d", query, resp.StatusCode, want)
		}
	}
}

func TestRawRefusesBadQueriesAndStrangers(t *testing.T) {
	ts := newTestServer(t)
	c := ts.login(t, "alice", false)
	for query, field := range map[string]string{
		"rows_per_page=101": "rows_per_page", "page=0": "page", "order=sideways": "order", "start=yesterday": "start",
	} {
		resp := c.get("/api/v1/raw?" + query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, field) {
			t.Errorf("GET /api/v1/raw?%s: %d %s; want 400 naming %s", query, resp.StatusCode, resp.Body, field)
		}
	}
	for _, path := range []string{"/api/v1/raw", "/api/v1/id?id=x"} {
		if resp := ts.client(t).get(path); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without logging in: %d, want 401", path, resp.StatusCode)
		}
	}
}

// TestV2SearchAnswersTheDocumentationsExamples runs the queries of
// datagrepper's documentation against /v2/search: counts as the filters
// say, messages in fedora-messaging's shape.
func TestV2SearchAnswersTheDocumentationsExamples(t *testing.T) {
	ts := newTestServer(t)
	// An hour of messages until a minute ago: "delta" counts back from now.
	from := time.Now().Add(-61 * time.Minute).Truncate(time.Second)
	storedFrom(t, ts, 60, from.Unix())
	iso := func(d time.Duration) string { return url.QueryEscape(from.Add(d).UTC().Format(time.RFC3339)) }
	c := ts.login(t, "alice", false)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"delta=172800", 60},
		{"end=" + iso(time.Second) + "&start=" + iso(0), 1},
		{"delta=172800&category=bodhi", 30},
		{"delta=172800&category=bodhi&category=wiki", 30},
		{"delta=172800&user=alice&user=bob", 40},
		{"delta=172800&package=pkg1", 15},
		{"delta=172800&not_category=buildsys", 30},
		{"delta=172800&user=alice&not_category=bodhi", 10},
		{"delta=172800&category=bodhi&category=wiki&user=alice&user=bob", 20},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp := c.get("/api/v1/v2/search?" + tc.query + "&rows_per_page=100")
			var a rawAnswer
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &a) != nil {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if a.Total != tc.want || a.Count != tc.want {
				t.Errorf("total %d count %d; want %d", a.Total, a.Count, tc.want)
			}
			for _, m := range a.RawMessages {
				headers, _ := m["headers"].(map[string]any)
				if m["id"] == nil || m["topic"] == nil || m["body"] == nil || headers["sent-at"] == nil || len(m) != 6 {
					t.Fatalf("message %v; want id, topic, body, headers with sent-at, priority, queue", m)
				}
			}
		})
	}
	resp := c.get("/api/v1/v2/id?id=2026-msg-000")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"sent-at": "`+from.UTC().Format("2006-01-02T15:04:05+00:00")+`"`) {
		t.Errorf("GET /api/v1/v2/id: %d %s", resp.StatusCode, resp.Body)
	}
}
