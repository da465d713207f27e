package rules

import (
	"encoding/json"
	"strings"
	"testing"

	"hark/bus"
	"hark/meta"
)

// ownership is a fixed package → owners table for tests.
type ownership struct{ users, groups map[string][]string }

func (o ownership) Users(pkg string) []string  { return o.users[pkg] }
func (o ownership) Groups(pkg string) []string { return o.groups[pkg] }

var testOwners = ownership{
	users:  map[string][]string{"nethack": {"alice", "bob"}, "kernel": {"carol"}},
	groups: map[string][]string{"nethack": {"games-sig"}},
}

func testMessage(t *testing.T) *Message {
	t.Helper()
	env, err := bus.Decode([]byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": "2024-abc",
		"timestamp": 1700000000, "msg": {"comment": {"text": "Works for me, très bien", "karma": 1}, "agent": "alice"}}`))
	if err != nil {
		t.Fatal(err)
	}
	desc := &meta.Description{App: "bodhi", Usernames: []string{"alice", "dave"}, Packages: []string{"nethack"}, Agent: "alice"}
	return NewMessage(env, desc, testOwners)
}

// mustEval compiles a rule and evaluates it on m, failing the test on
// an error of either.
func mustEval(t *testing.T, kind, args, owner string, m *Message) bool {
	t.Helper()
	r, err := Compile(kind, json.RawMessage(args), owner)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	got, err := r.Eval(m)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	return got
}

func TestRuleKinds(t *testing.T) {
	for _, tc := range []struct {
		name, kind, args, owner string
		want                    bool
	}{
		{"topic exact", "topic", `{"pattern": "org.fedoraproject.prod.bodhi.update.comment"}`, "", true},
		{"topic glob", "topic", `{"pattern": "*.bodhi.update.*"}`, "", true},
		{"topic glob elsewhere", "topic", `{"pattern": "*.koji.*"}`, "", false},
		{"app listed", "app", `{"names": ["koji", "bodhi"]}`, "", true},
		{"app not listed", "app", `{"names": ["koji"]}`, "", false},
		{"package listed", "package", `{"names": ["nethack"]}`, "", true},
		{"package not listed", "package", `{"names": ["kernel"]}`, "", false},
		{"package-regex unanchored", "package-regex", `{"pattern": "hack"}`, "", true},
		{"package-regex anchored", "package-regex", `{"pattern": "^hack"}`, "", false},
		{"user listed", "user", `{"names": ["dave"]}`, "", true},
		{"user @me", "user", `{"names": ["@me"]}`, "dave", true},
		{"user @me someone else", "user", `{"names": ["@me"]}`, "erin", false},
		{"agent listed", "agent", `{"names": ["alice"]}`, "", true},
		{"severity of a ZeroMQ message is info", "severity", `{"levels": ["info"]}`, "", true},
		{"agent not listed", "agent", `{"names": ["dave"]}`, "", false},
		{"owned-by owner", "owned-by", `{"users": ["bob"]}`, "", true},
		{"owned-by @me", "owned-by", `{"users": ["@me"]}`, "alice", true},
		{"owned-by other package's owner", "owned-by", `{"users": ["carol"]}`, "", false},
		{"group-owned", "group-owned", `{"groups": ["games-sig"]}`, "", true},
		{"group-owned other group", "group-owned", `{"groups": ["kernel-maint"]}`, "", false},
		{"regex over envelope", "regex", `{"pattern": "\"karma\":1"}`, "", true},
		{"regex sees UTF-8", "regex", `{"pattern": "très"}`, "", true},
		{"regex no match", "regex", `{"pattern": "karma\":-1"}`, "", false},
		{"expr true", "expr", `{"expression": "app == \"bodhi\" && msg.comment.karma > 0"}`, "", true},
		{"expr false", "expr", `{"expression": "\"kernel\" in packages"}`, "", false},
		{"expr owner", "expr", `{"expression": "owner in usernames"}`, "dave", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustEval(t, tc.kind, tc.args, tc.owner, testMessage(t)); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompileErrorsNameTheArgument(t *testing.T) {
	for _, tc := range []struct {
		name, kind, args, want string
	}{
		{"unknown kind", "colour", `{}`, `unknown kind "colour"`},
		{"missing args", "app", ``, "args: missing"},
		{"unknown argument", "app", `{"name": ["x"]}`, `unknown argument "name"`},
		{"empty names", "package", `{"names": []}`, "args.names: at least one name"},
		{"empty name", "user", `{"names": ["a", " "]}`, "args.names[1]: empty name"},
		{"group with @", "group-owned", `{"groups": ["@sig"]}`, "args.groups[0]"},
		{"@me without owner", "owned-by", `{"users": ["@me"]}`, "@me needs a filter owner"},
		{"bad glob", "topic", `{"pattern": "org.[abc"}`, "args.pattern: parse glob"},
		{"bad regex", "regex", `{"pattern": "a(b"}`, "args.pattern: error parsing regexp"},
		{"bad package regex", "package-regex", `{"pattern": "*x"}`, "args.pattern"},
		{"unknown pattern field", "regex", `{"pattern": "x", "flags": "i"}`, `unknown field "flags"`},
		{"expr syntax", "expr", `{"expression": "app == "}`, "args.expression: line 1, column"},
		{"expr not boolean", "expr", `{"expression": "topic + app"}`, "args.expression: expected bool, but got string"},
		{"expr unknown name", "expr", `{"expression": "colour == 1"}`, "unknown name colour"},
		{"expr repeat disabled", "expr", `{"expression": "repeat(\"a\", 1000) == \"\""}`, "repeat"},
		{"expr too big", "expr", `{"expression": "` + strings.Repeat("1 + ", 600) + `1 > 0"}`, "exceeds maximum allowed nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.kind, json.RawMessage(tc.args), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExprRuntimeErrors(t *testing.T) {
	for _, tc := range []struct{ name, expression string }{
		{"missing nested key", `msg.update.status == "stable"`},
		{"memory budget", `len(1..100000000) > 0`},
		{"non-boolean at run time", `msg.comment.karma`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, _ := json.Marshal(map[string]string{"expression": tc.expression})
			r, err := Compile("expr", args, "")
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if _, err := r.Eval(testMessage(t)); err == nil {
				t.Errorf("Eval succeeded, want a run-time error")
			}
		})
	}
}

func TestRuleKeys(t *testing.T) {
	for _, tc := range []struct {
		name               string
		kindA, argsA, ownA string
		kindB, argsB, ownB string
		same               bool
	}{
		{"name order does not matter", "package", `{"names": ["a", "b"]}`, "", "package", `{"names": ["b", "a", "a"]}`, "", true},
		{"@me is its owner", "user", `{"names": ["@me"]}`, "alice", "user", `{"names": ["alice"]}`, "bob", true},
		{"@me differs by owner", "user", `{"names": ["@me"]}`, "alice", "user", `{"names": ["@me"]}`, "bob", false},
		{"same names, other kind", "user", `{"names": ["x"]}`, "", "agent", `{"names": ["x"]}`, "", false},
		{"expr without owner is shared", "expr", `{"expression": "app == \"x\""}`, "alice", "expr", `{"expression": "app == \"x\""}`, "bob", true},
		{"expr reading owner is not", "expr", `{"expression": "agent == owner"}`, "alice", "expr", `{"expression": "agent == owner"}`, "bob", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Compile(tc.kindA, json.RawMessage(tc.argsA), tc.ownA)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Compile(tc.kindB, json.RawMessage(tc.argsB), tc.ownB)
			if err != nil {
				t.Fatal(err)
			}
			if (a.Key == b.Key) != tc.same {
				t.Errorf("keys %q and %q: same = %v, want %v", a.Key, b.Key, a.Key == b.Key, tc.same)
			}
		})
	}
}

func TestHints(t *testing.T) {
	for _, tc := range []struct {
		name, kind, args string
		want             []Hint
	}{
		{"exact topic", "topic", `{"pattern": "a.b"}`, []Hint{{FieldTopic, "a.b"}}},
		{"topic prefix", "topic", `{"pattern": "a.b.*"}`, []Hint{{FieldTopicPrefix, "a.b."}}},
		{"leading wildcard", "topic", `{"pattern": "*.b"}`, nil},
		{"names", "package", `{"names": ["y", "x"]}`, []Hint{{FieldPackage, "x"}, {FieldPackage, "y"}}},
		{"regex", "regex", `{"pattern": "x"}`, nil},
		{"expr", "expr", `{"expression": "true"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compile(tc.kind, json.RawMessage(tc.args), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Hints) != len(tc.want) {
				t.Fatalf("Hints = %v, want %v", r.Hints, tc.want)
			}
			for i := range r.Hints {
				if r.Hints[i] != tc.want[i] {
					t.Errorf("Hints = %v, want %v", r.Hints, tc.want)
				}
			}
		})
	}
}

func TestCatalogueSchemasAreJSON(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			if k.Title == "" || k.Help == "" {
				t.Errorf("kind %s lacks a title or help", k.Name)
			}
			var v map[string]any
			if err := json.Unmarshal(k.Schema, &v); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}
