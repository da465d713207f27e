package rules

import (
	"encoding/json"
	"testing"

	"hark/bus"
	"hark/meta"
)

func TestTextPredicateAgreesWithTheRule(t *testing.T) {
	env, err := bus.Decode([]byte(`{"topic":"org.fedoraproject.prod.buildsys.build.state.change","msg":{"name":"Kernel","owner":"\u212arnel fan","note":"caf\u00e9 ſtuff"},"msg_id":"2026-x"}`))
	if err != nil {
		t.Fatal(err)
	}
	text := bus.CompactUTF8(env.Fields)
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"plain literal", `buildsys\.build`, true},
		{"literal absent", `nothing like it`, false},
		{"folded literal", `(?i)KERNEL`, true},
		{"folded literal absent", `(?i)glibc`, false},
		{"folded literal only through the Kelvin sign", `(?i)krnel fan`, true},
		{"folded literal only through the long s", `(?i)stuff`, true},
		{"literal present, regex not", `Kernel[0-9]`, false},
		{"no literal", `[0-9]{4}-x`, true},
		{"no literal, no match", `[0-9]{5}-x`, false},
		{"across JSON punctuation", `"name":"Kernel"`, true},
		{"unicode as typed", `café`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, _ := json.Marshal(map[string]string{"pattern": tc.pattern})
			p, err := TextPredicate(args, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compile("regex", args, "")
			if err != nil {
				t.Fatal(err)
			}
			rule, err := r.Eval(NewMessage(env, &meta.Description{}, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := p(text); got != tc.want || rule != tc.want {
				t.Errorf("predicate %v, rule %v, want %v", got, rule, tc.want)
			}
		})
	}
}

func TestTextPredicateRejectsBadArguments(t *testing.T) {
	for _, args := range []string{`{"pattern":"("}`, `{"pattern":""}`, `{"other":"x"}`} {
		if _, err := TextPredicate(json.RawMessage(args), nil); err == nil {
			t.Errorf("%s: no error", args)
		}
	}
}

func TestContainsLower(t *testing.T) {
	for _, tc := range []struct {
		text, lit string
		want      bool
	}{
		{"Hello World", "hello", true},
		{"say HELLO", "hello", true},
		{"hellhello", "hello", true},
		{"HeLlO", "hello", true},
		{"help", "hello", false},
		{"hell", "hello", false},
		{"", "a", false},
		{"anything", "", true},
		{"no Such Words here", "no such words", true},
		{"no such word", "no such words", false},
		{"x-Ray", "-ray", true},
		{"ray-", "-ray", false},
		{"a1B2", "1b2", true},
	} {
		if got := containsLower([]byte(tc.text), []byte(tc.lit)); got != tc.want {
			t.Errorf("containsLower(%q, %q) = %v, want %v", tc.text, tc.lit, got, tc.want)
		}
	}
}
