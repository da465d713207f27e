package ui

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/store"
)

// The history API answers datagrepper's /raw and /id queries from hark's
// own history, in datagrepper's shapes, so that scripts written for
// datagrepper work against a hark instance. Like the preview, which
// reads the same history, it is open to every logged-in user and API
// token.
func init() { register((*Server).historyAPIRoutes) }

func (s *Server) historyAPIRoutes(rt *Routes) {
	rt.API("GET /raw", s.rawHistory)
	rt.API("GET /id", s.messageByID)
}

// rawQuery is a /raw query: each list is ORed within itself, and the
// lists are ANDed, as in datagrepper.
type rawQuery struct {
	Start       *float64 `json:"start"`
	End         float64  `json:"end"`
	Delta       *float64 `json:"delta"`
	Topics      []string `json:"topics"`
	Categories  []string `json:"categories"`
	Users       []string `json:"users"`
	Packages    []string `json:"packages"`
	Agents      []string `json:"agents"`
	Contains    []string `json:"contains"`
	Page        int      `json:"page"`
	RowsPerPage int      `json:"rows_per_page"`
	Order       string   `json:"order"`
}

// rawPage is datagrepper's answer to /raw.
type rawPage struct {
	RawMessages []map[string]any `json:"raw_messages"`
	Total       int              `json:"total"`
	Pages       int              `json:"pages"`
	Count       int              `json:"count"`
	Arguments   rawQuery         `json:"arguments"`
}

// Datagrepper's paging bounds.
const (
	defaultRowsPerPage = 25
	maxRowsPerPage     = 100
	// scanChunk is how many history rows one read takes.
	scanChunk = 1000
)

func (s *Server) rawHistory(r *http.Request) (any, error) {
	q, err := parseRawQuery(r.URL.Query(), s.now())
	if err != nil {
		return nil, err
	}
	// Matches are kept as keys alone; only the page's messages are read
	// whole, so a query over the whole history holds little.
	var keys []string
	scan := store.Scan{Terms: q.narrowing(), Limit: scanChunk, Before: store.Cursor{Timestamp: fromSeconds(q.End), ID: math.MaxInt64}}
	if len(q.Contains) > 0 {
		scan.Keep = func(env []byte) bool {
			return slices.ContainsFunc(q.Contains, func(c string) bool { return bytes.Contains(env, []byte(c)) })
		}
	}
	start := time.Time{}
	if q.Start != nil {
		start = fromSeconds(*q.Start)
	}
	for {
		got, err := s.store.ScanHistory(r.Context(), scan)
		if err != nil {
			return nil, err
		}
		for _, m := range got.Kept {
			if !m.Timestamp.Before(start) && q.matches(m) {
				keys = append(keys, m.Key)
			}
		}
		if got.Read < scan.Limit || got.Last.Timestamp.Before(start) {
			break
		}
		scan.Before = got.Last
	}
	if q.Order == "asc" {
		slices.Reverse(keys)
	}
	out := rawPage{Total: len(keys), Pages: (len(keys) + q.RowsPerPage - 1) / q.RowsPerPage, Arguments: q, RawMessages: []map[string]any{}}
	from := min((q.Page-1)*q.RowsPerPage, len(keys))
	keys = keys[from:min(from+q.RowsPerPage, len(keys))]
	msgs, err := s.store.MessagesByKey(r.Context(), keys)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if m, ok := msgs[k]; ok { // pruned meanwhile: left out
			out.RawMessages = append(out.RawMessages, rawMessage(m, from+i+1))
		}
	}
	out.Count = len(out.RawMessages)
	return out, nil
}

func (s *Server) messageByID(r *http.Request) (any, error) {
	id := r.URL.Query().Get("id")
	if id == "" {
		return nil, invalid("id", "required: the msg_id of a message")
	}
	msgs, err := s.store.MessagesByKey(r.Context(), []string{id})
	if err != nil {
		return nil, err
	}
	m, ok := msgs[id]
	if !ok {
		return nil, errNotFound
	}
	return rawMessage(m, 0), nil
}

