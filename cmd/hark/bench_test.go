package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestBenchMatchPrintsTheFiguresLast(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench", "match", "--samples", "../../testdata/fedmsg-samples.jsonl", "--users", "100", "--duration", "1ms"}
	if code := run(context.Background(), args, stdio{strings.NewReader(""), &out, &errOut}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^index_msgs_per_s=\d+ naive_msgs_per_s=\d+ ratio=[\d.]+ heap_mb=[\d.]+$`).MatchString(last) {
		t.Errorf("last line %q is not the figures line", last)
	}
}

func TestBenchUnknownName(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"bench", "nope"}, stdio{strings.NewReader(""), &out, &errOut}); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
