package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"hark/store"
)

// fixture is a user with one confirmed email destination and one filter
// sending to it.
type fixture struct {
	user   store.User
	dest   store.Destination
	filter store.Filter
}

// seed makes a fixture named name.
func seed(t testing.TB, s store.Store, name string, oneshot bool) fixture {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.User{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: store.KindEmail, Address: name + "@example.org", Confirmed: true, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.SaveFilter(ctx, store.Filter{UserID: u.ID, Name: "bodhi", Active: true, Oneshot: oneshot,
		Rules:          []store.Rule{{Kind: "topic", Args: json.RawMessage(`{"glob":"*.bodhi.*"}`)}},
		DestinationIDs: []int64{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{u, d, f}
}

// message is a bodhi message of key at ts.
func message(key string, ts time.Time) store.Message {
	return store.Message{Key: key, Topic: "org.fedoraproject.prod.bodhi.update.comment", Timestamp: ts,
		Envelope: json.RawMessage(`{"msg_id":"` + key + `"}`), Description: json.RawMessage(`{"app":"bodhi"}`)}
}

// accepted is message key matched by f's filter.
func (f fixture) accepted(key string) store.Accepted {
	return store.Accepted{Message: message(key, time.Unix(1700000000, 0)), Matches: []store.Match{{
		UserID: f.user.ID, DestinationID: f.dest.ID, FilterID: f.filter.ID, Oneshot: f.filter.Oneshot,
		Why: json.RawMessage(`[{"kind":"topic","matched":true}]`)}}}
}

// termMessages stores four messages, one a minute, described as given.
func termMessages(t *testing.T, s store.Store) []store.Message {
	t.Helper()
	descs := []struct{ topic, desc string }{
		{"org.fedoraproject.prod.bodhi.update.comment", `{"app":"bodhi","packages":["kernel","glibc"],"usernames":["alice"],"agent":"alice"}`},
		{"org.fedoraproject.prod.buildsys.build.state.change", `{"app":"koji","packages":["kernel"],"usernames":["bob"],"agent":"bob"}`},
		{"org.fedoraproject.prod.pagure.pull-request.new", `{"app":"pagure","packages":null,"usernames":["alice","carol"],"agent":""}`},
		{"org.fedoraproject.prod.wiki.article.edit", `not json`},
	}
	var msgs []store.Message
	for i, d := range descs {
		msgs = append(msgs, store.Message{Key: fmt.Sprintf("m%d", i), Topic: d.topic, Timestamp: time.Unix(1700000000+int64(60*i), 0),
			Envelope: json.RawMessage(`{"topic":"` + d.topic + `"}`), Description: json.RawMessage(d.desc)})
	}
	if _, err := s.AddMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// keys is the keys of msgs, in order.
func keys(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Key
	}
	return out
}
