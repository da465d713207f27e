package accounts

import (
	"slices"
	"testing"
)

func TestMatrixIDsOfChatHandles(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{[]string{"irc:/carol", "matrix:/Carol"}, []string{"@carol:fedora.im"}},
		{[]string{"matrix://matrix.org/carol", "@carol:example.org"}, []string{"@carol:matrix.org", "@carol:example.org"}},
		{[]string{"matrix:/carol", "@carol:fedora.im"}, []string{"@carol:fedora.im"}},
		{[]string{"matrix:/", "@:x", "matrix:/bad nick", "carol"}, nil},
	} {
		if got := MatrixIDs(tc.in, "fedora.im"); !slices.Equal(got, tc.want) {
			t.Errorf("MatrixIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
