package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"hark/store"
)

// The history API answers datagrepper's /raw, /v2/search, /id and /v2/id
// queries from hark's
// own history, in datagrepper's shapes, so that scripts written for
// datagrepper work against a hark instance. Like the preview, which
// reads the same history, it is open to every logged-in user and API
// token.
func init() { register((*Server).historyAPIRoutes) }

func (s *Server) historyAPIRoutes(rt *Routes) {
	rt.API("GET /raw", func(r *http.Request) (any, error) { return s.searchHistory(r, rawMessage) })
	rt.API("GET /v2/search", func(r *http.Request) (any, error) { return s.searchHistory(r, fedoraMessage) })
	rt.API("GET /id", func(r *http.Request) (any, error) { return s.messageByID(r, rawMessage) })
	rt.API("GET /v2/id", func(r *http.Request) (any, error) { return s.messageByID(r, fedoraMessage) })
}

// A messageShape shows a stored message as one of datagrepper's
// endpoints does; i is its rank in the answer.
type messageShape func(m store.Message, i int) map[string]any

// rawQuery is a /raw query: each list is ORed within itself, and the
// lists, and the negations of the not_ lists, are ANDed, as in
// datagrepper.
type rawQuery struct {
	Start         *float64 `json:"start"`
	End           float64  `json:"end"`
	Delta         *float64 `json:"delta"`
	Topics        []string `json:"topics"`
	Categories    []string `json:"categories"`
	Users         []string `json:"users"`
	Packages      []string `json:"packages"`
	Agents        []string `json:"agents"`
	Contains      []string `json:"contains"`
	NotTopics     []string `json:"not_topics"`
	NotCategories []string `json:"not_categories"`
	NotUsers      []string `json:"not_users"`
	NotPackages   []string `json:"not_packages"`
	NotAgents     []string `json:"not_agents"`
	Page          int      `json:"page"`
	RowsPerPage   int      `json:"rows_per_page"`
	Order         string   `json:"order"`
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
)

func (s *Server) searchHistory(r *http.Request, shape messageShape) (any, error) {
	q, err := parseRawQuery(r.URL.Query(), s.now())
	if err != nil {
		return nil, err
	}
	hq := store.HistoryQuery{
		End: fromSeconds(q.End), Topics: q.Topics, Categories: q.Categories, Users: q.Users, Packages: q.Packages,
		Agents: q.Agents, Contains: q.Contains, NotTopics: q.NotTopics, NotCategories: q.NotCategories,
		NotUsers: q.NotUsers, NotPackages: q.NotPackages, NotAgents: q.NotAgents,
		Ascending: q.Order == "asc", Offset: (q.Page - 1) * q.RowsPerPage, Limit: q.RowsPerPage,
	}
	if q.Start != nil {
		hq.Start = fromSeconds(*q.Start)
	}
	total, msgs, err := s.store.QueryHistory(r.Context(), hq)
	if err != nil {
		return nil, err
	}
	out := rawPage{Total: total, Pages: (total + q.RowsPerPage - 1) / q.RowsPerPage, Count: len(msgs), Arguments: q,
		RawMessages: make([]map[string]any, len(msgs))}
	for i, m := range msgs {
		out.RawMessages[i] = shape(m, hq.Offset+i+1)
	}
	return out, nil
}

func (s *Server) messageByID(r *http.Request, shape messageShape) (any, error) {
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
	return shape(m, 0), nil
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

// fedoraMessage is m as datagrepper's /v2/ endpoints show a message:
// fedora-messaging's dict, its sent-at header made from the timestamp
// when the message (from ZeroMQ) has none.
func fedoraMessage(m store.Message, _ int) map[string]any {
	env := rawMessage(m, 0)
	headers, _ := env["headers"].(map[string]any)
	if headers == nil {
		headers = map[string]any{}
	}
	if _, ok := headers["sent-at"]; !ok {
		headers["sent-at"] = m.Timestamp.UTC().Format("2006-01-02T15:04:05.999999+00:00")
	}
	prio, ok := headers["priority"]
	if !ok {
		prio = 0
	}
	return map[string]any{"body": env["msg"], "headers": headers, "id": m.Key, "priority": prio, "queue": nil, "topic": m.Topic}
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
		Agents: list("agent"), Contains: list("contains"), NotTopics: list("not_topic"), NotCategories: list("not_category"),
		NotUsers: list("not_user"), NotPackages: list("not_package"), NotAgents: list("not_agent"),
		Page: 1, RowsPerPage: defaultRowsPerPage, Order: "desc"}
	num := func(k string) (*float64, error) {
		s := get(k)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			if k == "delta" {
				return nil, invalid(k, "%q is not a number of seconds", s)
			}
			// Datagrepper also takes dates, as its documentation's
			// examples do (2021-06-25T06:11:40+00:00).
			t, terr := parseDate(s)
			if terr != nil {
				return nil, invalid(k, "%q is neither Unix seconds nor a date like 2021-06-25T06:11:40+00:00", s)
			}
			f = float64(t.UnixMicro()) / 1e6
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

// parseDate reads an ISO 8601 date and time, or a date alone (UTC).
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a date")
}

func fromSeconds(s float64) time.Time { return time.UnixMicro(int64(math.Round(s * 1e6))) }
