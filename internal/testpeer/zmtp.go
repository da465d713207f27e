package testpeer

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// A hostile ZeroMQ peer speaks raw ZMTP 3 over TCP, so a test can send
// what no library would: frame headers that claim any size.

// ZMTPGreeting is a ZMTP 3.0 greeting for the NULL mechanism.
func ZMTPGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xff, 0x7f // signature
	g[10], g[11] = 3, 0     // version
	copy(g[12:32], "NULL")
	return g
}

// ZMTPReady is the READY command announcing socketType (e.g. "PUB"),
// which completes a NULL handshake.
func ZMTPReady(socketType string) []byte {
	body := append([]byte{5}, "READY"...)
	body = append(body, byte(len("Socket-Type")))
	body = append(body, "Socket-Type"...)
	body = binary.BigEndian.AppendUint32(body, uint32(len(socketType)))
	body = append(body, socketType...)
	return append([]byte{0x04, byte(len(body))}, body...)
}

// ZMTPLongHeader is the header of a message frame that claims size
// bytes, with the 8-byte size form whatever the size.
func ZMTPLongHeader(size uint64, more bool) []byte {
	flags := byte(0x02)
	if more {
		flags |= 0x01
	}
	return binary.BigEndian.AppendUint64([]byte{flags}, size)
}

// SendRawZMTP connects to addr (host:port), sends stream, and reports
// whether the other side closed the connection within timeout; whatever
// it sends meanwhile (its greeting, its READY) is read and dropped.
func SendRawZMTP(t testing.TB, addr string, stream []byte, timeout time.Duration) (closed bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write(stream); err != nil {
		return true // closed before taking it all
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	_, err = io.Copy(io.Discard, conn)
	var nerr net.Error
	return !(errors.As(err, &nerr) && nerr.Timeout())
}
