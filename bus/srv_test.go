package bus_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hark/bus"
	"hark/internal/testpeer"
)

func endpointURLs(eps []bus.Endpoint) []string {
	urls := make([]string, len(eps))
	for i, ep := range eps {
		urls[i] = ep.URL
	}
	return urls
}

func TestSRVDiscoveryNamesEveryRecordOfEveryDomain(t *testing.T) {
	zone := testpeer.StartDNS(t)
	zone.SetSRV("_fedmsg._tcp.a.test",
		testpeer.SRV{Target: "fedmsg1.a.test", Port: 9940, Priority: 10},
		testpeer.SRV{Target: "fedmsg2.a.test", Port: 9941, Priority: 20, Weight: 5})
	zone.SetSRV("_fedmsg._tcp.b.test",
		testpeer.SRV{Target: "fedmsg1.a.test", Port: 9940},
		testpeer.SRV{Target: "localhost", Port: 3000})
	for _, tc := range []struct {
		name    string
		domains []string
		want    []string
	}{
		{"one domain, all its records", []string{"a.test"}, []string{"tcp://fedmsg1.a.test:9940", "tcp://fedmsg2.a.test:9941"}},
		{"rooted name", []string{"a.test."}, []string{"tcp://fedmsg1.a.test:9940", "tcp://fedmsg2.a.test:9941"}},
		{"two domains, a shared publisher once", []string{"a.test", "b.test"},
			[]string{"tcp://fedmsg1.a.test:9940", "tcp://fedmsg2.a.test:9941", "tcp://localhost:3000"}},
		{"a domain without records names none", []string{"nothing.test", "b.test"}, []string{"tcp://fedmsg1.a.test:9940", "tcp://localhost:3000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eps, err := bus.NewSRVDiscovery(tc.domains, zone.Addr).Endpoints(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := endpointURLs(eps); !slices.Equal(got, tc.want) {
				t.Errorf("endpoints %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSRVDiscoveryKeepsLastAnswerWhileResolverFails(t *testing.T) {
	zone := testpeer.StartDNS(t)
	zone.SetSRV("_fedmsg._tcp.a.test", testpeer.SRV{Target: "fedmsg1.a.test", Port: 9940})
	d := bus.NewSRVDiscovery([]string{"a.test", "b.test"}, zone.Addr)
	if _, err := d.Endpoints(context.Background()); err != nil {
		t.Fatal(err)
	}
	zone.Fail(true)
	eps, err := d.Endpoints(context.Background())
	if err == nil || !strings.Contains(err.Error(), "look up _fedmsg._tcp.a.test") {
		t.Errorf("error %v, want the failed lookup named", err)
	}
	if got := endpointURLs(eps); !slices.Equal(got, []string{"tcp://fedmsg1.a.test:9940"}) {
		t.Errorf("endpoints during the failure %q, want the last answer", got)
	}
	zone.Fail(false)
	zone.SetSRV("_fedmsg._tcp.a.test")
	if eps, err := d.Endpoints(context.Background()); err != nil || len(eps) != 0 {
		t.Errorf("after the records were removed: %q, %v; want none", endpointURLs(eps), err)
	}
}

// waitEndpoints waits until the subscriber dials exactly want.
func waitEndpoints(t *testing.T, sub *bus.Subscriber, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(waitTimeout)
	for !slices.Equal(sub.Endpoints(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("subscriber dials %q, want %q", sub.Endpoints(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubscriberFollowsSRVRecords(t *testing.T) {
	a, b := testpeer.StartPub(t), testpeer.StartPub(t)
	port := func(p *testpeer.Pub) uint16 {
		_, port, err := net.SplitHostPort(strings.TrimPrefix(p.Endpoint, "tcp://"))
		n, err2 := strconv.ParseUint(port, 10, 16)
		if err != nil || err2 != nil {
			t.Fatalf("endpoint %s has no port", p.Endpoint)
		}
		return uint16(n)
	}
	// SRV targets are host names (Go's resolver refuses an address), and
	// what the subscriber dials is the name the record gives.
	url := func(p *testpeer.Pub) string { return "tcp://localhost:" + strconv.Itoa(int(port(p))) }
	zone := testpeer.StartDNS(t)
	const name = "_fedmsg._tcp.bus.test"
	zone.SetSRV(name, testpeer.SRV{Target: "localhost", Port: port(a)})
	c := subscribe(t, bus.SubscriberOptions{
		Discover:      bus.NewSRVDiscovery([]string{"bus.test"}, zone.Addr),
		DiscoverEvery: 20 * time.Millisecond,
	})
	waitEndpoints(t, c.sub, url(a))
	c.settle(t, a)
	a.Send(numbered(t, "org.fedoraproject.test.a", "a", 1)...)
	c.expect(t, ids("a", 1, 1)...)

	// b appears beside a: both are read.
	zone.SetSRV(name, testpeer.SRV{Target: "localhost", Port: port(a)}, testpeer.SRV{Target: "localhost", Port: port(b)})
	waitEndpoints(t, c.sub, url(a), url(b))
	c.settle(t, b)
	b.Send(numbered(t, "org.fedoraproject.test.b", "b", 1)...)
	c.expect(t, ids("b", 1, 1)...)

	// a vanishes: what it still publishes is no longer read.
	zone.SetSRV(name, testpeer.SRV{Target: "localhost", Port: port(b)})
	waitEndpoints(t, c.sub, url(b))
	c.settle(t, b)
	a.Send(numbered(t, "org.fedoraproject.test.a", "a", 2)...)
	b.Send(numbered(t, "org.fedoraproject.test.b", "b", 2)...)
	b.Send(numbered(t, "org.fedoraproject.test.b", "b", 3)...)
	c.expect(t, ids("b", 2, 3)...)
}
