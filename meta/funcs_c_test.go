package meta

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFuncsC checks the Python idioms the forge processors copy, against
// what Python prints for the same input.
func TestFuncsC(t *testing.T) {
	var root map[string]any
	d := json.NewDecoder(strings.NewReader(`{"msg": {
		"message": "first line\r\nsecond", "one": "only", "none": "", "vt": "a\u000bb",
		"action": "recover", "mixed": "action_run-x2y"}}`))
	d.UseNumber()
	if err := d.Decode(&root); err != nil {
		t.Fatal(err)
	}
	set := newTemplateSet(nil)
	for _, tc := range []struct{ name, src, want string }{
		{"first line ends at CR LF", `{{ pyFirstLine .msg.message }}`, "first line"},
		{"first line of one line", `{{ pyFirstLine .msg.one }}`, "only"},
		{"first line ends at a vertical tab", `{{ pyFirstLine .msg.vt }}`, "a"},
		{"first line of nothing", `[{{ pyFirstLine .msg.none }}]`, "[]"},
		{"title of a word", `{{ pyTitle .msg.action }}`, "Recover"},
		{"title restarts after non-letters", `{{ pyTitle .msg.mixed }}`, "Action_Run-X2Y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := compileTemplate("test", tc.src, set)
			if err != nil {
				t.Fatal(err)
			}
			if got := tm.execute(getState(), root); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
