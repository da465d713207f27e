package testpeer

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is an authoritative DNS server on a free loopback UDP port serving
// a test zone that a test edits while it runs: SRV records, answered as a
// real server answers (NXDOMAIN for names it does not know).
type DNS struct {
	// Addr is host:port, what bus.srv_resolver names.
	Addr string

	mu   sync.Mutex
	srv  map[string][]*dns.SRV // by lower-case rooted name
	fail bool
}

// SRV is one record: the publisher at Target:Port.
type SRV struct {
	Target           string
	Port             uint16
	Priority, Weight uint16
}

// StartDNS serves an empty zone until the test ends.
func StartDNS(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for dns: %v", err)
	}
	d := &DNS{Addr: pc.LocalAddr().String(), srv: make(map[string][]*dns.SRV)}
	started := make(chan struct{})
	server := &dns.Server{PacketConn: pc, Handler: d, NotifyStartedFunc: func() { close(started) }}
	go server.ActivateAndServe()
	<-started
	t.Cleanup(func() { server.Shutdown() })
	return d
}

// SetSRV replaces the SRV records of name (e.g. _fedmsg._tcp.example.test);
// none removes the name.
func (d *DNS) SetSRV(name string, records ...SRV) {
	rrs := make([]*dns.SRV, 0, len(records))
	fqdn := dns.Fqdn(strings.ToLower(name))
	for _, r := range records {
		rrs = append(rrs, &dns.SRV{
			Hdr:      dns.RR_Header{Name: fqdn, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 1},
			Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: dns.Fqdn(r.Target),
		})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(rrs) == 0 {
		delete(d.srv, fqdn)
		return
	}
	d.srv[fqdn] = rrs
}

// Fail makes the server answer every query with SERVFAIL (true), as a
// broken resolver does, or from the zone again (false).
func (d *DNS) Fail(fail bool) {
	d.mu.Lock()
	d.fail = fail
	d.mu.Unlock()
}

// ServeDNS answers one query from the zone.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		d.mu.Lock()
		rrs, known := d.srv[strings.ToLower(q.Name)]
		fail := d.fail
		d.mu.Unlock()
		switch {
		case fail:
			resp.Rcode = dns.RcodeServerFailure
		case !known:
			resp.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeSRV:
			for _, rr := range rrs {
				resp.Answer = append(resp.Answer, rr)
			}
		}
	}
	w.WriteMsg(resp)
}
