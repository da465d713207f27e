package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"hark/store"
)

func TestTermsWithPrefixCompleteFromHistory(t *testing.T) {
	s := openTest(t)
	termMessages(t, s)
	for _, tc := range []struct {
		field, prefix string
		limit         int
		want          []string
	}{
		{store.TermPackage, "k", 10, []string{"kernel"}},
		{store.TermPackage, "", 10, []string{"glibc", "kernel"}},
		{store.TermPackage, "", 1, []string{"glibc"}},
		{store.TermPackage, "kernel", 10, []string{"kernel"}},
		{store.TermUser, "", 10, []string{"alice", "bob", "carol"}},
		{store.TermUser, "z", 10, nil},
	} {
		t.Run(tc.field+" "+tc.prefix, func(t *testing.T) {
			got, err := s.TermsWithPrefix(context.Background(), tc.field, tc.prefix, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTermsWithPrefixSeeksTheTermsKey(t *testing.T) {
	s := openTest(t)
	for _, q := range []string{selectFirstTermValue, selectNextTermValue} {
		joined := strings.Join(queryPlan(t, s, q, "package", "k", "k\U0010FFFF"), "; ")
		if !strings.Contains(joined, "USING PRIMARY KEY (field=? AND value>? AND value<?)") || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("plan: %s", joined)
		}
	}
}
