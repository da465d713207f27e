package destkind

import "hark/internal/hookurl"

// webhook is an http or https URL that gets a signed JSON POST per
// notification or digest (delivery/webhook).
var webhook = Kind{
	Name: Webhook, Title: "Webhook URL", Example: "https://ci.example.org/hooks/hark",
	Check: hookurl.Webhook,
	Settings: []Setting{{
		Key: "secret", Title: "Signing secret", Type: Text, Secret: true,
		Help: "The Standard Webhooks secret requests are signed with (whsec_ and base64); hark makes one when none is given.",
		Check: func(v string) (string, error) {
			_, err := hookurl.Secret(v)
			return v, err
		},
		Generate: hookurl.NewSecret,
	}},
}

// ntfy is an ntfy topic URL, pushed to the ntfy apps (delivery/ntfy).
var ntfy = Kind{
	Name: Ntfy, Title: "ntfy topic URL", Example: "https://ntfy.sh/my-hark-alerts",
	Check: func(address string) error {
		_, _, err := hookurl.Ntfy(address)
		return err
	},
	Settings: []Setting{{
		Key: "token", Title: "Access token", Type: Text, Secret: true,
		Help:  "An ntfy access token (tk_…) for a protected topic; https://:TOKEN@host/topic works too.",
		Check: func(v string) (string, error) { return v, hookurl.NtfyToken(v) },
	}},
}
