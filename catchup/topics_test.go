package catchup

import "testing"

func TestBindsAsATopicExchangeRoutes(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"#", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.fedoraproject.prod.#", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.fedoraproject.prod.#", "org.fedoraproject.stg.bodhi.update.comment", false},
		{"org.fedoraproject.*.bodhi.#", "org.fedoraproject.prod.bodhi.update.comment", true},
		{"org.fedoraproject.*.bodhi.#", "org.fedoraproject.prod.koji.build", false},
		{"org.fedoraproject.prod.#", "org.fedoraproject.prod", true},
		{"*.b", "a.b", true},
		{"*.b", "b", false},
		{"a.*", "a.b.c", false},
		{"a.#.c", "a.c", true},
		{"a.#.c", "a.x.y.c", true},
		{"a.b", "a.b", true},
		{"a.b", "a.bc", false},
	} {
		if got := Binds([]string{tc.pattern}, tc.key); got != tc.want {
			t.Errorf("Binds(%q, %q) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
}
