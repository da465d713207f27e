package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
)

// maxLine bounds one input line: a fedmsg envelope is a few kB, a big
// koji or compose message can reach megabytes.
const maxLine = 64 << 20

// eachLine calls f with the number (from 1) and text of every non-blank
// line of r, until r ends, ctx is done or f returns an error, which it
// returns. The commands that read envelopes as JSON lines (meta, match,
// verify, history import) share it, so they agree on what a line is.
func eachLine(ctx context.Context, r io.Reader, f func(line int, text []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if err := f(line, text); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read line: %w", err)
	}
	return nil
}
