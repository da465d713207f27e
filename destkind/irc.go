package destkind

import (
	"fmt"
	"regexp"
)

// ircNick is RFC 2812's nickname: a letter or special first, then letters,
// digits, specials and '-'; networks allow longer ones than its 9, up to
// maxNick.
var ircNick = regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `_^{|}][A-Za-z0-9\[\]\\` + "`" + `_^{|}-]*$`)

const maxNick = 32

// irc is a nick the IRC bot messages.
var irc = Kind{
	Name: IRC, Title: "IRC", Example: "alice",
	Check: func(address string) error {
		if len(address) > maxNick || !ircNick.MatchString(address) {
			return fmt.Errorf("%q is not an IRC nick", address)
		}
		return nil
	},
}
