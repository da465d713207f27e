package meta

import (
	"strings"
	"testing"
)

func TestAppsaPyDumpsWritesPythonsText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"scalars", `{"b": true, "n": null, "f": 1.0, "i": 3}`,
			"{\n    \"b\": true,\n    \"f\": 1.0,\n    \"i\": 3,\n    \"n\": null\n}"},
		{"empty containers stay on their line", `{"l": [], "m": {}}`, "{\n    \"l\": [],\n    \"m\": {}\n}"},
		{"nested lists indent", `[[1], "x"]`, "[\n    [\n        1\n    ],\n    \"x\"\n]"},
		{"non-ASCII and controls are escaped", `"é\u0001\t\"\\😀~"`, `"\u00e9\u0001\t\"\\\ud83d\ude00~"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envelope(t, `{"topic": "t", "msg": `+tc.in+`}`)
			var b strings.Builder
			appsaWritePyJSON(&b, env.Msg, 0)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
