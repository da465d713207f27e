package testpeer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTP server received.
type Mail struct {
	From   string
	To     []string
	Header mail.Header
	Body   string
	Raw    []byte
	// Received is when the server had the whole message.
	Received time.Time
}

// SMTP is a real SMTP server (emersion/go-smtp) on a free loopback port,
// in process, that keeps every message it receives. It can be stopped and
// started again on the same port to play an outage, and told to refuse
// recipients to play a dead address.
type SMTP struct {
	Host string
	Port int

	t      testing.TB
	mu     sync.Mutex
	srv    *smtp.Server
	ln     net.Listener
	mails  []Mail
	arrive chan struct{}
	refuse *smtp.SMTPError // non-nil: RCPT gets this reply
	conns  int
	delay  time.Duration // how long DATA takes per mail
	slow   time.Duration // how long the reply to a mail's data waits
}

// StartSMTP starts an SMTP server, stopped in t.Cleanup.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	s := &SMTP{Host: "127.0.0.1", t: t, arrive: make(chan struct{}, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start smtp server: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func (s *SMTP) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxRecipients = 100
	s.mu.Lock()
	s.srv, s.ln = srv, l
	s.mu.Unlock()
	go srv.Serve(l)
}

// Stop closes the server and every open connection: mail sent now fails
// to connect.
func (s *SMTP) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Serve may not have taken the listener over yet: close it too.
		ln.Close()
		srv.Close()
	}
}

// Restart serves again on the same port after Stop.
func (s *SMTP) Restart() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if l, err = net.Listen("tcp", s.Addr()); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("restart smtp server on %s: %v", s.Addr(), err)
	}
	s.serve(l)
}

// Refuse makes every RCPT fail with code (e.g. 550, permanent; 451,
// temporary); 0 accepts again.
func (s *SMTP) Refuse(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = nil
	if code != 0 {
		s.refuse = &smtp.SMTPError{Code: code, Message: "refused by test"}
	}
}

// SetDelay makes each mail's DATA take d before the server answers: a
// slow relay, for benchmarks of delivery's parallelism.
func (s *SMTP) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Connections is how many SMTP sessions clients opened so far.
func (s *SMTP) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Mails is a copy of what arrived so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait returns the mails once at least n arrived, failing the test after
// timeout.
func (s *SMTP) Wait(n int, timeout time.Duration) []Mail {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrive:
		case <-deadline:
			s.t.Fatalf("smtp server got %d mails in %s, want %d", len(s.Mails()), timeout, n)
		}
	}
}

// session collects one connection's messages.
type session struct {
	s    *SMTP
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	refuse := ss.s.refuse
	ss.s.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parse mail: %w", err)
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return errors.Join(errors.New("read mail body"), err)
	}
	received := time.Now()
	ss.s.mu.Lock()
	delay := ss.s.delay
	ss.s.mu.Unlock()
	time.Sleep(delay) // the relay at work
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, Mail{From: ss.from, To: ss.to, Header: msg.Header, Body: string(body), Raw: raw, Received: received})
	slow := ss.s.slow
	ss.s.mu.Unlock()
	select {
	case ss.s.arrive <- struct{}{}:
	default:
	}
	time.Sleep(slow) // a slow server: the mail is kept, the sender still waits
	return nil
}

// SlowReplies makes the server take d to answer each mail it received, as
// a busy one does: a sender is then in the middle of a run of mails long
// enough for a test to kill it there.
func (s *SMTP) SlowReplies(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = d
}

// Text is the mail's decoded part of media type want (text/plain,
// text/html), looked for in a multipart body too; "" when it has none.
func (m Mail) Text(want string) string {
	return partText(textproto.MIMEHeader(m.Header), strings.NewReader(m.Body), want)
}

func partText(h textproto.MIMEHeader, body io.Reader, want string) string {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if s := partText(p.Header, p, want); s != "" {
				return s
			}
		}
	}
	if mt != want {
		return ""
	}
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(body)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
