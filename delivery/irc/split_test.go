package irc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		width int
		want  []string
	}{
		{"short text is one line", "hello world", 20, []string{"hello world"}},
		{"empty text is no line", "", 20, nil},
		{"breaks at the last space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"breaks a long word where it must", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"never inside a character", "ééééé", 5, []string{"éé", "éé", "é"}},
		{"a four-byte character stays whole", "a😀b", 4, []string{"a", "😀", "b"}},
		{"newlines cannot end the line early", "one\r\ntwo", 20, []string{"one  two"}},
		{"not inside a colour code", "ab\x0312cd", 4, []string{"ab", "\x0312c", "d"}},
		{"width smaller than a character still progresses", "😀😀", 2, []string{"😀", "😀"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := split(tc.text, tc.width)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("split(%q, %d) = %q, want %q", tc.text, tc.width, got, tc.want)
			}
		})
	}
}

func TestSplitKeepsEveryLineValidAndWithinWidth(t *testing.T) {
	text := strings.Repeat("Ünïcödé wörds — ½ 日本語テキスト 😀 ", 60)
	for width := 4; width < 200; width += 7 {
		lines := split(text, width)
		for _, l := range lines {
			if len(l) > width {
				t.Fatalf("width %d: line of %d bytes: %q", width, len(l), l)
			}
			if !utf8.ValidString(l) {
				t.Fatalf("width %d: line cut inside a character: %q", width, l)
			}
		}
		noSpace := func(s string) string { return strings.ReplaceAll(s, " ", "") }
		if noSpace(strings.Join(lines, "")) != noSpace(text) {
			t.Fatalf("width %d: text changed by splitting", width)
		}
	}
}

func TestBudgetCountsTheReceiversPrefix(t *testing.T) {
	prefix := "hark!~hark@127.0.0.1"
	line := ":" + prefix + " PRIVMSG alice :" + strings.Repeat("x", budget(prefix, "alice")) + "\r\n"
	if len(line) != maxLine {
		t.Errorf("a full line is %d bytes, want %d", len(line), maxLine)
	}
}
