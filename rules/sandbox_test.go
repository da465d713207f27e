package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/meta"
)

// doubling is an expression that doubles a 16-byte string n times with
// let and +: 16 GiB at n = 30, which expr's own budget does not see.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString(`let s0 = "aaaaaaaaaaaaaaaa"; `)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "let s%d = s%d + s%d; ", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "len(s%d) > 0", n)
	return b.String()
}

// hostile are expressions that build far more than memory holds, each
// with an allocating operation expr does not count.
var hostile = map[string]string{
	"doubling with +":   doubling(30),
	"join of map":       doubling(16) + ` && len(join(map(1..20000, {s16}))) > 0`,
	"join with sep":     doubling(16) + ` && len(join(map(1..20000, {""}), s16)) > 0`,
	"upper in a loop":   doubling(16) + ` && len(map(1..20000, {upper(s16)})) > 0`,
	"string of array":   doubling(16) + ` && len(string(map(1..20000, {s16}))) > 0`,
	"split in a loop":   doubling(16) + ` && len(map(1..20000, {split(s16, "")})) > 0`,
	"concat in closure": doubling(16) + ` && len(map(1..20000, {s16 + "b"})) > 0`,
}

func evalExpr(t *testing.T, src string, m *Message) (bool, error) {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"expression": src})
	r, err := Compile("expr", args, "alice")
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return r.Eval(m)
}

func TestExprSandboxRefusesWhatItCannotBuild(t *testing.T) {
	for name, src := range hostile {
		t.Run(name, func(t *testing.T) {
			_, err := evalExpr(t, src, testMessage(t))
			if !errors.Is(err, ErrBudget) {
				t.Fatalf("err = %v, want the evaluation budget exceeded", err)
			}
		})
	}
}

// The sandbox's twins behave as the builtins and operators they replace.
func TestExprSandboxKeepsMeaning(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`doubled == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, true},
		{`topic + ".x" == "org.fedoraproject.prod.bodhi.update.comment.x"`, true},
		{`1 + 2 == 3 && 1.5 + 1 == 2.5 && msg.comment.karma + 1 == 2`, true},
		{`msg.comment.text + "!" == "Works for me, très bien!"`, true},
		{`join(usernames, ",") == "alice,dave" && join(packages) == "nethack"`, true},
		{`join(map(usernames, {upper(#)}), "+") == "ALICE+DAVE"`, true},
		{`lower("ÉTÉ") == "été" && string(1) == "1" && string(usernames) == "[alice dave]"`, true},
		{`split(topic, ".")[3] == "bodhi" && len(split(topic, ".", 2)) == 2`, true},
		{`len(uniq(["a", "a", "b"])) == 2 && sort(keys(msg)) == ["agent", "comment"] && len(values(msg)) == 2`, true},
		{`msg.comment.text matches "tr.s" && !(app matches "^koji$")`, true},
		{`all(usernames, {len(#) >= 4}) && any(1..10, {# == 10}) && count(1..100, {# % 2 == 0}) == 50`, true},
		{`msg.comment.text + 1 == "x"`, false}, // an error at run time: not matched
	} {
		m := testMessage(t)
		src := `let doubled = "aaaaaaaaaaaaaaaa" + "aaaaaaaaaaaaaaaa"; ` + tc.src
		got, err := evalExpr(t, src, m)
		if err != nil && tc.want {
			t.Errorf("%s: %v", tc.src, err)
		} else if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.src, got, tc.want)
		}
	}
}

// The hostile expressions, run in a process that cannot map more than
// 2 GiB of address space: each must fail as over budget, and the process
// must live to say so.
func TestExprSandboxWithinBoundedMemory(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go tool is needed to build the test program: %v", err)
	}
	helper := filepath.Join(t.TempDir(), "exprmem")
	if out, err := exec.Command("go", "build", "-o", helper, "./testdata/exprmem").CombinedOutput(); err != nil {
		t.Fatalf("build test program: %v\n%s", err, out)
	}
	var srcs []string
	for _, src := range hostile {
		srcs = append(srcs, src)
	}
	cmd := exec.Command("sh", append([]string{"-c", `ulimit -v 2097152 && exec "$0" "$@"`, helper}, srcs...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("under ulimit -v 2097152: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(srcs) {
		t.Fatalf("%d answers for %d expressions:\n%s", len(lines), len(srcs), out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "error ") || !strings.Contains(l, ErrBudget.Error()) {
			t.Errorf("%.60s…: %s, want the evaluation budget exceeded", srcs[i], l)
		}
	}
}

// costly is the CPU-heavy expression: a billion steps, 18 s unbounded.
const costly = `let r = 1..1000; all(r, {all(r, {all(r, {true})})})`

func TestExprSandboxBoundsSteps(t *testing.T) {
	_, err := evalExpr(t, costly, testMessage(t))
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v, want the evaluation budget exceeded", err)
	}
}

func TestExprSandboxWatchesTheLimit(t *testing.T) {
	const budget = 20 * time.Millisecond
	done := make(chan struct{})
	close(done)
	for _, tc := range []struct {
		name     string
		deadline time.Time
		done     <-chan struct{}
	}{
		{"deadline", time.Now().Add(budget), nil},
		{"cancelled", time.Time{}, done},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMessage(t)
			m.Limit(time.Now().Add(budget), tc.done)
			start := time.Now()
			_, err := evalExpr(t, costly, m)
			took := time.Since(start)
			if !errors.Is(err, ErrBudget) {
				t.Fatalf("err = %v, want the evaluation budget exceeded", err)
			}
			if took > budget+stopMargin {
				t.Errorf("stopped after %v with a budget of %v", took, budget)
			}
		})
	}
}

