package rules

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"testing"

	"hark/bus"
	"hark/meta"
)

// TestRegexAgreesWithText checks that the regex rule, with its literal
// prefilter and its search of tokens, answers what running the pattern
// over Text answers, on every sample and on an envelope whose strings
// need escaping, for hand-written patterns and for fragments of the
// messages themselves.
func TestRegexAgreesWithText(t *testing.T) {
	envs := sampleEnvelopes(t)
	odd, err := bus.Decode([]byte(`{"topic": "x.y", "msg": {"note": "say \"hi\"\n\tnow\\then", "n": [1, 2.5, true, null], "Kelvin": "\u212aelvin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	envs = append(envs, odd)
	patterns := []string{
		`"karma":1`, `^"`, `\bbodhi\b`, `(?i)BODHI`, `^\{`, `\}$`, `a.b`, `"topic"`, `"hi`, `nnow`, `\\nnow`, `\\"hi`,
		`(?i)kelvin`, `Kelvin"`, `2\.5`, `true`, `null`, `[a-z]+_[a-z]+`, `(?i)\bfedora[-_.]`, `x\.y"`, `"x\.y"`,
		`build[^,]*done`, `(foo|update)\b`, `\Bpdate`, `y","`,
	}
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := []string{`%s`, `"%s"`, `(?i)%s`, `\b%s\b`, `%s[-_.]`, `%s"`}
	for range 120 {
		text := bus.CompactUTF8(envs[rng.IntN(len(envs))].Fields) // fragments may span tokens
		i := rng.IntN(len(text))
		frag := string(text[i:min(len(text), i+1+rng.IntN(12))])
		patterns = append(patterns, fmt.Sprintf(shapes[rng.IntN(len(shapes))], regexp.QuoteMeta(frag)))
	}
	texts := make([][]byte, len(envs))
	msgs := make([]*Message, len(envs)) // shared by every pattern, as a message is by every rule
	for i, env := range envs {
		texts[i] = bus.CompactUTF8(env.Fields)
		msgs[i] = NewMessage(env, &meta.Description{}, nil)
	}
	for _, p := range patterns {
		args, _ := json.Marshal(map[string]string{"pattern": p})
		r, err := Compile("regex", args, "")
		if err != nil {
			continue // a fragment cut inside a UTF-8 sequence
		}
		re := regexp.MustCompile(p)
		for i, env := range envs {
			want := re.Match(texts[i])
			got, err := r.Eval(msgs[i])
			if err != nil || got != want {
				t.Errorf("pattern %q on %s: Eval = %v, %v; over Text: %v", p, env.Topic, got, err, want)
			}
		}
	}
}

// TestExprNeedsOnOneMessage evaluates expressions that read different
// parts of the environment one after the other on one message, as an
// index does, so the environment grows as expressions need it.
func TestExprNeedsOnOneMessage(t *testing.T) {
	m := testMessage(t)
	for _, e := range []string{`app == "bodhi"`, `msg.comment.karma == 1`, `msg_id == "2024-abc"`, `$env.msg.comment.karma == 1 && $env.msg_id == "2024-abc"`} {
		args, _ := json.Marshal(map[string]string{"expression": e})
		r, err := Compile("expr", args, "")
		if err != nil {
			t.Fatalf("Compile(%q): %v", e, err)
		}
		if got, err := r.Eval(m); err != nil || !got {
			t.Errorf("Eval(%q) = %v, %v; want true", e, got, err)
		}
	}
}

func sampleEnvelopes(t *testing.T) []*bus.Envelope {
	t.Helper()
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var out []*bus.Envelope
	for sc.Scan() {
		env, err := bus.Decode(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
