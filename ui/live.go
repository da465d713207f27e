package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hark/store"
)

// The live pages: a user's notifications as they are made (/live) and,
// for admins, every message on the bus (/admin/bus), both fed by
// Server-Sent Events. Each event's id is the row's id in the store, so a
// browser that reconnects (EventSource does by itself) sends the last id
// it saw as Last-Event-ID and gets everything after it: nothing is missed
// across a dropped connection. The streams read the store, the one place
// notifications and messages are committed: a user's stream when the
// store's change feed says notifications were queued (by whichever
// process), at most every liveGap; the bus stream every liveEvery, since
// a message that matched nothing changes nothing the feed tells of.

func init() { register((*Server).liveRoutes) }

const (
	// liveEvery is how often the bus stream looks for new rows.
	liveEvery = 500 * time.Millisecond
	// liveGap is the least time between two looks of a user's stream:
	// the feed tells of every commit that queued anything for anyone.
	liveGap = 100 * time.Millisecond
	// liveBacklog bounds what one look sends: a browser gone for longer
	// than that many rows resumes with the newest.
	liveBacklog = 200
	// livePing keeps proxies from closing an idle stream.
	livePing = 20 * time.Second
)

func (s *Server) liveRoutes(rt *Routes) {
	rt.Page("GET /live", s.show(func(*http.Request) (string, View, error) {
		return "live.html", View{Title: "Live"}, nil
	}))
	rt.Page("GET /live/events", func(w http.ResponseWriter, r *http.Request) {
		s.stream(w, r, s.userEvents(userOf(r).Name), s.whenQueued(r.Context()))
	})
	rt.AdminPage("GET /admin/bus", s.show(func(r *http.Request) (string, View, error) {
		return "bus.html", View{Title: "Bus", Form: map[string]string{"topic": r.URL.Query().Get("topic")}}, nil
	}))
	rt.AdminPage("GET /admin/bus/events", func(w http.ResponseWriter, r *http.Request) {
		s.stream(w, r, s.busEvents(r.URL.Query().Get("topic")), every(liveEvery))
	})
}

// liveEvent is one event of a stream.
type liveEvent struct {
	ID   int64
	Data any
}

// source returns the events after id, oldest first; with first set
// (a new stream without Last-Event-ID) only the id to start after.
type source func(r *http.Request, after int64, first bool) ([]liveEvent, int64, error)

// waiter returns when its stream may have news, or when ctx is done:
// then with ctx's error.
type waiter func(ctx context.Context) error

// every is a waiter that returns every d.
func every(d time.Duration) waiter {
	return func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
}

// whenQueued is a waiter that returns when the store's change feed says
// notifications were queued since it last returned, liveGap after that
// at the soonest. The feed is followed from now: the stream's first
// look reads what came before.
func (s *Server) whenQueued(ctx context.Context) waiter {
	cursor := store.FollowFrom(ctx, s.store)
	gap := every(liveGap)
	return func(ctx context.Context) error {
		if err := gap(ctx); err != nil {
			return err
		}
		for {
			if err := s.store.WaitChanges(ctx, cursor); err != nil {
				return err
			}
			cs, next, err := s.store.Changes(ctx, cursor, 1000)
			if err != nil {
				return nil // the stream's read reports what fails
			}
			cursor = next
			if slices.ContainsFunc(cs, func(c store.Change) bool { return c.Type == store.ChangeQueued }) {
				return nil
			}
		}
	}
}

// stream serves src as Server-Sent Events until the client goes away,
// reading it whenever wait returns, and at least every livePing.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, src source, wait waiter) {
	rc := http.NewResponseController(w)
	last := int64(-1)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id >= 0 {
			last = id
			s.log.Info("live stream resumed", "path", r.URL.Path, "after", id)
		}
	}
	if last < 0 { // a new stream starts after what exists now
		_, newest, err := src(r, 0, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		last = newest
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 1000\n: hark live\n\n")
	pinged := time.Now()
	for {
		events, newest, err := src(r, last, false)
		if err != nil {
			s.log.Warn("live stream", "err", err)
			return // the browser reconnects with its Last-Event-ID
		}
		for _, e := range events {
			if data, err := json.Marshal(e.Data); err == nil {
				fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.ID, data)
			}
		}
		last = max(last, newest)
		if time.Since(pinged) > livePing {
			fmt.Fprint(w, ": ping\n\n")
			pinged = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return
		}
		waited, stop := context.WithTimeout(r.Context(), livePing)
		err = wait(waited)
		stop()
		if r.Context().Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("live stream", "err", err)
			return // the browser reconnects with its Last-Event-ID
		}
	}
}

