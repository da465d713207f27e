package destkind

import (
	"fmt"
	"regexp"
	"strings"
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

// maxChannel is RFC 2812's longest channel name.
const maxChannel = 50

// ircChannel is a channel the IRC bot joins and posts a feed to: #name
// or &name, without the spaces, commas, colons and BELs that RFC 2812
// keeps out of channel names.
var ircChannel = Kind{
	Name: IRCChannel, Title: "IRC channel", Example: "#fedora-hark",
	Check: func(address string) error {
		if len(address) < 2 || len(address) > maxChannel || !strings.ContainsRune("#&", rune(address[0])) ||
			strings.ContainsAny(address, " ,:\x07\r\n\x00") {
			return fmt.Errorf("%q is not an IRC channel (#name, at most %d characters, no spaces or commas)", address, maxChannel)
		}
		return nil
	},
}
