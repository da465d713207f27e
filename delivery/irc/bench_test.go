package irc

import (
	"testing"
	"time"

	"hark/delivery"
)

// BenchmarkRender renders one notification (the baseline) and a digest
// of 100 in the compact form; compare the two in the same run.
func BenchmarkRender(b *testing.B) {
	r, err := NewRenderer(func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	width := budget(assumedPrefix("hark"), "alice")
	for _, bc := range []struct {
		name  string
		batch *delivery.Batch
	}{
		{"notification", batch(1, delivery.NotDigest, false, true)},
		{"digest-100", batch(100, delivery.DigestFlood, false, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Lines(bc.batch, width); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
