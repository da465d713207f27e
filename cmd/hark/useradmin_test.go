package main

import (
	"context"
	"strings"
	"testing"
)

func TestUserAdminMakesAnExistingUserAdminAndBack(t *testing.T) {
	e := newAdminEnv(t)
	adminMust(t, "", "user", "add", "alice")
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"user", "admin", "alice"}, true},
		{[]string{"user", "admin", "alice", "--revoke"}, false},
	} {
		adminMust(t, "", tc.args...)
		s := e.open(t)
		u, err := s.UserByName(context.Background(), "alice")
		s.Close()
		if err != nil || u.Admin != tc.want {
			t.Errorf("after %v: admin %v (%v), want %v", tc.args, u.Admin, err, tc.want)
		}
	}
	if code, _, errOut := adminRun(t, "", "user", "admin", "nobody"); code == 0 || !strings.Contains(errOut, "nobody") {
		t.Errorf("unknown user: exit %d: %s", code, errOut)
	}
}
