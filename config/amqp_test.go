package config

import (
	"slices"
	"testing"
)

func TestAMQPErrorsOnCheck(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"not a broker URL", "bus: {amqp: {url: 'tcp://hub:9940'}}", `hark.yaml:1:19: bus.amqp.url: "tcp://hub:9940" is not an amqp:// or amqps:// URL`},
		{"certificate over plain amqp", "bus: {amqp: {url: 'amqp://h/', cert: /etc/hostname, key: /etc/hostname}}", "hark.yaml:1:38: bus.amqp.cert: a client certificate needs an amqps:// url"},
		{"certificate without key", "bus: {amqp: {url: 'amqps://h/', cert: /etc/hostname}}", "hark.yaml: bus.amqp.key: bus.amqp.cert and bus.amqp.key go together"},
		{"no bindings", "bus: {amqp: {url: 'amqp://h/', bindings: []}}", `hark.yaml:1:42: bus.amqp.bindings: empty: the queue would receive nothing; use ["#"] for every topic`},
		{"prefetch out of range", "bus: {amqp: {url: 'amqp://h/', prefetch: 70000}}", "hark.yaml:1:42: bus.amqp.prefetch: must be 1-65535, got 70000"},
		{"missing CA file", "bus: {amqp: {url: 'amqps://h/', ca: /nonexistent/ca.pem}}", "hark.yaml:1:37: bus.amqp.ca: stat /nonexistent/ca.pem: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErrors(t, tc.yaml)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAMQPDefaultsReadEverythingFromAmqTopic(t *testing.T) {
	c := mustParse(t, "bus: {amqp: {url: 'amqp://guest:guest@127.0.0.1/'}}", noEnv)
	a := c.Bus.AMQP
	if a.Exchange != "amq.topic" || !slices.Equal(a.Bindings, []string{"#"}) || a.Prefetch != 1024 || a.Queue != "" || a.AppName != "hark" {
		t.Errorf("defaults %+v, want amq.topic, [#], prefetch 1024, a server-named queue, app hark", a)
	}
}
