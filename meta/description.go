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
	// Groups are the groups the message concerns: what the processors
	// extract and what the publisher declares (fedora-messaging's group
	// headers).
	Groups []string `json:"groups,omitempty"`
	// AppName is the app's display name as fedora-messaging schemas give
	// it ("Koji", "bodhi"); App is the topic's token.
	AppName string `json:"app_name"`
	// Body is the long text (a schema's __str__), for email bodies; ""
	// when the processor writes none (LongText then gives fedora-messaging's
	// default from the envelope).
	Body string `json:"body"`
	// Containers, Modules and Flatpaks are the artifacts of those kinds
	// the message is about; each is also in Objects as "containers/NAME",
	// "modules/NAME", "flatpaks/NAME".
	Containers []string `json:"containers,omitempty"`
	Modules    []string `json:"modules,omitempty"`
	Flatpaks   []string `json:"flatpaks,omitempty"`
}

// FiledUnder is what the history files d's message under: the store
// reads it here rather than decoding the description's JSON again.
func (d *Description) FiledUnder() (app, agent string, usernames, packages []string) {
	return d.App, d.Agent, d.Usernames, d.Packages
}
