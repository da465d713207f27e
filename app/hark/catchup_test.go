package hark

import (
	"testing"

	"hark/config"
)

func TestBusTopicsKeepsWhatTheBusWouldDeliver(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		topic        string
		want         bool
	}{
		{"ZeroMQ without prefixes takes all", "bus:\n  endpoints: [\"tcp://127.0.0.1:1\"]\n", "org.fedoraproject.prod.koji.build", true},
		{"ZeroMQ prefixes", "bus:\n  topic_prefixes: [org.fedoraproject.prod.bodhi]\n", "org.fedoraproject.prod.koji.build", false},
		{"AMQP bindings", "bus:\n  inbound: \"\"\n  amqp:\n    url: amqp://localhost/\n    bindings: [\"org.fedoraproject.*.bodhi.#\"]\n", "org.fedoraproject.prod.bodhi.update", true},
		{"outside AMQP bindings", "bus:\n  inbound: \"\"\n  amqp:\n    url: amqp://localhost/\n    bindings: [\"org.fedoraproject.*.bodhi.#\"]\n", "org.fedoraproject.prod.koji.build", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("hark.yaml", []byte(tc.config), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			if got := BusTopics(cfg)(tc.topic); got != tc.want {
				t.Errorf("BusTopics(%s) = %v, want %v", tc.topic, got, tc.want)
			}
		})
	}
}
