package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"hark/filters"
	"hark/meta"
	"hark/store"
)

func init() { register((*Server).historyRoutes) }

func (s *Server) historyRoutes(rt *Routes) {
	rt.Page("GET /history", s.show(s.historyView))
	rt.Page("POST /history/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		s.finishWith(w, r, s.resendOwn(r), "/history", s.historyView, "Queued to be sent again.")
	})
	rt.API("GET /history", func(r *http.Request) (any, error) {
		rows, err := s.historyRows(r)
		if err != nil {
			return nil, err
		}
		out := make([]historyJSON, len(rows))
		for i, row := range rows {
			out[i] = row.json()
		}
		return out, nil
	})
	rt.API("POST /history/{id}/resend", func(r *http.Request) (any, error) { return nil, s.resendOwn(r) })
}

// historyRow is one notification sent (or being sent) to the user, with
// the message it was about, why it was sent and what became of it.
type historyRow struct {
	store.Notification
	Message  meta.Description
	Rules    []filters.Verdict
	Reasons  []reason
	Outcomes []store.LogEntry // newest first
}

// historyRows is the user's latest notifications (?limit=, 50 by default).
func (s *Server) historyRows(r *http.Request) ([]historyRow, error) {
	limit, err := queryLimit(r)
	if err != nil {
		return nil, err
	}
	u := userOf(r)
	ns, err := s.store.ListNotifications(r.Context(), store.NotificationQuery{User: u.Name, Limit: limit})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = n.MsgKey
	}
	msgs, err := s.store.MessagesByKey(r.Context(), keys)
	if err != nil {
		return nil, err
	}
	// A notification has a few outcomes (failures, then sent): the log
	// of a few times as many covers the page.
	log, err := s.store.DeliveryLog(r.Context(), store.NotificationQuery{User: u.Name, Limit: 4 * limit})
	if err != nil {
		return nil, err
	}
	outcomes := map[int64][]store.LogEntry{}
	for _, e := range log {
		outcomes[e.NotificationID] = append(outcomes[e.NotificationID], e)
	}
	rows := make([]historyRow, len(ns))
	for i, n := range ns {
		rows[i] = historyRow{Notification: n, Rules: decodeVerdicts(n.Why), Outcomes: outcomes[n.ID]}
		rows[i].Reasons = reasons(rows[i].Rules)
		if m, ok := msgs[n.MsgKey]; ok {
			rows[i].Message = describedAs(m)
		}
	}
	return rows, nil
}

func (s *Server) historyView(r *http.Request) (string, View, error) {
	rows, err := s.historyRows(r)
	return "history.html", View{Title: "History", Data: rows}, err
}

// resendOwn queues the path's dead notification again, if it is the
// user's (or the user is an admin).
func (s *Server) resendOwn(r *http.Request) error {
	n, err := ownObject(r, s.store.NotificationByID, func(n store.Notification) int64 { return n.UserID })
	if err != nil {
		return err
	}
	return s.resend(r, n)
}

// resend queues a dead notification again.
func (s *Server) resend(r *http.Request, n store.Notification) error {
	if n.State != store.StateDead {
		return &Problem{Status: http.StatusConflict, Message: fmt.Sprintf("notification %d is %s: only dead ones are re-sent", n.ID, n.State)}
	}
	_, err := s.store.RequeueDead(r.Context(), []int64{n.ID}, s.now())
	return err
}

// historyJSON is a notification as the API answers it.
type historyJSON struct {
	ID          int64             `json:"id"`
	MsgID       string            `json:"msg_id"`
	Subtitle    string            `json:"subtitle,omitempty"`
	Link        string            `json:"link,omitempty"`
	FilterID    int64             `json:"filter_id,omitempty"`
	Filter      string            `json:"filter"`
	Destination string            `json:"destination"`
	State       store.State       `json:"state"`
	Attempts    int               `json:"attempts"`
	LastError   string            `json:"last_error,omitempty"`
	Created     time.Time         `json:"created"`
	Sent        *time.Time        `json:"sent,omitempty"`
	Rules       []filters.Verdict `json:"rules"`
	Outcomes    []outcomeJSON     `json:"outcomes"`
}

type outcomeJSON struct {
	Outcome store.State `json:"outcome"`
	Detail  string      `json:"detail,omitempty"`
	At      time.Time   `json:"at"`
}

func (row historyRow) json() historyJSON {
	out := historyJSON{
		ID: row.ID, MsgID: row.MsgKey, Subtitle: row.Message.Subtitle, Link: row.Message.Link,
		FilterID: row.FilterID, Filter: row.FilterName, Destination: row.Destination, State: row.State,
		Attempts: row.Attempts, LastError: row.LastError, Created: row.Created, Rules: row.Rules,
		Outcomes: []outcomeJSON{},
	}
	if !row.Sent.IsZero() {
		out.Sent = &row.Sent
	}
	if out.Rules == nil {
		out.Rules = []filters.Verdict{}
	}
	for _, e := range row.Outcomes {
		out.Outcomes = append(out.Outcomes, outcomeJSON{e.Outcome, e.Detail, e.At})
	}
	return out
}

// describedAs is a stored message's description; an unreadable one shows
// as nothing rather than failing the page.
func describedAs(m store.Message) meta.Description {
	var d meta.Description
	json.Unmarshal(m.Description, &d)
	return d
}
