package postgres

import (
	"strings"
	"testing"
)

// TestWhereNeverShowsThePassword: the password stays out of what logs
// show, wherever the URL puts it.
func TestWhereNeverShowsThePassword(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://hark:s3cret@db.example.org:5433/hark", "postgres://hark@db.example.org:5433/hark"},
		{"postgres://hark@db.example.org/hark?sslmode=disable&password=s3cret", "postgres://hark@db.example.org:5432/hark"},
		{"host=db.example.org user=hark password=s3cret dbname=hark", "postgres://hark@db.example.org:5432/hark"},
		{"postgres://[::1:bad", "postgres"},
	} {
		got := Where(tc.url)
		if got != tc.want || strings.Contains(got, "s3cret") {
			t.Errorf("Where(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}
