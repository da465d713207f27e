package meta

import (
	"bytes"
	"os"
	"testing"

	"hark/bus"
)

// BenchmarkDescribe describes the samples in turn, one per iteration, so
// ns/op is the average per message. BenchmarkDecodeBaseline decodes the
// same messages, so the two can be compared as a ratio on a busy machine;
// cpu-ns/op counts only this thread's CPU time.
func BenchmarkDescribe(b *testing.B) {
	d := Default()
	samples := loadSamples(b)
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			d.Describe(samples[i%len(samples)].env)
		}
	})
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
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			if _, err := bus.Decode(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDescribeFM describes the fedora-messaging messages of
// testdata/fm-messages.jsonl in turn, one per iteration;
// BenchmarkDecodeFMBaseline decodes the same envelopes, so the two read
// as a ratio.
func BenchmarkDescribeFM(b *testing.B) {
	d := Default()
	msgs := loadFMMessages(b)
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			d.Describe(msgs[i%len(msgs)].env)
		}
	})
}

func BenchmarkDecodeFMBaseline(b *testing.B) {
	msgs := loadFMMessages(b)
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			if _, err := bus.Decode(msgs[i%len(msgs)].raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
