package preview

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"hark/bus"
	"hark/filters"
	"hark/meta"
	"hark/rules"
	"hark/store"
	"hark/store/sqlite"
)

// spec parses a filter's rules written as JSON.
func spec(t testing.TB, js string) []rules.Spec {
	t.Helper()
	var out []rules.Spec
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("rules %s: %v", js, err)
	}
	return out
}

// stored is a stored message decoded, newest first.
type stored struct {
	key  string
	env  *bus.Envelope
	desc meta.Description
}

// history decodes every stored message once.
func history(t *testing.T, st *sqlite.SQLite) []stored {
	t.Helper()
	msgs, err := st.HistoryPage(context.Background(), store.Cursor{}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]stored, len(msgs))
	for i, m := range msgs {
		out[i].key = m.Key
		if out[i].env, err = bus.Decode(m.Envelope); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(m.Description, &out[i].desc); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// oracle is what matching itself says: the keys of the messages, newest
// first, that the filter matches through a filters.Index.
func oracle(t *testing.T, msgs []stored, owner string, specs []rules.Spec, own rules.Ownership) []string {
	t.Helper()
	ix := filters.New(filters.Options{Owners: func() rules.Ownership { return own }})
	if err := ix.SetUser(owner, []filters.Filter{{Name: "preview", Active: true, Destinations: []string{"irc:someone"}, Rules: specs}}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range msgs {
		if len(ix.DryRun(m.env, &m.desc)) > 0 {
			keys = append(keys, m.key)
		}
	}
	return keys
}

// all pages through a whole preview, limit matches a page.
func all(t *testing.T, e *Engine, req Request) (keys []string, pages []*Page) {
	t.Helper()
	for {
		p, err := e.Preview(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		for _, m := range p.Matches {
			keys = append(keys, m.Key)
		}
		if p.Next == nil {
			return keys, pages
		}
		req.Before = *p.Next
	}
}

func TestPreviewAgreesWithMatching(t *testing.T) {
	st := openStore(t)
	fill(t, st, 700)
	msgs := history(t, st)
	own := testOwners(t)
	e := New(st, func() rules.Ownership { return own })
	for _, tc := range []struct {
		name, owner, rules, plan string
	}{
		{"exact topic", "ralph", `[{"kind":"topic","args":{"pattern":"org.fedoraproject.prod.mailman.receive"}}]`, "topic"},
		{"topic prefix", "ralph", `[{"kind":"topic","args":{"pattern":"org.fedoraproject.prod.copr.*"}}]`, "topic"},
		{"app", "ralph", `[{"kind":"app","args":{"names":["bodhi","pagure"]}}]`, "app"},
		{"package", "ralph", `[{"kind":"package","args":{"names":["guake"]}}]`, "package"},
		{"user @me", "pingou", `[{"kind":"user","args":{"names":["@me"]}}]`, "user"},
		{"agent", "ralph", `[{"kind":"agent","args":{"names":["lmacken"]}}]`, "agent"},
		{"owned-by @me, directly and through a group", "ralph", `[{"kind":"owned-by","args":{"users":["@me"]}}]`, "owned-by"},
		{"group-owned", "ralph", `[{"kind":"group-owned","args":{"groups":["zmq-sig"]}}]`, "group-owned"},
		{"user without my own actions", "ralph", `[{"kind":"user","args":{"names":["@me"]}},{"kind":"agent","args":{"names":["@me"]},"negate":true}]`, "user"},
		{"most selective rule narrows", "ralph", `[{"kind":"app","args":{"names":["pagure"]}},{"kind":"user","args":{"names":["pingou"]}}]`, "user"},
		{"regex only", "ralph", `[{"kind":"regex","args":{"pattern":"(?i)KOJI"}}]`, "text"},
		{"regex without a literal", "ralph", `[{"kind":"regex","args":{"pattern":"\"[0-9]{6,}\""}}]`, "text"},
		{"negated rule only", "ralph", `[{"kind":"app","args":{"names":["compose"]},"negate":true}]`, "every message"},
		{"expression", "ralph", `[{"kind":"expr","args":{"expression":"app == \"copr\" && msg?.status == 1"}}]`, "every message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs := spec(t, tc.rules)
			want := oracle(t, msgs, tc.owner, specs, own)
			got, pages := all(t, e, Request{Owner: tc.owner, Rules: specs, Limit: 7})
			if !slices.Equal(got, want) {
				t.Errorf("preview has %d matches %.5v..., matching %d %.5v...", len(got), got, len(want), want)
			}
			if len(want) == 0 {
				t.Errorf("the case matches nothing, so it proves little")
			}
			if !strings.Contains(pages[0].Plan, tc.plan) {
				t.Errorf("plan %q, want it to mention %q", pages[0].Plan, tc.plan)
			}
		})
	}
}

func TestPreviewExplainsEachMatch(t *testing.T) {
	st := openStore(t)
	fill(t, st, 600)
	e := New(st, nil)
	specs := spec(t, `[{"kind":"user","args":{"names":["@me"]}},{"kind":"agent","args":{"names":["@me"]},"negate":true}]`)
	p, err := e.Preview(context.Background(), Request{Owner: "ralph", Rules: specs, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Matches) != 3 {
		t.Fatalf("%d matches, want 3", len(p.Matches))
	}
	for _, m := range p.Matches {
		want := []filters.Verdict{
			{Kind: "user", Args: specs[0].Args, Value: true, Pass: true},
			{Kind: "agent", Args: specs[1].Args, Negate: true, Value: false, Pass: true},
		}
		got, _ := json.Marshal(m.Rules)
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("%s: rules %s, want %s", m.Key, got, wantJSON)
		}
		if !slices.Contains(m.Description.Usernames, "ralph") || m.Description.Agent == "ralph" {
			t.Errorf("%s: description %+v does not fit the filter", m.Key, m.Description)
		}
	}
}

func TestPreviewPagesNewestFirst(t *testing.T) {
	st := openStore(t)
	fill(t, st, 600)
	e := New(st, nil)
	keys, pages := all(t, e, Request{Owner: "ralph", Rules: spec(t, `[{"kind":"app","args":{"names":["bodhi"]}}]`), Limit: 10})
	if len(pages) < 3 {
		t.Fatalf("%d pages, want several", len(pages))
	}
	for i, p := range pages[:len(pages)-1] {
		if len(p.Matches) != 10 {
			t.Errorf("page %d has %d matches, want a full page", i, len(p.Matches))
		}
	}
	if !slices.IsSortedFunc(keys, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("matches are not newest first: %v", keys)
	}
	if len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Errorf("a message is on two pages")
	}
}

func TestPreviewFindsNothingWhereNothingCanMatch(t *testing.T) {
	st := openStore(t)
	fill(t, st, 100)
	for _, tc := range []struct {
		name  string
		own   rules.Ownership
		rules string
	}{
		{"owned-by without ownership data", nil, `[{"kind":"owned-by","args":{"users":["ralph"]}}]`},
		{"owned-by a user owning nothing in the history", testOwners(t), `[{"kind":"owned-by","args":{"users":["nobody"]}}]`},
		{"package nobody mentions", nil, `[{"kind":"package","args":{"names":["no-such-package"]}}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(st, func() rules.Ownership { return tc.own })
			p, err := e.Preview(context.Background(), Request{Owner: "ralph", Rules: spec(t, tc.rules)})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Matches) != 0 || p.Next != nil || p.Examined != 0 {
				t.Errorf("page %+v, want empty and final without examining anything", p)
			}
		})
	}
}

func TestPreviewRejectsBadFilters(t *testing.T) {
	e := New(openStore(t), nil)
	for _, tc := range []struct {
		name, rules, want string
	}{
		{"no rules", `[]`, "no rules"},
		{"unknown kind", `[{"kind":"app","args":{"names":["x"]}},{"kind":"nope","args":{}}]`, "rules[1]: compile rule: unknown kind"},
		{"bad argument", `[{"kind":"regex","args":{"pattern":"("}}]`, "rules[0]: compile regex rule: args.pattern"},
		{"@me without owner", `[{"kind":"user","args":{"names":["@me"]}}]`, "@me needs a filter owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Preview(context.Background(), Request{Rules: spec(t, tc.rules)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPreviewSkipsUnreadableMessages(t *testing.T) {
	st := openStore(t)
	bad := []store.Message{
		{Key: "bad-envelope", Topic: "t", Envelope: json.RawMessage(`{"topic":`), Description: json.RawMessage(`{"app":"bodhi"}`)},
		{Key: "bad-description", Topic: "t", Envelope: json.RawMessage(`{"topic":"t","msg":{}}`), Description: json.RawMessage(`{"app":"bodhi","packages":"x"}`)},
	}
	if _, err := st.AddMessages(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	p, err := New(st, nil).Preview(context.Background(), Request{Rules: spec(t, `[{"kind":"app","args":{"names":["bodhi"]}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Matches) != 0 || p.Unreadable != 2 {
		t.Errorf("page %+v, want no match and 2 unreadable", p)
	}
}

func TestPreviewStopsWhenCancelledWithACursor(t *testing.T) {
	st := openStore(t)
	fill(t, st, 300)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := New(st, nil).Preview(ctx, Request{Rules: spec(t, `[{"kind":"expr","args":{"expression":"false"}}]`)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if p == nil || p.Next == nil {
		t.Errorf("page %+v, want a cursor to go on from", p)
	}
}
