package destkind

import "hark/internal/hookurl"

// webhook is an http or https URL that gets a signed JSON POST per
// notification or digest (delivery/webhook).
var webhook = Kind{
	Name: Webhook, Title: "Webhook URL", Example: "https://ci.example.org/hooks/hark",
	Check: hookurl.Webhook,
}

// ntfy is an ntfy topic URL, pushed to the ntfy apps (delivery/ntfy).
var ntfy = Kind{
	Name: Ntfy, Title: "ntfy topic URL", Example: "https://ntfy.sh/my-hark-alerts",
	Check: func(address string) error {
		_, _, err := hookurl.Ntfy(address)
		return err
	},
}
