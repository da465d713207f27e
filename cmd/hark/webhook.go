package main

import (
	"hark/config"
	"hark/delivery/ntfy"
	"hark/delivery/webhook"
	"hark/store"
)

// newWebhookSender is the webhook kind's sender as config's webhook
// section asks for it. Each destination's signing secret is derived from
// key (the unsubscribe key beside the database), so it is stable across
// restarts and needs no storage.
func newWebhookSender(cfg *config.Config, key []byte) (*webhook.Sender, error) {
	return webhook.New(webhook.Options{
		Timeout:      cfg.Webhook.Timeout,
		AllowPrivate: cfg.Webhook.AllowPrivate,
		UserAgent:    "hark (+" + cfg.Web.BaseURL + ")",
		Secret: func(d store.Destination) (webhook.Secret, error) {
			return webhook.DeriveSecret(key, d), nil
		},
	})
}

// newNtfySender is the ntfy kind's sender; it shares the webhook
// section's guard and timeout, since both call URLs users typed.
func newNtfySender(cfg *config.Config) *ntfy.Sender {
	return ntfy.New(ntfy.Options{Timeout: cfg.Webhook.Timeout, AllowPrivate: cfg.Webhook.AllowPrivate})
}
