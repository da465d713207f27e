package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"hark/store"
)

// The sent journals' part of the contract: records read back per
// instance and kind, in order, by another process too, until settled.

func testSentJournalRecordsUntilSettled(t *testing.T, b Backend) {
	name := b.Fresh(t)
	a, other := b.openAt(t, name), b.openAt(t, name) // two processes
	ctx := context.Background()
	at := time.Now().Truncate(time.Millisecond)
	first, err := a.AppendSent(ctx, "a", store.KindEmail, []int64{17, 18}, at)
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.AppendSent(ctx, "a", store.KindEmail, []int64{19}, at.Add(time.Second))
	if err != nil || second <= first {
		t.Fatalf("second record: %d, %v (first %d)", second, err, first)
	}
	if _, err := a.AppendSent(ctx, "a", store.KindIRC, []int64{20}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := other.AppendSent(ctx, "b", store.KindEmail, []int64{21}, at); err != nil {
		t.Fatal(err)
	}
	ids := func(rs []store.SentRecord) [][]int64 {
		var out [][]int64
		for _, r := range rs {
			out = append(out, r.IDs)
		}
		return out
	}
	got, err := other.SentRecords(ctx, "a", store.KindEmail) // b taking a's work over
	if err != nil || !slices.EqualFunc(ids(got), [][]int64{{17, 18}, {19}}, slices.Equal) ||
		got[0].ID != first || !got[0].At.Equal(at) || !got[1].At.Equal(at.Add(time.Second)) {
		t.Fatalf("a's email records: %+v, %v", got, err)
	}
	if err := a.SettleSent(ctx, "a", store.KindEmail, first); err != nil {
		t.Fatal(err)
	}
	if got, err := a.SentRecords(ctx, "a", store.KindEmail); err != nil || len(got) != 1 || got[0].ID != second {
		t.Errorf("after settling the first record: %+v, %v", got, err)
	}
	if err := a.SettleSent(ctx, "a", store.KindEmail, second); err != nil {
		t.Fatal(err)
	}
	if got, err := a.SentRecords(ctx, "a", store.KindEmail); err != nil || len(got) != 0 {
		t.Errorf("after settling all: %+v, %v", got, err)
	}
	third, err := a.AppendSent(ctx, "a", store.KindEmail, []int64{22}, at)
	if err != nil || third <= second {
		t.Errorf("a record after a settlement: %d, %v; want an id above %d", third, err, second)
	}
	for _, c := range []struct {
		instance, kind string
		want           int64
	}{{"a", store.KindIRC, 20}, {"b", store.KindEmail, 21}} {
		if got, err := a.SentRecords(ctx, c.instance, c.kind); err != nil || len(got) != 1 || !slices.Equal(got[0].IDs, []int64{c.want}) {
			t.Errorf("%s %s records after a's email settled: %+v, %v", c.instance, c.kind, got, err)
		}
	}
	if got, err := a.SentRecords(ctx, "nobody", store.KindEmail); err != nil || len(got) != 0 {
		t.Errorf("records of an instance that wrote none: %+v, %v", got, err)
	}
}
