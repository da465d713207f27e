package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"hark/internal/testpeer"
)

// pythonDumps is fedmsg.encoding.dumps applied to each JSON line of stdin.
const pythonDumps = `
import json, sys
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True, separators=(',', ':')))
`

// pythonCanonical runs fedmsg's encoder in Python over docs, one result
// per document.
func pythonCanonical(t *testing.T, docs [][]byte) []string {
	t.Helper()
	testpeer.RequirePython(t)
	out := testpeer.RunPython(t, pythonDumps, append(bytes.Join(docs, []byte("\n")), '\n'))
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(docs) {
		t.Fatalf("python printed %d lines for %d documents", len(got), len(docs))
	}
	return got
}

func TestCanonicalEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"keys sorted by code point", map[string]any{"b": 1, "a": 2, "B": 3, "é": 4, "z": 5}, `{"B":3,"a":2,"b":1,"z":5,"\u00e9":4}`},
		{"non-ASCII lowercase hex", "é€", `"\u00e9\u20ac"`},
		{"above U+FFFF as surrogate pair", "😀", `"\ud83d\ude00"`},
		{"control characters", "\x00\x01\x1f\b\f\n\r\t", `"\u0000\u0001\u001f\b\f\n\r\t"`},
		{"DEL escaped", "\x7f", `"\u007f"`},
		{"no HTML escaping", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"quote and backslash", `"\`, `"\"\\"`},
		{"slash not escaped", "a/b", `"a/b"`},
		{"line separators escaped", "\u2028\u2029", `"\u2028\u2029"`},
		{"nested arrays and null", []any{nil, true, false, []any{}, map[string]any{}}, `[null,true,false,[],{}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Canonical(tc.in)); got != tc.want {
				t.Errorf("Canonical = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCompactUTF8KeepsCharacters(t *testing.T) {
	got := string(CompactUTF8(map[string]any{"b": "é😀\x7f", "a": "\x01"}))
	if want := "{\"a\":\"\\u0001\",\"b\":\"é😀\x7f\"}"; got != want {
		t.Errorf("CompactUTF8 = %q, want %q", got, want)
	}
}

// trickyDocuments are envelopes whose canonical text is easy to get wrong;
// their numbers are written as Python writes them, since Canonical keeps
// the original text.
var trickyDocuments = []string{
	`{"topic":"t","msg":{"s":"\u00e9\u20ac\ud83d\ude00 \u0000\u001f\u007f \"\\/ <>&' \u2028"}}`,
	`{"z":1,"a":{"y":[1,2.5,-0.0,1e-05,1e+16,0.0001,123456789012345678901234567890],"x":null},"B":true}`,
	`{"\u00e9":1,"e":2,"\ud83d\ude00":3,"\uffff":4,"E":5}`,
	`{"msg":{"text":"line1\nline2\ttab\r\b\f"},"topic":"org.fedoraproject.prod.x"}`,
	`{"deep":[[[[{"a":[[],{}]}]]]],"empty":"","space key":" "}`,
}

func TestCanonicalMatchesPython(t *testing.T) {
	var docs [][]byte
	var names []string
	for i, d := range trickyDocuments {
		docs = append(docs, []byte(d))
		names = append(names, fmt.Sprintf("tricky document %d", i))
	}
	for _, s := range fedmsgSamples(t) {
		docs = append(docs, s.raw)
		names = append(names, fmt.Sprintf("samples line %d", s.line))
	}
	want := pythonCanonical(t, docs)
	for i, doc := range docs {
		fields, err := decodeObject(doc)
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
		if got := string(Canonical(fields)); got != want[i] {
			t.Errorf("%s: canonical differs from Python at byte %d\n go: %s\npy: %s", names[i], firstDiff(got, want[i]), got, want[i])
		}
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPythonNumbersMatchPython checks the rewrite a signer applies: any
// number text becomes what Python prints after parsing it.
func TestPythonNumbersMatchPython(t *testing.T) {
	texts := []string{
		"0", "-0", "7", "-12", "123456789012345678901234567890",
		"0.0", "-0.0", "1.50", "1E5", "1e+5", "2.5E-3", "1e-7", "0.000001", "0.0001", "0.00001",
		"1e15", "1e16", "1.5e16", "123456789.123456789", "3.141592653589793238", "1e308", "5e-324",
		"1559777808.0", "1559777808.999999999", "100", "1e22", "9007199254740993.0",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		texts = append(texts, fmt.Sprint(f))
	}
	for range 100 {
		texts = append(texts, fmt.Sprint(rng.Float64()*math.Pow(10, float64(rng.IntN(40)-20))))
	}
	var docs [][]byte
	for _, text := range texts {
		docs = append(docs, []byte(`[`+text+`]`))
	}
	want := pythonCanonical(t, docs)
	for i, text := range texts {
		n, err := pythonNumber(json.Number(text))
		if err != nil {
			t.Errorf("pythonNumber(%s): %v", text, err)
			continue
		}
		if got := "[" + string(n) + "]"; got != want[i] {
			t.Errorf("pythonNumber(%s) = %s, Python writes %s", text, got, want[i])
		}
	}
}

func TestPythonNumberRefusesOverflow(t *testing.T) {
	if n, err := pythonNumber("1e400"); err == nil {
		t.Errorf("pythonNumber(1e400) = %s, want an error: Python would write Infinity, which JSON lacks", n)
	}
}

func TestCanonicalGoValuesAsPythonWritesThem(t *testing.T) {
	type payload struct {
		Ratio float64 `json:"ratio"`
		Count int     `json:"count"`
	}
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"float64 whole", 3.0, "3.0"},
		{"float64 small", 1e-6, "1e-06"},
		{"float64 large", 1e16, "1e+16"},
		{"float64 negative zero", math.Copysign(0, -1), "-0.0"},
		{"struct through encoding/json", payload{Ratio: 1e-6, Count: 2}, `{"count":2,"ratio":1e-06}`},
		{"string slice", []string{"é", "a"}, `["\u00e9","a"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Canonical(tc.in)); got != tc.want {
				t.Errorf("Canonical = %s, want %s", got, tc.want)
			}
		})
	}
}

// BenchmarkCanonical writes the samples' canonical JSON; its baseline is
// encoding/json writing the same decoded values (also with sorted keys),
// measured in the same run.
func BenchmarkCanonical(b *testing.B) {
	samples := fedmsgSamples(b)
	fields := make([]map[string]any, len(samples))
	size := 0
	for i, s := range samples {
		env, err := Decode(s.envelope)
		if err != nil {
			b.Fatal(err)
		}
		fields[i] = env.Fields
		size += len(s.envelope)
	}
	for _, bc := range []struct {
		name string
		fn   func(map[string]any)
	}{
		{"hark", func(f map[string]any) { Canonical(f) }},
		{"baseline=encoding-json", func(f map[string]any) {
			if _, err := json.Marshal(f); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(samples)))
			for i := 0; b.Loop(); i++ {
				bc.fn(fields[i%len(fields)])
			}
		})
	}
}
