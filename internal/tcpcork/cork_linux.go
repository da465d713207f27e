// Package tcpcork sets TCP_CORK on a connection: while set, the kernel
// holds a partly filled segment of what is written; clearing it sends it
// at once. The email and webhook senders cork the end of what they send
// around the write of delivery's sent journal, so the peer is not woken
// by a partial tail while the journal has yet to be written.
package tcpcork

import (
	"net"
	"syscall"
)

// Set sets or clears TCP_CORK on c (nil: nothing). It is best effort: a
// socket that refuses only loses the narrowing it buys.
func Set(c *net.TCPConn, on bool) {
	if c == nil {
		return
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}
