package templates

import "embed"

// IRC is the text/template of the lines the IRC bot sends (irc/lines.tmpl):
// a notification, a digest's summary line and its entries, and the bot's
// replies to commands, so wording changes without touching Go code.
//
//go:embed irc
var IRC embed.FS
