//go:build !linux

package tcpcork

import "net"

// Set does nothing where TCP_CORK does not exist: what is written leaves
// at once, and the instant before delivery's journal records it is as
// long as the scheduler makes it.
func Set(*net.TCPConn, bool) {}