// stopMargin is how far past its budget a stopped evaluation may end
// and still pass: a correctness bound, not a speed one. Unbounded, these
// evaluations take minutes (the regex over 5 MB took 83 s); on a loaded
// machine under -race a bounded one has been seen to end 1.5 s late.
const stopMargin = 10 * time.Second

// bigMessage is a message whose text is n bytes of word characters.
func bigMessage(n int) *Message {
	env := &bus.Envelope{Topic: "org.fedoraproject.prod.x", Msg: map[string]any{"text": strings.Repeat("a", n)}}
	env.Fields = map[string]any{"topic": env.Topic, "msg": env.Msg}
	return NewMessage(env, &meta.Description{Packages: []string{strings.Repeat("p", n)}}, nil)
}

func TestRegexWatchesTheLimit(t *testing.T) {
	const budget = 50 * time.Millisecond
	for _, kind := range []string{"regex", "package-regex"} {
		t.Run(kind, func(t *testing.T) {
			r, err := Compile(kind, json.RawMessage(`{"pattern": "\\w{1000}\\W"}`), "")
			if err != nil {
				t.Fatal(err)
			}
			m := bigMessage(5 << 20)
			m.Limit(time.Now().Add(budget), nil)
			start := time.Now()
			_, err = r.Eval(m)
			took := time.Since(start)
			if !errors.Is(err, ErrBudget) {
				t.Fatalf("err = %v, want the evaluation budget exceeded", err)
			}
			if took > budget+stopMargin {
				t.Errorf("stopped after %v with a budget of %v", took, budget)
			}
		})
	}
}

// A match read through the limit's reader finds what Match finds.
func TestBoundedRegexAgreesWithMatch(t *testing.T) {
	subjects := []string{
		strings.Repeat("ab", 60000) + "needle",
		strings.Repeat("été ", 20000) + "x\xff\xfey",
		strings.Repeat("a", 150000),
	}
	for _, pattern := range []string{`needle$`, `[ab]{40}n`, `x.y`, `(?i)ÉTÉ x`, `^a{100}$`, `\w{50}\W`, `b`} {
		b, err := compileBounded(pattern)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(pattern)
		for i, s := range subjects {
			m := &Message{}
			m.Limit(time.Now().Add(time.Hour), nil)
			got, err := b.match(m, []byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if want := re.MatchString(s); got != want {
				t.Errorf("%s on subject %d: %v, want %v", pattern, i, got, want)
			}
		}
	}
}

// The sandbox's rewriting does not turn an author's mistakes into errors
// at run time: they are still refused when the rule is saved.
func TestExprSandboxKeepsCompileErrors(t *testing.T) {
	for src, want := range map[string]string{
		`topic + 1 == "x"`:  "mismatched types string and int",
		`topic matches "("`: "missing closing )",
		`upper(1) == "x"`:   "cannot use int as argument",
		`join(1) == ""`:     "cannot use int as argument",
	} {
		args, _ := json.Marshal(map[string]string{"expression": src})
		if _, err := Compile("expr", args, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", src, err, want)
		}
	}
	// Near the size limit, the rewritten tree still compiles.
	big := strings.Repeat(`all(usernames, {# + "x" != ""}) && `, 48) + "true"
	if _, err := evalExpr(t, big, testMessage(t)); err != nil {
		t.Errorf("a large expression: %v", err)
	}
}
