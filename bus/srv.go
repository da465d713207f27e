package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SRVDiscovery finds publishers the way Debian's fedmsg does: every SRV
// record of _fedmsg._tcp.DOMAIN names one, tcp://TARGET:PORT. It is the
// Subscriber's Discoverer for bus.srv_domains.
type SRVDiscovery struct {
	domains  []string
	resolver *net.Resolver

	// last is each domain's last answer, kept while its DNS server cannot
	// be reached: a resolver outage must not unsubscribe every publisher.
	mu   sync.Mutex
	last map[string][]Endpoint
}

// srvTimeout bounds one domain's lookup.
const srvTimeout = 10 * time.Second

// NewSRVDiscovery looks up domains through the DNS server at server
// (host:port, UDP then TCP as DNS does), or through the system's resolver
// when server is "".
func NewSRVDiscovery(domains []string, server string) *SRVDiscovery {
	r := net.DefaultResolver
	if server != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return &SRVDiscovery{domains: domains, resolver: r, last: make(map[string][]Endpoint)}
}

// Endpoints returns the publishers every domain names now, each once, in a
// stable order. A domain whose lookup fails keeps its previous answer and
// the failure is returned beside the endpoints; a domain that has no such
// record (NXDOMAIN, no answer) names none.
func (d *SRVDiscovery) Endpoints(ctx context.Context) ([]Endpoint, error) {
	var eps []Endpoint
	var errs []error
	seen := make(map[string]bool)
	for _, domain := range d.domains {
		found, err := d.lookup(ctx, domain)
		d.mu.Lock()
		if err != nil {
			errs = append(errs, err)
			found = d.last[domain]
		} else {
			d.last[domain] = found
		}
		d.mu.Unlock()
		for _, ep := range found {
			if !seen[ep.URL] {
				seen[ep.URL] = true
				eps = append(eps, ep)
			}
		}
	}
	slices.SortFunc(eps, func(a, b Endpoint) int { return strings.Compare(a.URL, b.URL) })
	return eps, errors.Join(errs...)
}

func (d *SRVDiscovery) lookup(ctx context.Context, domain string) ([]Endpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, srvTimeout)
	defer cancel()
	name := strings.TrimSuffix(domain, ".") + "." // rooted: no search domains
	_, records, err := d.resolver.LookupSRV(ctx, "fedmsg", "tcp", name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up _fedmsg._tcp.%s: %w", strings.TrimSuffix(domain, "."), err)
	}
	eps := make([]Endpoint, 0, len(records))
	for _, r := range records {
		host := strings.TrimSuffix(r.Target, ".")
		if host == "" {
			continue // "." means the service is not offered
		}
		eps = append(eps, Endpoint{URL: "tcp://" + net.JoinHostPort(host, strconv.Itoa(int(r.Port)))})
	}
	return eps, nil
}
