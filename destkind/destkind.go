// Package destkind describes the kinds of destination notifications go
// to (email, IRC): each kind's name, title, example and address syntax,
// the schema of its own settings (a webhook's secret), and the
// "kind:address" spelling users type.
// It is the one place that knows the kinds: the store, filters, the web
// UI, the CLI and delivery ask it. A new kind is a file describing it
// and one line in table.
package destkind

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is one kind of destination.
type Kind struct {
	Name  string // as stored and spelled before the colon: "email"
	Title string // as pages show it: "Email"
	// Example is an address of this kind, for help texts.
	Example string
	// Check reports whether address is one of this kind, in words a user
	// understands.
	Check func(address string) error
	// Settings is the kind's schema (see Setting): none for most.
	Settings []Setting
}

// table is every kind, in the order help texts and pages list them.
var table = []Kind{
	email,
	irc,
	ircChannel,
	matrix,
	matrixRoom,
	webhook,
	ntfy,
}

// Names of the kinds built in, for code that names one.
const (
	Email = "email"
	IRC   = "irc"
	// IRCChannel is a feed to an IRC channel rather than a nick.
	IRCChannel = "irc-channel"
	Matrix     = "matrix"
	// MatrixRoom is a feed to a room rather than a person.
	MatrixRoom = "matrix-room"
	// Webhook and Ntfy are delivered by delivery/webhook and
	// delivery/ntfy.
	Webhook = "webhook"
	Ntfy    = "ntfy"
)

// Names is every kind's name, in order.
func Names() []string {
	names := make([]string, len(table))
	for i, k := range table {
		names[i] = k.Name
	}
	return names
}

// Lookup is the kind called name.
func Lookup(name string) (Kind, bool) {
	i := slices.IndexFunc(table, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return table[i], true
}

// Check reports whether address is a valid destination of kind.
func Check(kind, address string) error {
	k, ok := Lookup(kind)
	if !ok {
		return fmt.Errorf("unknown destination kind %q (want %s)", kind, Choices())
	}
	return k.Check(address)
}

// Parse splits "kind:address" (email:alice@example.org, irc:alice) and
// checks it.
func Parse(s string) (kind, address string, err error) {
	kind, address, ok := strings.Cut(s, ":")
	if !ok {
		var examples []string
		for _, k := range table {
			examples = append(examples, Spell(k.Name, k.Example))
		}
		return "", "", fmt.Errorf("%q is not KIND:ADDRESS (e.g. %s)", s, orList(examples))
	}
	return kind, address, Check(kind, address)
}

// Spell is the "kind:address" spelling of a destination.
func Spell(kind, address string) string { return kind + ":" + address }

// Choices is the kinds as a help text lists them: "email or irc".
func Choices() string { return orList(Names()) }

// orList is "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