// liveNotification is a notification as the live page shows it.
type liveNotification struct {
	ID       int64     `json:"id"`
	MsgID    string    `json:"msg_id"`
	Topic    string    `json:"topic"`
	App      string    `json:"app"`
	Summary  string    `json:"summary"`
	URL      string    `json:"url,omitempty"`
	Filter   string    `json:"filter"`
	Created  time.Time `json:"created"`
	Severity string    `json:"severity,omitempty"`
}

// userEvents is user's notifications as they are queued.
func (s *Server) userEvents(user string) source {
	return func(r *http.Request, after int64, first bool) ([]liveEvent, int64, error) {
		ns, err := s.store.ListNotifications(r.Context(), store.NotificationQuery{User: user, Limit: liveBacklog})
		if err != nil {
			return nil, after, err
		}
		if first {
			if len(ns) > 0 {
				return nil, ns[0].ID, nil // newest first
			}
			return nil, 0, nil
		}
		ns = slices.DeleteFunc(ns, func(n store.Notification) bool { return n.ID <= after })
		if len(ns) == 0 {
			return nil, after, nil
		}
		keys := make([]string, len(ns))
		for i, n := range ns {
			keys[i] = n.MsgKey
		}
		msgs, err := s.store.MessagesByKey(r.Context(), keys)
		if err != nil {
			return nil, after, err
		}
		events := make([]liveEvent, 0, len(ns))
		for i := len(ns) - 1; i >= 0; i-- { // oldest first
			n := ns[i]
			m := msgs[n.MsgKey]
			d := describedAs(m)
			events = append(events, liveEvent{ID: n.ID, Data: liveNotification{
				ID: n.ID, MsgID: n.MsgKey, Topic: m.Topic, App: d.App, Summary: cmp.Or(d.Subtitle, d.Title, m.Topic, n.MsgKey),
				URL: d.Link, Filter: n.FilterName, Created: n.Created,
			}})
		}
		return events, ns[0].ID, nil
	}
}

// liveMessage is a bus message as the admin's bus page shows it.
type liveMessage struct {
	ID       int64     `json:"id"`
	MsgID    string    `json:"msg_id"`
	Topic    string    `json:"topic"`
	App      string    `json:"app"`
	Summary  string    `json:"summary"`
	URL      string    `json:"url,omitempty"`
	Time     time.Time `json:"time"`
	Received time.Time `json:"received"`
}

// busEvents is every message hark stores from the bus, those whose topic
// contains topic when it is not "".
func (s *Server) busEvents(topic string) source {
	return func(r *http.Request, after int64, first bool) ([]liveEvent, int64, error) {
		_, ms, err := s.store.QueryHistory(r.Context(), store.HistoryQuery{Limit: liveBacklog})
		if err != nil {
			return nil, after, err
		}
		newest := after
		for _, m := range ms {
			newest = max(newest, m.ID)
		}
		if first {
			return nil, newest, nil
		}
		var events []liveEvent
		for i := len(ms) - 1; i >= 0; i-- { // oldest first
			m := ms[i]
			if m.ID <= after || !strings.Contains(m.Topic, topic) {
				continue
			}
			d := describedAs(m)
			events = append(events, liveEvent{ID: m.ID, Data: liveMessage{
				ID: m.ID, MsgID: m.Key, Topic: m.Topic, App: d.App, Summary: cmp.Or(d.Subtitle, d.Title, m.Topic),
				URL: d.Link, Time: m.Timestamp, Received: m.Received,
			}})
		}
		slices.SortFunc(events, func(a, b liveEvent) int { return int(a.ID - b.ID) })
		return events, newest, nil
	}
}
