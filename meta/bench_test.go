package meta

import (
	"bytes"
	"os"
	"testing"

	"hark/bus"
)

// BenchmarkDescribe describes every sample once per iteration; ns/op is
// per message. BenchmarkDecodeBaseline decodes the same messages, so the
// two can be compared as a ratio on a busy machine.
func BenchmarkDescribe(b *testing.B) {
	d := Default()
	samples := loadSamples(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Describe(samples[i%len(samples)].env)
	}
}

// BenchmarkDecodeBaseline is bus.Decode of the same messages, the work
// every message costs before Describe.
func BenchmarkDecodeBaseline(b *testing.B) {
	data, err := os.ReadFile("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := bus.Decode(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}
