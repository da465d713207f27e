// Package datagreppertest is a datagrepper for tests: an HTTP server
// answering /v2/search, /raw and /v2/id as datagrepper does (the query
// parameters hark uses, paging, the raw_messages/total/pages/count/
// arguments shape, and fedora-messaging or fedmsg message dicts) from
// messages a test adds, as datanommer would have archived them.
package datagreppertest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Message is one archived message, as fedora-messaging published it.
type Message struct {
	ID      string
	Topic   string
	Sent    time.Time
	Headers map[string]any
	Body    any
}

// Server is a running test datagrepper.
type Server struct {
	URL string

	mu       sync.Mutex
	msgs     []Message // by Sent
	requests atomic.Int64
}

// New starts a server, stopped when t ends.
func New(t testing.TB) *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/search", func(w http.ResponseWriter, r *http.Request) { s.search(w, r, true) })
	mux.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) { s.search(w, r, false) })
	mux.HandleFunc("GET /v2/id", s.byID)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/"
	return s
}

// Add archives msgs.
func (s *Server) Add(msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msgs...)
	slices.SortStableFunc(s.msgs, func(a, b Message) int { return a.Sent.Compare(b.Sent) })
}

// Requests is how many queries were answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// v2 is a message as /v2/ endpoints serve it (datanommer's
// as_fedora_message_dict).
func (m Message) v2() map[string]any {
	h := map[string]any{}
	for k, v := range m.Headers {
		h[k] = v
	}
	if _, ok := h["sent-at"]; !ok {
		h["sent-at"] = m.Sent.UTC().Format("2006-01-02T15:04:05.999999+00:00")
	}
	prio, ok := h["priority"]
	if !ok {
		prio = 0
	}
	return map[string]any{"body": m.Body, "headers": h, "id": m.ID, "priority": prio, "queue": nil, "topic": m.Topic}
}

// raw is a message as /raw serves it (datanommer's as_dict).
func (m Message) raw(i int) map[string]any {
	return map[string]any{
		"i": i, "msg_id": m.ID, "topic": m.Topic, "timestamp": float64(m.Sent.Unix()),
		"certificate": nil, "signature": nil, "username": nil, "crypto": nil,
		"msg": m.Body, "headers": m.Headers, "source_name": "datanommer", "source_version": "1.4.0",
		"users": []string{}, "packages": []string{},
	}
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, v2 bool) {
	s.requests.Add(1)
	q := r.URL.Query()
	start, err1 := seconds(q.Get("start"), 0)
	end, err2 := seconds(q.Get("end"), float64(time.Now().Unix()))
	page, err3 := number(q.Get("page"), 1)
	rows, err4 := number(q.Get("rows_per_page"), 25)
	order := q.Get("order")
	if order == "" {
		order = "desc"
	}
	switch {
	case err1 != nil || err2 != nil || err3 != nil || err4 != nil:
		http.Error(w, "bad time or number", http.StatusBadRequest)
		return
	case page < 1:
		http.Error(w, "page must be > 0", http.StatusBadRequest)
		return
	case rows > 100:
		http.Error(w, "rows_per_page must be <= 100", http.StatusBadRequest)
		return
	case order != "asc" && order != "desc":
		http.Error(w, "order must be either 'desc' or 'asc'", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	var hits []Message
	for _, m := range s.msgs {
		ts := float64(m.Sent.UnixMicro()) / 1e6
		if ts >= start && ts <= end && (len(q["topic"]) == 0 || slices.Contains(q["topic"], m.Topic)) {
			hits = append(hits, m)
		}
	}
	s.mu.Unlock()
	if order == "desc" {
		slices.Reverse(hits)
	}
	total := len(hits)
	from := min((page-1)*rows, total)
	hits = hits[from:min(from+rows, total)]
	out := make([]map[string]any, len(hits))
	for i, m := range hits {
		if v2 {
			out[i] = m.v2()
		} else {
			out[i] = m.raw(from + i + 1)
		}
	}
	empty := []string{}
	writeJSON(w, map[string]any{
		"raw_messages": out,
		"total":        total,
		"pages":        int(math.Ceil(float64(total) / float64(rows))),
		"count":        len(out),
		"arguments": map[string]any{
			"start": start, "end": end, "delta": end - start, "page": page, "rows_per_page": rows, "order": order,
			"topics": nonNil(q["topic"]), "users": empty, "packages": empty, "categories": empty, "agents": empty,
			"contains": empty, "not_users": empty, "not_packages": empty, "not_categories": empty,
			"not_topics": empty, "not_agents": empty, "meta": empty,
		},
	})
}

func (s *Server) byID(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	id := r.URL.Query().Get("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.ID == id {
			writeJSON(w, m.v2())
			return
		}
	}
	http.NotFound(w, r)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func seconds(v string, def float64) (float64, error) {
	if v == "" {
		return def, nil
	}
	return strconv.ParseFloat(v, 64)
}

func number(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("encode answer: %v", err))
	}
}

// FromFedoraMessaging reads one line of shared/data/fm-messages.jsonl
// (id, topic, headers, body) as an archived message.
func FromFedoraMessaging(line []byte) (Message, error) {
	var m struct {
		ID      string         `json:"id"`
		Topic   string         `json:"topic"`
		Headers map[string]any `json:"headers"`
		Body    any            `json:"body"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return Message{}, fmt.Errorf("read fedora-messaging message: %w", err)
	}
	sent, _ := m.Headers["sent-at"].(string)
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(sent))
	if err != nil {
		return Message{}, fmt.Errorf("read fedora-messaging message %s: sent-at %q: %w", m.ID, sent, err)
	}
	return Message{ID: m.ID, Topic: m.Topic, Sent: t, Headers: m.Headers, Body: m.Body}, nil
}
