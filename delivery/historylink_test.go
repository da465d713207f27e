package delivery_test

import (
	"context"
	"strconv"
	"testing"

	"hark/delivery"
	"hark/store"
)

// capture is a Sender that keeps what it is given.
type capture struct{ batches []*delivery.Batch }

func (c *capture) Send(_ context.Context, b *delivery.Batch) (bool, error) {
	c.batches = append(c.batches, b)
	return false, nil
}

// Every item links to its notification on the web UI's history page,
// where a sender that cuts a long notification sends the reader.
func TestItemsLinkToTheirNotificationInTheHistory(t *testing.T) {
	c := &capture{}
	w := newWorld(t, setup{opts: func(o *delivery.Options) { o.Senders = delivery.Senders{store.KindEmail: c} }})
	w.queue(1)
	w.pass(0)
	if len(c.batches) != 1 || len(c.batches[0].Items) != 1 {
		t.Fatalf("sent %d batches, want 1 of 1 item", len(c.batches))
	}
	it := c.batches[0].Items[0]
	if want := "https://hark.example.org/history#n-" + strconv.FormatInt(it.NotificationID, 10); it.HistoryLink != want {
		t.Errorf("HistoryLink = %q, want %q", it.HistoryLink, want)
	}
	if want := "https://hark.example.org/notifications/" + strconv.FormatInt(it.NotificationID, 10) + "/exclude"; it.NotLikeThis != want {
		t.Errorf("NotLikeThis = %q, want %q", it.NotLikeThis, want)
	}
}
