package irc

import (
	"strings"
	"unicode/utf8"
)

// maxLine is the protocol's limit on one line, CR LF included (RFC 1459
// §2.3); message tags (IRCv3) are counted separately and do not eat it.
const maxLine = 512

// Assumed lengths of the parts of the bot's prefix that the server has
// not told us yet: what the receiving client sees is
// ":nick!user@host PRIVMSG target :text\r\n", and user and host are the
// server's to choose (ident "~", cloaks). 63 is the longest hostname.
const (
	assumedUser = 10
	assumedHost = 63
)

// budget is how many bytes of text fit in one PRIVMSG to target as the
// receiving client sees it, given the bot's prefix "nick!user@host".
func budget(prefix, target string) int {
	return maxLine - len(":"+prefix+" PRIVMSG "+target+" :\r\n")
}

// clean makes text safe for one IRC line: CR, LF and NUL would end the
// line or the message early (and let text inject commands), so they become
// spaces.
func clean(text string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', 0:
			return ' '
		}
		return r
	}, text)
}

// split cuts text into lines of at most n bytes, on UTF-8 character
// boundaries: at the last space that leaves the line at least half full,
// else as late as a whole character allows, never inside a mIRC colour
// code. It always makes progress, and returns no line for empty text.
func split(text string, n int) []string {
	text = clean(text)
	var out []string
	for len(text) > n {
		cut := runeCut(text, n)
		if sp := strings.LastIndexByte(text[:cut], ' '); sp >= n/2 {
			cut = sp
		}
		if cut == 0 { // n is smaller than one character: send it whole
			_, cut = utf8.DecodeRuneInString(text)
		}
		out = append(out, text[:cut])
		text = strings.TrimLeft(text[cut:], " ")
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

// runeCut is the largest i <= n such that text[:i] ends on a character
// boundary and not inside a colour code (\x03 followed by up to
// "NN,NN").
func runeCut(text string, n int) int {
	i := n
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	if c := strings.LastIndexByte(text[max(0, i-5):i], colour); c >= 0 {
		c += max(0, i-5)
		if end := c + colourCodeLen(text[c:]); end > i {
			i = c
		}
	}
	return i
}

// colourCodeLen is the length of the colour code at the start of s
// ("\x03", "\x0304", "\x0304,12").
func colourCodeLen(s string) int {
	i := 1
	digits := func(limit int) {
		for k := 0; k < limit && i < len(s) && s[i] >= '0' && s[i] <= '9'; k++ {
			i++
		}
	}
	digits(2)
	if i > 1 && i+1 < len(s) && s[i] == ',' && s[i+1] >= '0' && s[i+1] <= '9' {
		i++
		digits(2)
	}
	return i
}
