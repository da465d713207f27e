//go:build !linux

package email

import "net"

// cork does nothing where TCP_CORK does not exist: the end of data
// leaves at once, and the instant before delivery's journal records it is
// as long as the scheduler makes it.
func cork(*net.TCPConn, bool) {}
