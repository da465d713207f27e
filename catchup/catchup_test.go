package catchup

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"hark/bus"
	"hark/catchup/datagreppertest"
)

// base is when the archived test messages start, one every 10 seconds.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// archive is the real fedora-messaging messages of testdata, re-dated one
// every 10 seconds from base, archived in a test datagrepper.
func archive(t *testing.T) (*datagreppertest.Server, []datagreppertest.Message) {
	t.Helper()
	f, err := os.Open("../testdata/fm-messages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []datagreppertest.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		m, err := datagreppertest.FromFedoraMessaging(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		m.Sent = base.Add(time.Duration(len(msgs)) * 10 * time.Second)
		m.Headers["sent-at"] = m.Sent.Format("2006-01-02T15:04:05+00:00")
		msgs = append(msgs, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	dg := datagreppertest.New(t)
	dg.Add(msgs...)
	return dg, msgs
}

func TestWindowHandsEveryMessageOnceAcrossPagesAndOverlappingSlices(t *testing.T) {
	dg, msgs := archive(t)
	c := &Client{BaseURL: dg.URL, RowsPerPage: 7, Slice: 10 * time.Minute, Overlap: 2 * time.Minute, Limiter: rate.NewLimiter(rate.Inf, 1)}
	got := map[string]int{}
	var order []time.Time
	last := msgs[len(msgs)-1].Sent
	n, err := c.Window(context.Background(), base, last.Add(time.Second), func(env *bus.Envelope) error {
		got[env.Key()]++
		order = append(order, time.UnixMicro(int64(env.Timestamp*1e6)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(msgs) || len(got) != len(msgs) {
		t.Errorf("handed %d messages, %d distinct; want %d", n, len(got), len(msgs))
	}
	for _, m := range msgs {
		if got[m.ID] != 1 {
			t.Errorf("message %s handed %d times, want 1", m.ID, got[m.ID])
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i].Before(order[i-1]) {
			t.Fatalf("message %d (%s) handed after a later one (%s)", i, order[i], order[i-1])
		}
	}
	// 61 minutes in slices of 10 is 7 slices; 369 messages in pages of 7
	// plus the overlaps' repeats.
	if r := dg.Requests(); r < int64(len(msgs)/7) || r > int64(len(msgs)/7+7*3) {
		t.Errorf("%d requests; want about %d pages", r, len(msgs)/7)
	}
}

func TestWindowRespectsTheRateLimit(t *testing.T) {
	dg, msgs := archive(t)
	// Three requests now, the next in an hour: the catch-up sends three
	// and gives up rather than outrun its budget.
	c := &Client{BaseURL: dg.URL, RowsPerPage: 10, Limiter: rate.NewLimiter(rate.Every(time.Hour), 3)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := c.Window(ctx, base, msgs[len(msgs)-1].Sent, func(*bus.Envelope) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "rate") {
		t.Errorf("Window error %v; want the rate limit's", err)
	}
	if dg.Requests() != 3 || n != 30 {
		t.Errorf("%d requests, %d messages; want 3 and 30", dg.Requests(), n)
	}
}

func TestEnvelopeReadsBothShapes(t *testing.T) {
	v2 := `{"body": {"n": 1}, "headers": {"sent-at": "2026-03-01T12:00:00+00:00", "fedora_messaging_severity": 30,
		"fedora_messaging_user_alice": true, "priority": 0}, "id": "abc", "priority": 0, "queue": null,
		"topic": "org.fedoraproject.prod.stream.tick"}`
	raw := `{"i": 4, "msg_id": "abc", "topic": "org.fedoraproject.prod.stream.tick", "timestamp": 1772366400.0,
		"certificate": null, "signature": null, "username": null, "crypto": null, "msg": {"n": 1},
		"headers": null, "source_name": "datanommer", "source_version": "1.4.0", "users": [], "packages": []}`
	for _, tc := range []struct{ name, text string }{{"v2/search", v2}, {"raw", raw}} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Envelope(json.RawMessage(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if env.Key() != "abc" || env.Topic != "org.fedoraproject.prod.stream.tick" || env.Timestamp != 1772366400 {
				t.Errorf("key %q topic %q timestamp %v", env.Key(), env.Topic, env.Timestamp)
			}
		})
	}
	env, _ := Envelope(json.RawMessage(v2))
	if env.Severity != bus.SeverityWarning || env.Objects == nil || len(env.Objects.Users) != 1 {
		t.Errorf("severity %d objects %+v; want the headers' warning and alice", env.Severity, env.Objects)
	}
	if _, err := Envelope(json.RawMessage(`{"id": "x"}`)); err == nil {
		t.Error("a message without topic or body was accepted")
	}
}

// collector is a router handle that records what it is given.
type collector struct {
	mu   sync.Mutex
	keys []string
}

func (c *collector) handle(_ context.Context, env *bus.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, env.Key())
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

func TestSourceCatchesUpFromTheNewestStoredMessage(t *testing.T) {
	dg, msgs := archive(t)
	c := &Client{BaseURL: dg.URL, Limiter: rate.NewLimiter(rate.Inf, 1)}
	newest := msgs[99].Sent // the 100th was stored before the outage
	now := msgs[199].Sent.Add(time.Second)
	src := New(Options{Fetcher: c, Newest: func(context.Context) (time.Time, error) { return newest, nil },
		Overlap: 25 * time.Second, Now: func() time.Time { return now }})
	var got collector
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- src.Run(ctx, got.handle) }()
	waitFor(t, func() bool { return src.Handled() >= 103 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// From 25 s before the newest stored: the three messages before it
	// again (the store drops them by key), then the 100 missed.
	if got.count() != 103 || got.keys[0] != msgs[97].ID || got.keys[102] != msgs[199].ID {
		t.Errorf("handed %d messages from %s to %s; want 103 from %s to %s", got.count(), got.keys[0], got.keys[len(got.keys)-1], msgs[97].ID, msgs[199].ID)
	}
}

func TestSourceCatchesUpNothingOnAFreshInstall(t *testing.T) {
	dg, _ := archive(t)
	src := New(Options{Fetcher: &Client{BaseURL: dg.URL}, Newest: func(context.Context) (time.Time, error) { return time.Time{}, nil }})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	src.Run(ctx, func(context.Context, *bus.Envelope) { t.Error("a fresh install was handed a message") })
	if dg.Requests() != 0 {
		t.Errorf("%d requests; want none", dg.Requests())
	}
}

// liveSource delivers the envelopes sent on it.
type liveSource chan *bus.Envelope

func (l liveSource) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case env := <-l:
			handle(ctx, env)
		}
	}
}

func TestWatchCatchesUpASilence(t *testing.T) {
	dg, msgs := archive(t)
	c := &Client{BaseURL: dg.URL, Limiter: rate.NewLimiter(rate.Inf, 1)}
	var mu sync.Mutex
	now := msgs[10].Sent
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	src := New(Options{Fetcher: c, Newest: func(context.Context) (time.Time, error) { return time.Time{}, nil },
		Gap: 10 * time.Minute, Overlap: time.Second, Now: clock})
	live := make(liveSource)
	watched := src.Watch(live)
	var got collector
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watched.Run(ctx, got.handle)
	go src.Run(ctx, got.handle)

	env := func(m datagreppertest.Message) *bus.Envelope {
		e, err := bus.FromFields(map[string]any{"topic": m.Topic, "msg": m.Body, "msg_id": m.ID})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	live <- env(msgs[10])
	waitFor(t, func() bool { return got.count() == 1 })
	mu.Lock()
	now = msgs[20].Sent // 100 s later: no gap
	mu.Unlock()
	live <- env(msgs[20])
	waitFor(t, func() bool { return got.count() == 2 })
	mu.Lock()
	now = msgs[100].Sent // 800 s of silence
	mu.Unlock()
	live <- env(msgs[100])
	waitFor(t, func() bool { return src.Handled() >= 81 })
	// msgs[20] to msgs[100], the silent window's both ends included.
	if got.count() != 3+81 {
		t.Errorf("%d messages handled; want 3 live and 81 caught up", got.count())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTroubleOnTheBusCatchesUpSinceTheLastMessage(t *testing.T) {
	dg, msgs := archive(t)
	c := &Client{BaseURL: dg.URL, Limiter: rate.NewLimiter(rate.Inf, 1)}
	var mu sync.Mutex
	now := msgs[10].Sent
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var troubles atomic.Uint64
	src := New(Options{Fetcher: c, Newest: func(context.Context) (time.Time, error) { return time.Time{}, nil },
		Gap: -1, Overlap: time.Second, Troubles: troubles.Load, PollEvery: time.Millisecond, Now: clock})
	live := make(liveSource)
	var got collector
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Watch(live).Run(ctx, got.handle)
	go src.Run(ctx, got.handle)

	e, err := bus.FromFields(map[string]any{"topic": msgs[10].Topic, "msg": msgs[10].Body, "msg_id": msgs[10].ID})
	if err != nil {
		t.Fatal(err)
	}
	live <- e
	waitFor(t, func() bool { return got.count() == 1 })
	mu.Lock()
	now = msgs[50].Sent
	mu.Unlock()
	troubles.Add(1) // say, a replay that failed
	waitFor(t, func() bool { return src.Stats().Catchups == 1 && got.count() >= 42 })
	time.Sleep(20 * time.Millisecond) // polls without new trouble ask nothing more
	if s := src.Stats(); s.Catchups != 1 || s.Handed != 41 {
		t.Errorf("%d catch-ups handing %d messages; want 1 handing msgs[10] to msgs[50], 41", s.Catchups, s.Handed)
	}
}
