package delivery

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"hark/bus"
	"hark/meta"
	"hark/store"
)

// defaultMaxDigest bounds a digest for senders that state no limit.
const defaultMaxDigest = 100

// render is the render stage: the claimed notifications ns of destination
// destID as Batches, one per notification, or digests of at most the
// sender's MaxDigest items each (a larger digest is split into parts,
// never cut).
func (d *Deliverer) render(ctx context.Context, dir *snapshot, destID int64, ns []store.Notification, t take) ([]*Batch, error) {
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = n.MsgKey
	}
	msgs, err := d.o.Store.MessagesByKey(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	items := make([]Item, len(ns))
	for i, n := range ns {
		items[i] = d.item(dir, n, msgs[n.MsgKey])
	}
	if t.digest != NotDigest {
		groupByObject(items)
	}
	dest := dir.dests[destID]
	u := dir.users[dest.UserID]
	base := Batch{User: u.name, Destination: dest, Location: u.loc, Verbose: dest.Verbose, Markup: dest.Markup,
		Digest: t.digest, FloodUntil: t.floodUntil}
	size := 1
	if t.digest != NotDigest {
		size = defaultMaxDigest
		if l, ok := d.o.Senders[dest.Kind].(DigestLimiter); ok && l.MaxDigest() > 0 {
			size = l.MaxDigest()
		}
	}
	var out []*Batch
	for start := 0; start < len(items); start += size {
		b := base
		b.Items = items[start:min(start+size, len(items))]
		out = append(out, &b)
	}
	if t.digest != NotDigest && len(out) > 1 {
		for i, b := range out {
			b.Part, b.Parts = i+1, len(out)
		}
	}
	return out, nil
}

// groupByObject puts a digest's items about one app and object (one
// update, one build: Item.Thread) next to each other, the groups in the
// order their first item came and each group in its own order, so a
// reader sees an update's story in one place, and a split digest keeps
// it in one part as far as the part's size allows.
func groupByObject(items []Item) {
	type key struct{ app, thread string }
	first := map[key]int{}
	for i, it := range items {
		k := key{it.App, it.Thread}
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Compare(first[key{a.App, a.Thread}], first[key{b.App, b.Thread}])
	})
}

// item is notification n of message m (the zero Message when the history
// lost it, in which case the item still names the message and filter).
func (d *Deliverer) item(dir *snapshot, n store.Notification, m store.Message) Item {
	var desc meta.Description
	if len(m.Description) > 0 {
		// A description that does not decode leaves the fields empty; the
		// notification still goes out with its topic and msg_id.
		_ = json.Unmarshal(m.Description, &desc)
	}
	severity := bus.SeverityInfo // every ZeroMQ message
	if bytes.Contains(m.Envelope, []byte(`"headers"`)) {
		if env, err := bus.Decode(m.Envelope); err == nil {
			if env.Severity != 0 {
				severity = env.Severity
			}
			// A fedora-messaging message whose processor writes no
			// body is mailed with the base class's text, made from the
			// envelope.
			if desc.Body == "" {
				desc.Body = meta.LongText(env, &desc)
			}
		}
	}
	it := Item{
		NotificationID: n.ID, MsgID: n.MsgKey, Topic: m.Topic,
		App: desc.App, Title: desc.Title, Subtitle: desc.Subtitle, Body: desc.Body, Link: desc.Link, Icon: desc.Icon,
		Agent: desc.Agent, Usernames: desc.Usernames, Packages: desc.Packages, Severity: severity,
		Time: m.Timestamp, Queued: n.Created, Why: n.Why, FilterID: n.FilterID, attempts: n.Attempts,
		Thread: thread(&desc),
	}
	if n.ID != 0 {
		it.HistoryLink = d.o.BaseURL + "/history#n-" + strconv.FormatInt(n.ID, 10)
	}
	if f, ok := dir.filters[n.FilterID]; ok && n.FilterID != 0 {
		it.FilterName = f.Name
		it.FilterLink = d.o.BaseURL + "/filters/" + strconv.FormatInt(f.ID, 10)
		it.Unsubscribe = d.o.BaseURL + "/unsubscribe/" + d.UnsubscribeToken(f.UserID, f.ID, f.Created)
		if n.ID != 0 {
			it.NotLikeThis = d.o.BaseURL + "/notifications/" + strconv.FormatInt(n.ID, 10) + "/exclude"
		}
	}
	return it
}

// thread is the object desc is about, as Item.Thread names it: the link
// is the object's own page (the update, the build), so every message
// about it shares one; without a link, the app and its first object.
func thread(desc *meta.Description) string {
	switch {
	case desc.Link != "":
		return desc.Link
	case len(desc.Objects) > 0:
		return desc.App + ":" + desc.Objects[0]
	}
	return ""
}
