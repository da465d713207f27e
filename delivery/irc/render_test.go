package irc

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hark/delivery"
	"hark/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixed clock of rendering tests.
var now = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func item(i int, age time.Duration) delivery.Item {
	return delivery.Item{
		MsgID:       fmt.Sprintf("2026-%04d", i),
		Topic:       "org.fedoraproject.prod.bodhi.update.comment",
		App:         "bodhi",
		Subtitle:    fmt.Sprintf("ralph commented on bodhi update python-foo-1.%d-1.fc43", i),
		Link:        fmt.Sprintf("https://bodhi.fedoraproject.org/updates/FEDORA-2026-%04d", i),
		Time:        now.Add(-age),
		FilterName:  "my packages",
		NotLikeThis: fmt.Sprintf("https://hark.example.org/notifications/%d/exclude", i),
	}
}

func batch(n int, digest delivery.DigestReason, verbose, markup bool) *delivery.Batch {
	b := &delivery.Batch{User: "alice", Destination: store.Destination{Kind: store.KindIRC, Address: "alice"},
		Digest: digest, Verbose: verbose, Markup: markup, Location: time.UTC}
	for i := range n {
		b.Items = append(b.Items, item(i, time.Minute))
	}
	return b
}

func TestRenderGolden(t *testing.T) {
	late := batch(1, delivery.NotDigest, false, false)
	late.Items[0].Time = now.Add(-3 * time.Hour)
	long := batch(1, delivery.NotDigest, false, false)
	long.Items[0].Subtitle = strings.Repeat("a very long subtitle ", 40)
	huge := batch(1, delivery.NotDigest, false, true)
	huge.Items[0].Subtitle = strings.Repeat("a subtitle of a hundred kilobytes ", 3000)
	huge.Items[0].HistoryLink = "https://hark.example/history#n-42"
	hugeEntry := batch(2, delivery.DigestBatched, false, false)
	hugeEntry.Items[1].Subtitle = huge.Items[0].Subtitle
	hugeEntry.Items[1].HistoryLink = "https://hark.example/history#n-43"
	hugeCompact := batch(20, delivery.DigestFlood, false, false)
	hugeCompact.Items[3].Subtitle = huge.Items[0].Subtitle
	hugeCompact.Items[3].HistoryLink = "https://hark.example/history#n-44"
	flood := batch(100, delivery.DigestFlood, false, false)
	flood.FloodUntil = now.Add(10 * time.Minute)
	part := batch(3, delivery.DigestBatched, false, false)
	part.Part, part.Parts = 2, 3
	for _, tc := range []struct {
		name string
		b    *delivery.Batch
	}{
		{"notification", batch(1, delivery.NotDigest, false, false)},
		{"notification-markup", batch(1, delivery.NotDigest, false, true)},
		{"notification-late", late},
		{"notification-long", long},
		{"digest-terse", batch(3, delivery.DigestBatched, false, false)},
		{"digest-verbose", batch(3, delivery.DigestBatched, true, false)},
		{"digest-part", part},
		{"digest-flood-compact", flood},
		{"notification-cut", huge},
		{"digest-entry-cut", hugeEntry},
		{"digest-compact-cut", hugeCompact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRenderer(func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			lines, err := r.Lines(tc.b, budget(assumedPrefix("hark"), "alice"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, strings.Join(lines, "\n")+"\n")
		})
	}
}

func TestCompactDigestHoldsEveryEntry(t *testing.T) {
	r, err := NewRenderer(func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	b := batch(100, delivery.DigestFlood, false, false)
	width := budget(assumedPrefix("hark"), "alice")
	lines, err := r.Lines(b, width)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	for _, it := range b.Items {
		if !strings.Contains(all, it.Subtitle) {
			t.Errorf("digest lacks %q", it.Subtitle)
		}
	}
	if len(lines) > 25 {
		t.Errorf("100 entries took %d lines; the compact form should need far fewer", len(lines))
	}
}

func TestRenderRefusesAnEmptyBatch(t *testing.T) {
	r, err := NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lines(batch(0, delivery.DigestBatched, false, false), 400); err == nil {
		t.Error("an empty batch rendered without error")
	}
}

// golden compares got with testdata/name.golden, or rewrites it with
// -update so a template change is a reviewable diff.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

func TestBotTextGolden(t *testing.T) {
	r, err := NewRenderer(func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	confirmation := delivery.Confirmation{User: "alice", Code: "k7q2zpabcd", Link: "https://hark.example/confirm/1/k7q2zpabcd",
		Expires: now.Add(24 * time.Hour), Destination: store.Destination{Kind: store.KindIRC, Address: "alice"}}
	for _, tc := range []struct {
		name string
		data any
	}{
		{"help", nil},
		{"confirmation", confirmation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := r.Text(tc.name, tc.data, time.UTC, budget(assumedPrefix("hark"), "alice"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "text-"+tc.name, strings.Join(lines, "\n")+"\n")
		})
	}
}
