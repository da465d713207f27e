// Package meta works out what a bus message is about: its app, a title,
// subtitle and link for people, and the usernames, packages, agent and
// objects that rules match on. Processors are data, compiled at load; no
// I/O happens per message.
package meta

// Description is what one message is about. Sets are sorted and
// de-duplicated; absent values are "" or nil.
type Description struct {
	App       string   `json:"app"`
	Title     string   `json:"title"`
	Subtitle  string   `json:"subtitle"`
	Link      string   `json:"link"`
	Icon      string   `json:"icon"`
	Usernames []string `json:"usernames"`
	Packages  []string `json:"packages"`
	Agent     string   `json:"agent"`
	Objects   []string `json:"objects"`
	// Groups are the groups the publisher declares the message concerns
	// (fedora-messaging's group headers); processors extract none.
	Groups []string `json:"groups,omitempty"`
}

// FiledUnder is what the history files d's message under: the store
// reads it here rather than decoding the description's JSON again.
func (d *Description) FiledUnder() (app, agent string, usernames, packages []string) {
	return d.App, d.Agent, d.Usernames, d.Packages
}
