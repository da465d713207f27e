package rules

import (
	"encoding/json"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"hark/bus"
	"hark/meta"
)

// BenchmarkExprEnvironment is one expression on a fresh message per op,
// environment included: reading app is the baseline, severity costs the
// same, headers costs the copy of the headers with plain numbers.
func BenchmarkExprEnvironment(b *testing.B) {
	amqpEnv, err := bus.FromAMQP(&amqp.Delivery{RoutingKey: "org.fedoraproject.prod.bodhi.update.comment", MessageId: "5a0b8c2e-1d2f-4e5a-9b6c-7d8e9f0a1b2c",
		Headers: amqp.Table{"fedora_messaging_severity": int32(40), "fedora_messaging_schema": "bodhi.update.comment.v1", "sent-at": "2024-05-01T10:00:00+00:00",
			"priority": int32(0), "fedora_messaging_user_alice": true, "fedora_messaging_rpm_nethack": true},
		Body: []byte(`{"comment": {"karma": 1}}`)})
	if err != nil {
		b.Fatal(err)
	}
	zmqEnv, err := bus.Decode([]byte(`{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg_id": "2024-abc", "msg": {"comment": {"karma": 1}}}`))
	if err != nil {
		b.Fatal(err)
	}
	desc := &meta.Description{App: "bodhi", Packages: []string{"nethack"}, Usernames: []string{"alice"}}
	for _, bc := range []struct {
		name, expression string
		env              *bus.Envelope
	}{
		{"app baseline", `app == "bodhi"`, amqpEnv},
		{"severity", `severity == "error"`, amqpEnv},
		{"headers amqp", `headers["fedora_messaging_schema"] == "bodhi.update.comment.v1"`, amqpEnv},
		{"headers zeromq", `headers["fedora_messaging_schema"] == nil`, zmqEnv},
		// What the sandbox rewrites: string +, a bounded builtin, and a
		// closure, whose every step is counted.
		{"concat", `topic + "." != "x"`, amqpEnv},
		{"join", `join(packages, ",") == "nethack"`, amqpEnv},
		{"closure", `any(usernames, {# == "alice"})`, amqpEnv},
	} {
		args, _ := json.Marshal(map[string]string{"expression": bc.expression})
		r, err := Compile("expr", args, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				m := NewMessage(bc.env, desc, nil)
				if ok, err := r.Eval(m); !ok || err != nil {
					b.Fatalf("Eval = %v, %v", ok, err)
				}
				m.Release()
			}
		})
	}
}
