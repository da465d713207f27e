package delivery

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestJournalReadsBackWhatWasWritten(t *testing.T) {
	t1, t2 := time.UnixMilli(1767225600000), time.UnixMilli(1767225600123)
	whole := string(appendRecord(nil, []int64{1, 2}, t1)) + string(appendRecord(nil, []int64{3}, t2))
	fourth := string(appendRecord(nil, []int64{4}, t2))
	for _, tc := range []struct {
		name    string
		file    string
		want    map[int64]time.Time
		skipped int
	}{
		{"two records", whole, map[int64]time.Time{1: t1, 2: t1, 3: t2}, 0},
		{"the last record torn by a kill mid-write", whole + "1767225600200 4,5", map[int64]time.Time{1: t1, 2: t1, 3: t2}, 1},
		{"a record cut right before its newline", whole + fourth[:len(fourth)-1], map[int64]time.Time{1: t1, 2: t1, 3: t2}, 1},
		{"garbage a power loss left", whole + "\x00\x00\x00\n" + "1767225600200 9 00000000\n", map[int64]time.Time{1: t1, 2: t1, 3: t2}, 2},
		{"an id sent again later", whole + string(appendRecord(nil, []int64{1}, t2)), map[int64]time.Time{1: t2, 2: t1, 3: t2}, 0},
		{"empty", "", map[int64]time.Time{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sent")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, skipped, err := readJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, tc.want, time.Time.Equal) || skipped != tc.skipped {
				t.Errorf("read %v, skipped %d; want %v, skipped %d", got, skipped, tc.want, tc.skipped)
			}
		})
	}
}

func TestJournalOfNoFileIsEmpty(t *testing.T) {
	got, skipped, err := readJournal(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(got) != 0 || skipped != 0 {
		t.Errorf("readJournal of a missing file = %v, %d, %v; want nothing", got, skipped, err)
	}
}

// TestJournalTruncatesOnceNothingIsPending follows one journal through
// two sends, their marks, a send that failed after its hand-off, and a
// restart.
func TestJournalTruncatesOnceNothingIsPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sent")
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1767225600000)
	ids := func() []int64 {
		t.Helper()
		sent, _, err := readJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(sent))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if j.needsReplay() {
		t.Error("a new journal needs a replay")
	}
	must(j.sent(t.Context(), []int64{1, 2}, at))
	must(j.sent(t.Context(), []int64{3}, at))
	must(j.settled(t.Context(), []int64{1, 2}))
	if got := ids(); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("with 3 pending the journal holds %v, want 1, 2, 3", got)
	}
	must(j.settled(t.Context(), []int64{3}))
	if got := ids(); len(got) != 0 {
		t.Errorf("with nothing pending the journal holds %v, want nothing", got)
	}
	must(j.sent(t.Context(), []int64{4}, at)) // appends at the start of the emptied file
	must(j.sent(t.Context(), []int64{5}, at))
	must(j.settled(t.Context(), []int64{5})) // 5 failed after its hand-off
	if got := ids(); !slices.Equal(got, []int64{4, 5}) {
		t.Errorf("after a truncation the journal holds %v, want 4, 5", got)
	}
	must(j.close())

	again, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.close()
	if !again.needsReplay() {
		t.Error("a journal a process left with records does not ask for a replay")
	}
}
