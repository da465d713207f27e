package webhook

import (
	"encoding/json"
	"time"

	"hark/delivery"
)

// The documents below are the webhook's stable, documented schema (see
// README, "Webhooks"): fields are added, never renamed or removed.

// Envelope is every document: its type, when it was made, and its data,
// the shape the Standard Webhooks specification recommends.
type Envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// BatchData is the data of a notification, a digest or a test.
type BatchData struct {
	User        string `json:"user"`
	Destination string `json:"destination"`
	// Digest is "" for a single notification, "batched" or "flood".
	Digest        string         `json:"digest,omitempty"`
	Part          int            `json:"part,omitempty"`
	Parts         int            `json:"parts,omitempty"`
	Notifications []Notification `json:"notifications"`
}

// Notification is one notification: the bus message it is about and the
// filter that made it.
type Notification struct {
	ID        int64     `json:"id,omitempty"` // hark's notification id; absent in a test
	MessageID string    `json:"message_id"`
	Topic     string    `json:"topic"`
	App       string    `json:"app"`
	Summary   string    `json:"summary"`
	Subtitle  string    `json:"subtitle,omitempty"`
	URL       string    `json:"url,omitempty"`
	Agent     string    `json:"agent,omitempty"`
	Usernames []string  `json:"usernames"`
	Packages  []string  `json:"packages"`
	Filter    Filter    `json:"filter"`
	Why       any       `json:"why"`
	Timestamp time.Time `json:"timestamp"`
	// HistoryURL is the notification on the user's history page.
	HistoryURL string `json:"history_url,omitempty"`
}

// Filter names the filter that triggered a notification.
type Filter struct {
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// ConfirmationData is the data of the first test delivery to an
// unconfirmed destination.
type ConfirmationData struct {
	User        string    `json:"user"`
	Destination string    `json:"destination"`
	Code        string    `json:"code"`
	Link        string    `json:"link"`
	Expires     time.Time `json:"expires"`
}

// Document is b as the webhook posts it.
func Document(b *delivery.Batch) Envelope {
	typ := TypeNotification
	switch {
	case b.Test:
		typ = TypeTest
	case b.Digest != delivery.NotDigest || len(b.Items) > 1:
		typ = TypeDigest
	}
	data := BatchData{
		User:          b.User,
		Destination:   b.Destination.Kind + ":" + b.Destination.Address,
		Digest:        string(b.Digest),
		Notifications: make([]Notification, len(b.Items)),
	}
	if b.Parts > 1 {
		data.Part, data.Parts = b.Part, b.Parts
	}
	var newest time.Time
	for i, it := range b.Items {
		n := Notification{
			ID: it.NotificationID, MessageID: it.MsgID, Topic: it.Topic, App: it.App,
			Summary: it.Title, Subtitle: it.Subtitle, URL: it.Link, Agent: it.Agent,
			Usernames: nonNil(it.Usernames), Packages: nonNil(it.Packages),
			Filter:    Filter{ID: it.FilterID, Name: it.FilterName, URL: it.FilterLink},
			Timestamp: it.Time.UTC(), HistoryURL: it.HistoryLink,
		}
		n.Why = json.RawMessage("null")
		if len(it.Why) > 0 && json.Valid(it.Why) {
			n.Why = it.Why
		}
		data.Notifications[i] = n
		if it.Queued.After(newest) {
			newest = it.Queued
		}
	}
	if newest.IsZero() {
		newest = time.Now()
	}
	return Envelope{Type: typ, Timestamp: newest.UTC(), Data: data}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
