package bus_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"hark/bus"
)

// fedoraDelivery is a delivery as fedora-messaging publishes it, with
// headers replacing the defaults where given (nil deletes one).
func fedoraDelivery(body string, headers amqp.Table) *amqp.Delivery {
	h := amqp.Table{
		"fedora_messaging_schema":   "bodhi.update.comment",
		"fedora_messaging_severity": int32(20),
		"sent-at":                   "2026-11-23T07:56:44.123456+00:00",
		"priority":                  int32(0),
	}
	for k, v := range headers {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return &amqp.Delivery{
		RoutingKey: "org.fedoraproject.prod.bodhi.update.comment", MessageId: "3f6c4a2e-8a43-4b0e-9a1c-2d7c1f0a9b11",
		ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: amqp.Persistent,
		Headers: h, Body: []byte(body),
	}
}

func TestFromAMQPSeverity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		want  int
	}{
		{"int32 as pika sends it", int32(30), bus.SeverityWarning},
		{"int64 as a 64-bit client sends it", int64(40), bus.SeverityError},
		{"int16", int16(10), bus.SeverityDebug},
		{"int8", int8(40), bus.SeverityError},
		{"missing header is info", nil, bus.SeverityInfo},
		{"a string is not a level: info", "error", bus.SeverityInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fedoraDelivery(`{"comment": "hi"}`, amqp.Table{"fedora_messaging_severity": tc.value})
			env, err := bus.FromAMQP(d)
			if err != nil {
				t.Fatal(err)
			}
			if env.Severity != tc.want {
				t.Errorf("severity = %d, want %d", env.Severity, tc.want)
			}
		})
	}
}

func TestFromAMQPObjectHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers amqp.Table
		want    bus.Objects
	}{
		{"users and groups", amqp.Table{"fedora_messaging_user_alice": true, "fedora_messaging_group_packager": true},
			bus.Objects{Users: []string{"alice"}, Groups: []string{"packager"}}},
		{"package names keep dots, dashes and pluses", amqp.Table{
			"fedora_messaging_rpm_python3.12": true, "fedora_messaging_rpm_libstdc++": true, "fedora_messaging_rpm_rust-serde_json": true},
			bus.Objects{RPMs: []string{"libstdc++", "python3.12", "rust-serde_json"}}},
		{"containers, modules and flatpaks", amqp.Table{
			"fedora_messaging_container_fedora-toolbox": true, "fedora_messaging_module_nodejs": true, "fedora_messaging_flatpak_org.gnome.Maps": true},
			bus.Objects{Containers: []string{"fedora-toolbox"}, Modules: []string{"nodejs"}, Flatpaks: []string{"org.gnome.Maps"}}},
		{"a header that is not true names nothing", amqp.Table{"fedora_messaging_user_bob": false, "fedora_messaging_user_carol": "true"},
			bus.Objects{}},
		{"an unknown kind is ignored", amqp.Table{"fedora_messaging_planet_mars": true}, bus.Objects{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := bus.FromAMQP(fedoraDelivery(`{}`, tc.headers))
			if err != nil {
				t.Fatal(err)
			}
			var got bus.Objects
			if env.Objects != nil {
				got = *env.Objects
			}
			for _, l := range []*[]string{&got.Users, &got.Groups, &got.RPMs, &got.Containers, &got.Modules, &got.Flatpaks} {
				slices.Sort(*l) // a header table has no order
			}
			if !equalObjects(got, tc.want) {
				t.Errorf("objects = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func equalObjects(a, b bus.Objects) bool {
	return slices.Equal(a.Users, b.Users) && slices.Equal(a.Groups, b.Groups) && slices.Equal(a.RPMs, b.RPMs) &&
		slices.Equal(a.Containers, b.Containers) && slices.Equal(a.Modules, b.Modules) && slices.Equal(a.Flatpaks, b.Flatpaks)
}

func TestFromAMQPTimestamp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sentAt any
		want   float64
	}{
		{"sent-at with microseconds and offset", "2026-11-23T07:56:44.5+00:00", float64(time.Date(2026, 11, 23, 7, 56, 44, 5e8, time.UTC).Unix()) + 0.5},
		{"sent-at in another zone", "2026-11-23T09:56:44+02:00", float64(time.Date(2026, 11, 23, 7, 56, 44, 0, time.UTC).Unix())},
		{"missing sent-at: received time", nil, 0},
		{"unreadable sent-at: received time", "yesterday", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fedoraDelivery(`{}`, amqp.Table{"sent-at": tc.sentAt})
			env, err := bus.FromAMQP(d)
			if err != nil {
				t.Fatal(err)
			}
			if env.Timestamp != tc.want {
				t.Errorf("timestamp = %f, want %f", env.Timestamp, tc.want)
			}
		})
	}
}

func TestFromAMQPMapsTopicPayloadAndID(t *testing.T) {
	env, err := bus.FromAMQP(fedoraDelivery(`{"comment": {"text": "looks good", "karma": 1}}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	if env.Topic != "org.fedoraproject.prod.bodhi.update.comment" || env.MsgID != "3f6c4a2e-8a43-4b0e-9a1c-2d7c1f0a9b11" || env.Key() != env.MsgID {
		t.Errorf("topic %q, msg_id %q, key %q: want the routing key and message_id", env.Topic, env.MsgID, env.Key())
	}
	comment := env.Msg.(map[string]any)["comment"].(map[string]any)
	if comment["text"] != "looks good" {
		t.Errorf("msg = %v, want the body", env.Msg)
	}
	if env.Headers["fedora_messaging_schema"] != "bodhi.update.comment" || env.Fields["headers"] == nil {
		t.Errorf("headers = %v (fields %v), want them in both", env.Headers, env.Fields["headers"])
	}
}

func TestFromAMQPRejectsMalformedBodies(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *amqp.Delivery
	}{
		{"not JSON", fedoraDelivery(`{"comment": `, nil)},
		{"a JSON array", fedoraDelivery(`[1, 2]`, nil)},
		{"invalid UTF-8", fedoraDelivery("{\"a\": \"\xff\"}", nil)},
		{"another encoding", func() *amqp.Delivery { d := fedoraDelivery(`{}`, nil); d.ContentEncoding = "gzip"; return d }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bus.FromAMQP(tc.d); !errors.Is(err, bus.ErrNotJSONObject) {
				t.Errorf("err = %v, want ErrNotJSONObject", err)
			}
		})
	}
}

// A message can reach hark through both buses via fedmsg-migration-tools'
// bridges; both routes must give it one key, so it notifies once.
func TestBridgedMessagesKeepOneKey(t *testing.T) {
	zmqEnvelope := []byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": "hi"},
		"msg_id": "2026-3f6c4a2e-8a43-4b0e-9a1c-2d7c1f0a9b11", "timestamp": 1795000000, "i": 1, "username": "apache"}`)
	native, err := bus.Decode(zmqEnvelope)
	if err != nil {
		t.Fatal(err)
	}
	// ZeroMQ → AMQP: the whole envelope is the body, msg_id the message_id.
	d := fedoraDelivery(string(zmqEnvelope), nil)
	d.MessageId = native.MsgID
	toAMQP, err := bus.FromAMQP(d)
	if err != nil {
		t.Fatal(err)
	}
	if toAMQP.Key() != native.Key() || toAMQP.Msg.(map[string]any)["comment"] != "hi" {
		t.Errorf("bridged to AMQP: key %q, msg %v; want key %q and the envelope's msg", toAMQP.Key(), toAMQP.Msg, native.Key())
	}

	// AMQP → ZeroMQ: the bridge writes msg_id "<year>-<message_id>".
	fromAMQP, err := bus.FromAMQP(fedoraDelivery(`{"comment": "hi"}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	toZMQ, err := bus.Decode([]byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": "hi"},
		"msg_id": "2026-3f6c4a2e-8a43-4b0e-9a1c-2d7c1f0a9b11", "timestamp": 1795000000, "i": 7, "username": "amqp-bridge"}`))
	if err != nil {
		t.Fatal(err)
	}
	if toZMQ.Key() != fromAMQP.Key() {
		t.Errorf("bridged to ZeroMQ: key %q, want the AMQP message_id %q", toZMQ.Key(), fromAMQP.Key())
	}
	if native.Key() != native.MsgID {
		t.Errorf("a native fedmsg message's key is %q, want its msg_id", native.Key())
	}
}

func TestPublishingIsWhatFromAMQPReads(t *testing.T) {
	sent := time.Date(2026, 11, 23, 7, 56, 44, 0, time.UTC)
	p, err := bus.Publishing("9d2b5a8e-3c1f-4e7a-b6d0-5f4e3c2b1a09", map[string]any{"log": "hello"}, bus.SeverityWarning, sent,
		&bus.Objects{Users: []string{"alice"}, RPMs: []string{"gcc-c++"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != "application/json" || p.ContentEncoding != "utf-8" || p.DeliveryMode != amqp.Persistent {
		t.Errorf("properties %q %q %d, want application/json, utf-8, persistent", p.ContentType, p.ContentEncoding, p.DeliveryMode)
	}
	env, err := bus.FromAMQP(&amqp.Delivery{RoutingKey: "org.fedoraproject.dev.hark.log", MessageId: p.MessageId,
		ContentType: p.ContentType, ContentEncoding: p.ContentEncoding, Headers: p.Headers, Body: p.Body})
	if err != nil {
		t.Fatal(err)
	}
	if env.Severity != bus.SeverityWarning || env.Timestamp != float64(sent.Unix()) || env.MsgID != p.MessageId ||
		!equalObjects(*env.Objects, bus.Objects{Users: []string{"alice"}, RPMs: []string{"gcc-c++"}}) {
		t.Errorf("read back: severity %d, timestamp %f, id %q, objects %+v", env.Severity, env.Timestamp, env.MsgID, env.Objects)
	}
	if _, err := bus.Publishing("x", []int{1}, bus.SeverityInfo, sent, nil); !errors.Is(err, bus.ErrNotJSONObject) {
		t.Errorf("publishing an array: err = %v, want ErrNotJSONObject", err)
	}
}
