package email

import (
	"net"
	"syscall"
)

// cork sets or clears TCP_CORK on c (nil: nothing): while set, the
// kernel holds what is written; clearing it sends it at once. It is best
// effort: a socket that refuses only loses the narrowing it buys.
func cork(c *net.TCPConn, on bool) {
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
