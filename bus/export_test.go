package bus

// GuardedEndpoint is ep through a ZMTP guard of limit bytes, for the
// benchmark that measures what the guard costs a receiver.
func GuardedEndpoint(ep string, limit uint64) (string, error) {
	g, err := newZMTPGuard(limit, DefaultHandshakeTimeout, nil)
	if err != nil {
		return "", err
	}
	return g.endpoint(ep), nil
}
