package hark

import (
	"hark/config"
	"hark/delivery/ntfy"
	"hark/delivery/webhook"
	"hark/store"
)

// newWebhookSender is the webhook kind's sender as config's webhook
// section asks for it. Each destination signs with its stored secret, or
// one derived from key (the unsubscribe key beside the database) when it
// was made before secrets were stored.
func newWebhookSender(cfg *config.Config, key []byte) (*webhook.Sender, error) {
	return webhook.New(webhook.Options{
		Timeout:      cfg.Webhook.Timeout,
		AllowPrivate: cfg.Webhook.AllowPrivate,
		UserAgent:    "hark (+" + cfg.Web.BaseURL + ")",
		Secret: func(d store.Destination) (webhook.Secret, error) {
			return webhook.DestinationSecret(key, d)
		},
	})
}

// newNtfySender is the ntfy kind's sender; it shares the webhook
// section's guard and timeout, since both call URLs users typed.
func newNtfySender(cfg *config.Config) *ntfy.Sender {
	return ntfy.New(ntfy.Options{Timeout: cfg.Webhook.Timeout, AllowPrivate: cfg.Webhook.AllowPrivate})
}
