package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/router"
	"hark/store"
	"hark/store/sqlite"
)

// samples is the real bus messages of testdata, without the file's own
// annotations.
func samples(t testing.TB) []*bus.Envelope {
	t.Helper()
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*bus.Envelope
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		delete(env.Fields, "expected")
		delete(env.Fields, "_fixture")
		out = append(out, env)
	}
	return out
}

// sliceSource hands a fixed list of envelopes to the router, then waits
// for shutdown like a bus subscriber does.
type sliceSource struct {
	envs []*bus.Envelope
	done chan struct{}
}

func (s *sliceSource) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	for _, env := range s.envs {
		handle(ctx, env)
	}
	close(s.done)
	<-ctx.Done()
	return nil
}

type world struct {
	path string // the database's file
	st   *sqlite.SQLite
	ix   *filters.Index
	rt   *router.Router
	ctx  context.Context
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, filters.Options{})
}

func newWorldWith(t *testing.T, opts filters.Options) *world {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hark.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	desc, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix := filters.New(opts)
	rt, err := router.New(router.Options{Store: st, Describer: desc, Index: ix, ReloadEvery: 20 * time.Millisecond,
		FlushEvery: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &world{path: path, st: st, ix: ix, rt: rt, ctx: ctx}
}

// user creates a user with one destination (confirmed or not) and one
// filter with the given rules sending to it.
func (w *world) user(t *testing.T, name string, confirmed, oneshot bool, rules ...store.Rule) store.Filter {
	t.Helper()
	u, err := w.st.CreateUser(w.ctx, store.User{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.st.SaveDestination(w.ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: name + "@example.org", Confirmed: confirmed, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.st.SaveFilter(w.ctx, store.Filter{UserID: u.ID, Name: "mine", Active: true, Oneshot: oneshot, Rules: rules, DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run feeds envs through the router and stops it once they are handled.
func (w *world) run(t *testing.T, envs []*bus.Envelope) {
	t.Helper()
	ctx, cancel := context.WithCancel(w.ctx)
	src := &sliceSource{envs: envs, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.rt.Run(ctx, src); err != nil {
			t.Errorf("run router: %v", err)
		}
	})
	<-src.done
	cancel()
	wg.Wait()
}

func (w *world) notifications(t *testing.T, user string) []store.Notification {
	t.Helper()
	ns, err := w.st.ListNotifications(w.ctx, store.NotificationQuery{User: user, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func rule(kind, args string, negate bool) store.Rule {
	return store.Rule{Kind: kind, Args: json.RawMessage(args), Negate: negate}
}

func TestRouterQueuesMatchesWithReasonAndKeepsEveryMessageInHistory(t *testing.T) {
	w := newWorld(t)
	w.user(t, "alice", true, false, rule("app", `{"names": ["bodhi"]}`, false))
	w.user(t, "bob", false, false, rule("app", `{"names": ["bodhi"]}`, false)) // unconfirmed: gets nothing
	envs := samples(t)
	wantBodhi := 0
	keys := map[string]bool{}
	for _, env := range envs {
		if !keys[env.Key()] && topicApp(env.Topic) == "bodhi" {
			wantBodhi++
		}
		keys[env.Key()] = true
	}
	w.run(t, envs)

	got := w.notifications(t, "alice")
	if len(got) != wantBodhi {
		t.Fatalf("alice has %d notifications, want one per distinct bodhi message: %d", len(got), wantBodhi)
	}
	var why []filters.Verdict
	if err := json.Unmarshal(got[0].Why, &why); err != nil || len(why) != 1 || !why[0].Pass || why[0].Kind != "app" {
		t.Errorf("why = %s (%v), want the app rule's passing verdict", got[0].Why, err)
	}
	if n := len(w.notifications(t, "bob")); n != 0 {
		t.Errorf("bob (unconfirmed) has %d notifications, want 0", n)
	}
	page, err := w.st.HistoryPage(w.ctx, store.Cursor{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != len(keys) {
		t.Errorf("history holds %d messages, want every distinct one: %d", len(page), len(keys))
	}
}

func TestRouterOneShotFilterNotifiesOnce(t *testing.T) {
	w := newWorld(t)
	w.user(t, "alice", true, true, rule("app", `{"names": ["bodhi"]}`, false))
	w.run(t, samples(t))
	if n := len(w.notifications(t, "alice")); n != 1 {
		t.Fatalf("one-shot filter made %d notifications, want 1", n)
	}
	fs, err := w.st.ActiveFilters(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Errorf("one-shot filter still active after firing: %+v", fs)
	}
}

func TestRouterPicksUpFilterChangesWhileRunning(t *testing.T) {
	w := newWorld(t)
	f := w.user(t, "alice", true, false, rule("app", `{"names": ["nothing-publishes-this"]}`, false))
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	handle := make(chan *bus.Envelope)
	var wg sync.WaitGroup
	wg.Go(func() { w.rt.Run(ctx, chanSource(handle)) })
	defer wg.Wait()
	defer cancel()

	env := samples(t)[0]
	handle <- env
	f.Rules = []store.Rule{rule("topic", `{"pattern": "`+env.Topic+`"}`, false)}
	if _, err := w.st.SaveFilter(w.ctx, f); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for len(w.notifications(t, "alice")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("filter change not in effect within a second")
		}
		env2 := *env
		env2.MsgID = "changed-" + time.Now().String()
		handle <- &env2
		time.Sleep(20 * time.Millisecond)
	}
}

// chanSource hands over what arrives on a channel.
type chanSource chan *bus.Envelope

func (c chanSource) Run(ctx context.Context, handle func(context.Context, *bus.Envelope)) error {
	for {
		select {
		case env := <-c:
			handle(ctx, env)
		case <-ctx.Done():
			return nil
		}
	}
}

func topicApp(topic string) string {
	if parts := strings.Split(topic, "."); len(parts) > 3 {
		return parts[3]
	}
	return ""
}

func TestRouterAcknowledgesMessagesOnlyOnceCommitted(t *testing.T) {
	w := newWorld(t)
	envs := samples(t)[:20]
	type ackResult struct {
		key       string
		err       error
		committed bool
	}
	results := make(chan ackResult, len(envs))
	for _, env := range envs {
		env.Ack = func(err error) {
			// Looked up from inside Ack: what the source is told must
			// already be in the store.
			got, lookupErr := w.st.MessagesByKey(w.ctx, []string{env.Key()})
			if lookupErr != nil {
				t.Errorf("look up %s: %v", env.Key(), lookupErr)
			}
			_, ok := got[env.Key()]
			results <- ackResult{env.Key(), err, ok}
		}
	}
	w.run(t, envs)
	close(results)
	n := 0
	for r := range results {
		n++
		if r.err != nil || !r.committed {
			t.Errorf("message %s acknowledged with err %v, committed %v; want nil after commit", r.key, r.err, r.committed)
		}
	}
	if n != len(envs) {
		t.Errorf("%d of %d messages acknowledged", n, len(envs))
	}
}

func TestRouterNacksMessageItStopsBeforeCommitting(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// BatchSize 1 leaves room for four pending messages; without Run
	// nothing commits them, so the next Handle finds the router full.
	rt, err := router.New(router.Options{Store: st, Describer: meta.Default(), Index: filters.New(filters.Options{}),
		BatchSize: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	envs := samples(t)[:5]
	var got []error
	for _, env := range envs {
		env.Ack = func(err error) { got = append(got, err) }
	}
	for _, env := range envs[:4] {
		rt.Handle(context.Background(), env)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	rt.Handle(stopped, envs[4])
	if len(got) != 1 || !errors.Is(got[0], router.ErrShuttingDown) {
		t.Fatalf("acks = %v, want only the dropped message's, with ErrShuttingDown", got)
	}
}

// A shutdown that comes while the filters are first loaded is a clean
// stop, not an error: SIGTERM right after start must exit 0.
func TestRouterStoppedWhileStartingIsNoError(t *testing.T) {
	w := newWorld(t)
	w.user(t, "alice", true, false, rule("app", `{"names": ["bodhi"]}`, false))
	ctx, cancel := context.WithCancel(w.ctx)
	cancel()
	if err := w.rt.Run(ctx, chanSource(make(chan *bus.Envelope))); err != nil {
		t.Errorf("run with a cancelled context: %v", err)
	}
}

// TestRouterReloadsWhenTheFeedSaysSettingsChanged runs the router with a
// reload timer far longer than the test: a filter another process (a
// second store on the file) saves takes effect because the store's
// change feed says the settings changed, and its matches carry the
// store's ids.
func TestRouterReloadsWhenTheFeedSaysSettingsChanged(t *testing.T) {
	w := newWorld(t)
	rt, err := router.New(router.Options{Store: w.st, Describer: meta.Default(), Index: filters.New(filters.Options{}),
		ReloadEvery: time.Hour, FlushEvery: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f := w.user(t, "alice", true, false, rule("app", `{"names": ["nothing-publishes-this"]}`, false))
	ctx, cancel := context.WithCancel(w.ctx)
	handle := make(chan *bus.Envelope)
	var wg sync.WaitGroup
	wg.Go(func() { rt.Run(ctx, chanSource(handle)) })
	defer wg.Wait()
	defer cancel()
	env := samples(t)[0]
	handle <- env // Run has loaded the filters

	other, err := sqlite.Open(w.ctx, w.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	f.Rules = []store.Rule{rule("topic", `{"pattern": "`+env.Topic+`"}`, false)}
	if _, err := other.SaveFilter(w.ctx, f); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // the timer would take an hour
	for rt.Stats().Reloads < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the saved filter was not reloaded")
		}
		time.Sleep(5 * time.Millisecond) // between two looks
	}
	env2 := *env
	env2.MsgID = "after-the-change"
	handle <- &env2
	for len(w.notifications(t, "alice")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reloaded filter matched nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	n := w.notifications(t, "alice")[0]
	if n.FilterID != f.ID || n.DestinationID != f.DestinationIDs[0] {
		t.Errorf("notification %+v, want filter %d to destination %d", n, f.ID, f.DestinationIDs[0])
	}
}