// rawMessage is m as datagrepper's /raw shows a message: the fedmsg
// envelope with datanommer's users and packages; i is its rank in the
// answer when the envelope has none.
func rawMessage(m store.Message, i int) map[string]any {
	out := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(m.Envelope))
	dec.UseNumber() // numbers come back as they were received
	if err := dec.Decode(&out); err != nil {
		out = map[string]any{"msg": nil}
	}
	var d struct {
		Usernames []string `json:"usernames"`
		Packages  []string `json:"packages"`
	}
	json.Unmarshal(m.Description, &d) // a description that does not decode names nobody
	out["topic"] = m.Topic
	out["msg_id"] = m.Key
	if _, ok := out["timestamp"]; !ok {
		out["timestamp"] = float64(m.Timestamp.UnixMicro()) / 1e6
	}
	if _, ok := out["i"]; !ok {
		out["i"] = i
	}
	for _, k := range []string{"certificate", "signature", "username", "crypto", "headers"} {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	out["users"] = sortedNonNil(d.Usernames)
	out["packages"] = sortedNonNil(d.Packages)
	return out
}

func sortedNonNil(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	if v == nil {
		return []string{}
	}
	return v
}

// parseRawQuery reads datagrepper's /raw parameters. Times are Unix
// seconds; without start, end and delta the whole history is read.
func parseRawQuery(v map[string][]string, now time.Time) (rawQuery, error) {
	get := func(k string) string {
		if len(v[k]) == 0 {
			return ""
		}
		return v[k][0]
	}
	list := func(k string) []string {
		if v[k] == nil {
			return []string{}
		}
		return v[k]
	}
	q := rawQuery{Topics: list("topic"), Categories: list("category"), Users: list("user"), Packages: list("package"),
		Agents: list("agent"), Contains: list("contains"), Page: 1, RowsPerPage: defaultRowsPerPage, Order: "desc"}
	num := func(k string) (*float64, error) {
		s := get(k)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, invalid(k, "%q is not a time in Unix seconds", s)
		}
		return &f, nil
	}
	start, err := num("start")
	if err != nil {
		return q, err
	}
	end, err := num("end")
	if err != nil {
		return q, err
	}
	delta, err := num("delta")
	if err != nil {
		return q, err
	}
	nowSec := float64(now.UnixMicro()) / 1e6
	switch {
	case start != nil && end != nil:
	case start != nil && delta != nil:
		end = ptr(*start + *delta)
	case end != nil && delta != nil:
		start = ptr(*end - *delta)
	case delta != nil:
		end, start = ptr(nowSec), ptr(nowSec-*delta)
	case end == nil:
		end = ptr(nowSec)
	}
	q.Start, q.End = start, *end
	if start != nil {
		q.Delta = ptr(*end - *start)
	}
	for k, dst := range map[string]*int{"page": &q.Page, "rows_per_page": &q.RowsPerPage} {
		if s := get(k); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return q, invalid(k, "%q is not a number of at least 1", s)
			}
			*dst = n
		}
	}
	if q.RowsPerPage > maxRowsPerPage {
		return q, invalid("rows_per_page", "must be <= %d", maxRowsPerPage)
	}
	if o := get("order"); o != "" {
		if o != "asc" && o != "desc" {
			return q, invalid("order", "must be either 'desc' or 'asc'")
		}
		q.Order = o
	}
	return q, nil
}

func ptr[T any](v T) *T { return &v }

func fromSeconds(s float64) time.Time { return time.UnixMicro(int64(math.Round(s * 1e6))) }

// narrowing is the terms of the history's index that the query can
// read through: the first list of those the index files messages under.
func (q rawQuery) narrowing() []store.Term {
	for _, c := range []struct {
		field  string
		values []string
	}{{store.TermUser, q.Users}, {store.TermPackage, q.Packages}, {store.TermTopic, q.Topics}, {store.TermAgent, q.Agents}} {
		if len(c.values) > 0 {
			terms := make([]store.Term, len(c.values))
			for i, v := range c.values {
				terms[i] = store.Term{Field: c.field, Value: v}
			}
			return terms
		}
	}
	return nil
}

// matches tests every list but contains (tested on the stored text).
func (q rawQuery) matches(m store.Message) bool {
	var d struct {
		Agent     string   `json:"agent"`
		Usernames []string `json:"usernames"`
		Packages  []string `json:"packages"`
	}
	json.Unmarshal(m.Description, &d) // a description that does not decode names nobody
	anyOf := func(want []string, have ...string) bool {
		return len(want) == 0 || slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) })
	}
	return anyOf(q.Topics, m.Topic) && anyOf(q.Categories, category(m.Topic)) && anyOf(q.Users, d.Usernames...) &&
		anyOf(q.Packages, d.Packages...) && anyOf(q.Agents, d.Agent)
}

// category is datagrepper's category of a topic: the part after the
// prefix and environment (org.fedoraproject.prod.CATEGORY.…).
func category(topic string) string {
	parts := strings.SplitN(topic, ".", 5)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}
