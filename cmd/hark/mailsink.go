package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"
)

func init() {
	commands["mailsink"] = command{summary: "a local SMTP server that keeps mails as files and prints their subjects (for trying hark out)", run: runMailsink}
}

// runMailsink serves SMTP on --listen and keeps each mail it receives as
// DIR/NNNN.eml, printing who it is for and its subject: a first session
// or a test needs to see hark's mails without a real mail server.
func runMailsink(ctx context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("hark mailsink", flag.ContinueOnError)
	fs.SetOutput(stdio.err)
	listen := fs.String("listen", "127.0.0.1:2525", "`ADDRESS` to accept SMTP on (no TLS, no login)")
	dir := fs.String("dir", "mail", "`DIR`ECTORY to keep the mails in, one .eml file each")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stdio.err, "hark mailsink: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(stdio.err, "hark mailsink: make mail directory: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stdio.err, "hark mailsink: %v\n", err)
		return 1
	}
	sink := &mailSink{dir: *dir, out: stdio.out}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	fmt.Fprintf(stdio.out, "mailsink: accepting SMTP on %s, keeping mails in %s\n", ln.Addr(), *dir)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && ctx.Err() == nil {
		fmt.Fprintf(stdio.err, "hark mailsink: %v\n", err)
		return 1
	}
	return 0
}

// mailSink is the SMTP backend: every message accepted is written out.
type mailSink struct {
	dir string
	out io.Writer

	mu sync.Mutex
	n  int
}

func (m *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: m}, nil }

// keep writes one mail and says so.
func (m *mailSink) keep(to []string, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	name := filepath.Join(m.dir, fmt.Sprintf("%04d.eml", m.n))
	if err := os.WriteFile(name, raw, 0o644); err != nil {
		return fmt.Errorf("keep mail: %w", err)
	}
	subject := "(unreadable headers)"
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		subject = msg.Header.Get("Subject")
		if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
			subject = decoded
		}
	}
	fmt.Fprintf(m.out, "mail %s to %s: %s\n", name, strings.Join(to, ", "), subject)
	return nil
}

type sinkSession struct {
	sink *mailSink
	to   []string
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error {
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return s.sink.keep(s.to, raw)
}
