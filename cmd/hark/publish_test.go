package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"hark/bus"
	"hark/internal/testpeer"
)

// publish runs `hark publish` in-process and returns its exit status and
// stderr.
func publish(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"publish"}, args...), stdio{strings.NewReader(stdin), &out, &errOut})
	return code, errOut.String()
}

// next decodes the next message a libzmq SUB received.
func next(t *testing.T, sub *testpeer.Sub) *bus.Envelope {
	t.Helper()
	env, err := bus.DecodeFrames(sub.Next())
	if err != nil {
		t.Fatalf("decode what libzmq received: %v", err)
	}
	return env
}

func TestPublishSendsToLibzmqSub(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		msgs  []string // canonical JSON of each payload, in order
	}{
		{"message flag", "", []string{"--message", "hello é"}, []string{`{"log":"hello \u00e9"}`}},
		{"stdin lines", "one\ntwo\nthree\n", nil, []string{`{"log":"one"}`, `{"log":"two"}`, `{"log":"three"}`}},
		{"json input keeps numbers", `{"n": 1.50, "list": [1, true, null]}`, []string{"--json-input"}, []string{`{"list":[1,true,null],"n":1.50}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := testpeer.Endpoint(testpeer.FreePort(t))
			sub := testpeer.StartSub(t, endpoint, true, "")
			args := append([]string{"--endpoint", endpoint, "--env", "stg", "--modname", "hark", "--topic", "test.cli"}, tc.args...)
			if code, stderr := publish(t, tc.stdin, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for i, want := range tc.msgs {
				env := next(t, sub)
				if env.Topic != "org.fedoraproject.stg.hark.test.cli" || env.I != int64(i+1) {
					t.Errorf("message %d: topic %q, i %d", i+1, env.Topic, env.I)
				}
				if got := string(bus.Canonical(env.Msg)); got != want {
					t.Errorf("message %d: payload %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

func TestPublishBindsForLibzmqSub(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	sub := testpeer.StartSub(t, endpoint, false, "org.fedoraproject.dev.hark.")
	if code, stderr := publish(t, "", "--bind", "--endpoint", endpoint, "--modname", "hark", "--topic", "bound", "--message", "first"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if env := next(t, sub); env.Topic != "org.fedoraproject.dev.hark.bound" {
		t.Errorf("topic %q", env.Topic)
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no modname", "", []string{"--topic", "t", "--message", "x"}, 2, "--modname is required"},
		{"no topic", "", []string{"--modname", "m", "--message", "x"}, 2, "--topic is required"},
		{"message and json", "{}", []string{"--modname", "m", "--topic", "t", "--message", "x", "--json-input"}, 2, "not both"},
		{"key without cert", "", []string{"--modname", "m", "--topic", "t", "--key", "k.pem"}, 2, "--key and --cert go together"},
		{"bad JSON", `{"a": [1,}`, []string{"--modname", "m", "--topic", "t", "--json-input"}, 1, "read stdin: invalid JSON near byte"},
		{"two JSON documents", `{} {}`, []string{"--modname", "m", "--topic", "t", "--json-input"}, 1, "more than one JSON document"},
		{"bad endpoint", "", []string{"--endpoint", "127.0.0.1:9941", "--modname", "m", "--topic", "t", "--message", "x"}, 1, "want tcp://HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := publish(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
