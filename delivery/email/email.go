// Package email sends hark's notifications, digests and confirmation
// links by SMTP (github.com/wneessen/go-mail). Bodies come from the
// templates in hark/templates (mail/); headers carry the message's
// metadata (X-Fedmsg-*) so mail filters and scripts can sort it. One SMTP
// connection is kept open for a burst and closed once idle.
//
// go-mail dials, says EHLO, starts TLS and authenticates; the mail
// transaction itself (MAIL, RCPT, DATA) is run here on go-mail's SMTP
// client, so that delivery learns the moment the end of the data is
// written (delivery.Batch.Handed), before the server's reply, and so that
// no RSET or NOOP round trip is spent per message.
package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"hark/delivery"
	"hark/internal/tcpcork"
	"hark/templates"
)

// TLS policies, as config's email.tls spells them.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Options configure a Mailer.
type Options struct {
	Host string
	Port int // 0: 25, or 465 with TLSImplicit
	// TLS is TLSNone, TLSStartTLS (required, not opportunistic) or
	// TLSImplicit. It is always set explicitly: go-mail's own default is
	// mandatory STARTTLS, which a local relay without TLS refuses.
	TLS      string
	From     string
	Username string
	Password string
	// Timeout bounds connecting and each SMTP command (default 30s).
	Timeout time.Duration
	// IdleClose closes the connection after this long without a send
	// (default 5s): bursts share one connection, quiet times hold none.
	IdleClose time.Duration
	// MaxDigest is the most entries in one digest email (default 200);
	// larger digests are split into parts.
	MaxDigest int
}

// Mailer is the email delivery.Sender.
type Mailer struct {
	o    Options
	tmpl *template.Template
	html *htmltemplate.Template // the text/html alternatives

	mu     sync.Mutex
	client *mail.Client // go-mail's settings, made on the first dial
	conn   *smtp.Client // the open connection, or nil
	// tcp is conn's TCP connection, under TLS if any, which Send corks
	// around the end of data; nil with implicit TLS, where go-mail dials.
	tcp  *net.TCPConn
	idle *time.Timer
}

var (
	_ delivery.Sender        = (*Mailer)(nil)
	_ delivery.Confirmer     = (*Mailer)(nil)
	_ delivery.DigestLimiter = (*Mailer)(nil)
)

// New checks o and parses the templates; it connects on the first send.
func New(o Options) (*Mailer, error) {
	if o.Host == "" {
		return nil, errors.New("new mailer: no SMTP host")
	}
	if _, err := tlsPolicy(o.TLS); err != nil {
		return nil, fmt.Errorf("new mailer: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.IdleClose <= 0 {
		o.IdleClose = 5 * time.Second
	}
	if o.MaxDigest <= 0 {
		o.MaxDigest = 200
	}
	t, err := parseTemplates(templates.Mail)
	if err != nil {
		return nil, fmt.Errorf("new mailer: %w", err)
	}
	h, err := parseHTMLTemplates(templates.Mail)
	if err != nil {
		return nil, fmt.Errorf("new mailer: %w", err)
	}
	return &Mailer{o: o, tmpl: t, html: h}, nil
}

func tlsPolicy(s string) (mail.TLSPolicy, error) {
	switch s {
	case TLSNone:
		return mail.NoTLS, nil
	case TLSStartTLS, TLSImplicit:
		return mail.TLSMandatory, nil
	}
	return 0, fmt.Errorf("tls %q is not one of %s, %s, %s", s, TLSNone, TLSStartTLS, TLSImplicit)
}

// MaxDigest implements delivery.DigestLimiter.
func (m *Mailer) MaxDigest() int { return m.o.MaxDigest }

// Send implements delivery.Sender: b becomes one email. An SMTP 4xx
// reply or a connection that fails is retryable; a 5xx reply (unknown
// mailbox, refused content) is not. Send calls b.Handed once the end of
// the data is written: from then on the server has the whole message,
// and a crash must not send it again.
func (m *Mailer) Send(ctx context.Context, b *delivery.Batch) (retryable bool, err error) {
	msg, err := m.Message(b)
	if err != nil {
		return false, err
	}
	return m.send(ctx, msg, b.Handed)
}

// Confirm implements delivery.Confirmer: the confirmation link by email.
func (m *Mailer) Confirm(ctx context.Context, c delivery.Confirmation) error {
	subject, body, err := m.Render("confirm", &c)
	if err != nil {
		return err
	}
	msg, err := m.newMsg(c.Destination.Address, subject, body)
	if err != nil {
		return err
	}
	_, err = m.send(ctx, msg, nil)
	return err
}

// Close closes the SMTP connection if one is open.
func (m *Mailer) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hangUp()
}

// send sends msg over the open connection, dialing when there is none,
// and calls handed (if not nil) once the end of its data is written. A
// connection the server dropped while idle shows as MAIL FROM failing
// without an SMTP reply, and is redialed once at once: nothing of the
// message was sent yet.
func (m *Mailer) send(ctx context.Context, msg *mail.Msg, handed func()) (retryable bool, err error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return false, fmt.Errorf("send mail: %w", err)
	}
	to, err := msg.GetRecipients()
	if err != nil {
		return false, fmt.Errorf("send mail: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for try := 0; ; try++ {
		reused := m.conn != nil
		if err := m.dial(ctx); err != nil {
			return true, fmt.Errorf("connect to %s:%d: %w", m.o.Host, m.o.Port, err)
		}
		began, err := m.transact(ctx, from, to, msg, handed)
		if err == nil {
			m.idleClose()
			return false, nil
		}
		var reply *textproto.Error
		isReply := errors.As(err, &reply)
		switch {
		case isReply && reply.Code >= 500: // the server refused for good
			m.conn.Reset()
			return false, fmt.Errorf("send mail: %w", err)
		case isReply && reply.Code >= 400: // the server asks to try later
			m.hangUp()
			return true, fmt.Errorf("send mail: %w", err)
		}
		m.hangUp() // no SMTP reply: the connection failed
		if reused && !began && try == 0 {
			continue
		}
		return true, fmt.Errorf("send mail: %w", err)
	}
}

// transact is one mail transaction on the open connection: MAIL FROM,
// RCPT TO, DATA, the message and the end of data, after which it calls
// handed and reads the server's reply. began says whether the
// transaction got past MAIL FROM: before, a failure without a reply is a
// connection the server dropped, and nothing was sent. Called with mu
// held.
func (m *Mailer) transact(ctx context.Context, from string, to []string, msg *mail.Msg, handed func()) (began bool, err error) {
	timeout := m.o.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := m.conn.UpdateDeadline(timeout); err != nil {
		return false, err
	}
	if err := m.conn.Mail(from); err != nil {
		return false, err
	}
	for _, rcpt := range to {
		if err := m.conn.Rcpt(rcpt); err != nil {
			return true, err
		}
	}
	w, err := m.conn.Data()
	if err != nil {
		return true, err
	}
	// go-mail's DataCloser writes the end of data and reads the reply in
	// one Close; the hand-off goes between the two.
	dc, ok := w.(*smtp.DataCloser)
	if !ok {
		return true, fmt.Errorf("send mail: go-mail's data writer is a %T, not a *smtp.DataCloser", w)
	}
	if handed != nil {
		dc.WriteCloser = handOff{dc.WriteCloser, m.tcp, handed}
	}
	if _, err := msg.WriteTo(dc); err != nil {
		return true, err
	}
	return true, dc.Close()
}

// handOff is the message's data writer: its Close writes and flushes the
// end of data (".") and then calls handed. The TCP connection is corked
// meanwhile, so the end of data stays in the kernel until handed
// returned: writing it does not wake the server, which would take the CPU
// from this process and store the message while handed has yet to run.
// A kill while corked still sends what was written (the kernel flushes a
// corked socket as it closes it), so the server has the message either
// way; what the kill decides is only whether delivery's journal knows.
type handOff struct {
	io.WriteCloser
	tcp    *net.TCPConn // nil: not corked
	handed func()
}

func (h handOff) Close() error {
	tcpcork.Set(h.tcp, true)
	defer tcpcork.Set(h.tcp, false)
	if err := h.WriteCloser.Close(); err != nil {
		return err
	}
	h.handed()
	return nil
}

// dial connects unless connected; called with mu held.
func (m *Mailer) dial(ctx context.Context) error {
	if m.conn != nil {
		return nil
	}
	if m.client == nil {
		policy, _ := tlsPolicy(m.o.TLS)
		opts := []mail.Option{mail.WithTLSPolicy(policy), mail.WithTimeout(m.o.Timeout), mail.WithHELO("localhost")}
		if m.o.Port != 0 {
			opts = append(opts, mail.WithPort(m.o.Port))
		}
		if m.o.TLS == TLSImplicit {
			// go-mail dials TLS itself: a dial function of ours would
			// make it take the connection for unencrypted.
			opts = append(opts, mail.WithSSL())
		} else {
			opts = append(opts, mail.WithDialContextFunc(m.dialTCP))
		}
		if m.o.Username != "" {
			opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.o.Username), mail.WithPassword(m.o.Password))
		}
		c, err := mail.NewClient(m.o.Host, opts...)
		if err != nil {
			return err
		}
		m.client = c
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	m.tcp = nil
	conn, err := m.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		m.tcp = nil
		return err
	}
	m.conn = conn
	return nil
}

// dialTCP is go-mail's dial function: a TCP connection, kept in m.tcp;
// called by dial, with mu held.
func (m *Mailer) dialTCP(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	m.tcp, _ = c.(*net.TCPConn)
	return c, nil
}

// idleClose (re)arms the timer that hangs up an idle connection; called
// with mu held.
func (m *Mailer) idleClose() {
	if m.idle != nil {
		m.idle.Stop()
	}
	c := m.conn
	m.idle = time.AfterFunc(m.o.IdleClose, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.conn == c {
			m.hangUp()
		}
	})
}

// hangUp says QUIT and closes the connection, which go-mail leaves open
// when QUIT fails; called with mu held.
func (m *Mailer) hangUp() error {
	if m.conn == nil {
		return nil
	}
	err := m.conn.Quit()
	if err != nil {
		m.conn.Close()
	}
	m.conn, m.tcp = nil, nil
	return err
}

// Message renders b as the email Send puts on the wire.
func (m *Mailer) Message(b *delivery.Batch) (*mail.Msg, error) {
	name := "single"
	if b.Digest != delivery.NotDigest {
		name = "digest"
	}
	subject, body, err := m.Render(name, b)
	if err != nil {
		return nil, err
	}
	html, err := m.RenderHTML(name, b)
	if err != nil {
		return nil, err
	}
	msg, err := m.newMsg(b.Destination.Address, subject, body)
	if err != nil {
		return nil, err
	}
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	if id := messageID(b, m.o.From); id != "" {
		msg.SetMessageIDWithValue(id)
	}
	if b.Digest == delivery.NotDigest && !b.Items[0].Time.IsZero() {
		// The event's own time, as FMN does: a late or retried mail
		// sorts where the event happened.
		msg.SetDateWithValue(b.Items[0].Time)
	}
	msg.SetGenHeaderPreformatted(mail.Header(headerTopic), Headers(b))
	if id := listID(b, m.o.From); id != "" {
		msg.SetGenHeaderPreformatted(mail.Header("List-Id"), id)
	}
	if root := threadRoot(b, m.o.From); root != "" {
		msg.SetGenHeaderPreformatted(mail.HeaderInReplyTo, root)
		msg.SetGenHeaderPreformatted(mail.HeaderReferences, root)
	}
	if u := unsubscribe(b); u != "" {
		msg.SetGenHeader(mail.HeaderListUnsubscribe, "<"+u+">")
		msg.SetGenHeader(mail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	return msg, nil
}

// newMsg is a plain-text message from m's sender to one address, marked
// as automatic bulk mail so that vacation responders stay quiet.
func (m *Mailer) newMsg(to, subject, body string) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(m.o.From); err != nil {
		return nil, fmt.Errorf("email from %q: %w", m.o.From, err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("email to %q: %w", to, err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBulk()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, body)
	return msg, nil
}

// messageID is the batch's Message-ID, made from its notifications so
// that the same email sent again after a crash (one that hit between the
// end of its data and delivery's sent journal, see delivery.Batch.Handed)
// carries the same one, and mail systems that drop duplicate Message-IDs
// drop it. "" (go-mail makes a random one) for a test notification.
func messageID(b *delivery.Batch, from string) string {
	if len(b.Items) == 0 || b.Items[0].NotificationID == 0 {
		return ""
	}
	dom := domain(from)
	first, last := b.Items[0].NotificationID, b.Items[len(b.Items)-1].NotificationID
	if len(b.Items) == 1 {
		return fmt.Sprintf("hark.%d.%d@%s", b.Destination.ID, first, dom)
	}
	return fmt.Sprintf("hark.%d.%d-%d.%d@%s", b.Destination.ID, first, last, len(b.Items), dom)
}

// unsubscribe is the one-click URL of b's filter, or "" when its items
// come from several filters: one click must not turn off a filter the
// reader did not think of.
func unsubscribe(b *delivery.Batch) string {
	var u string
	for _, it := range b.Items {
		if it.Unsubscribe == "" || (u != "" && it.Unsubscribe != u) {
			return ""
		}
		u = it.Unsubscribe
	}
	return u
}

const headerTopic = "X-Fedmsg-Topic"

// Headers is the X-Fedmsg-* and X-Hark-* block of b, one header line per distinct
// value, ready to follow "X-Fedmsg-Topic: ". go-mail joins a header's
// values with commas on one line, and keeps headers in a map, so the
// block is handed over as one preformatted header; every value is
// stripped of line breaks and RFC 2047-encoded when not ASCII, so a bus
// message cannot inject headers.
func Headers(b *delivery.Batch) string {
	var lines []string
	add := func(name string, values []string) {
		for _, v := range values {
			lines = append(lines, name+": "+headerValue(v))
		}
	}
	add(headerTopic, b.Topics())
	add("X-Fedmsg-Category", b.Apps())
	add("X-Fedmsg-Username", b.Usernames())
	add("X-Fedmsg-Package", b.Packages())
	add("X-Fedmsg-Msg-Id", b.MsgIDs())
	add(headerFilter, filterNames(b))
	add(headerReason, reasons(b))
	return strings.TrimPrefix(strings.Join(lines, "\r\n"), headerTopic+": ")
}

func headerValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
	return mime.QEncoding.Encode("utf-8", v)
}

// Render executes template name ("single", "digest" or "confirm") and
// its subject on data.
func (m *Mailer) Render(name string, data any) (subject, body string, err error) {
	var s, t bytes.Buffer
	if err := m.tmpl.ExecuteTemplate(&s, "subject."+name, data); err != nil {
		return "", "", fmt.Errorf("render %s subject: %w", name, err)
	}
	if err := m.tmpl.ExecuteTemplate(&t, name+".txt", data); err != nil {
		return "", "", fmt.Errorf("render %s: %w", name, err)
	}
	return strings.Join(strings.Fields(s.String()), " "), t.String(), nil
}

// RenderHTML executes the text/html alternative of template name
// ("single" or "digest") on data. html/template escapes every value the
// bus sent, and the templates load nothing remote (no images, styles or
// scripts): links only.
func (m *Mailer) RenderHTML(name string, data any) (string, error) {
	var h bytes.Buffer
	if err := m.html.ExecuteTemplate(&h, name+".html", data); err != nil {
		return "", fmt.Errorf("render %s html: %w", name, err)
	}
	return h.String(), nil
}

// parseHTMLTemplates parses mail/*.html with the functions they use.
func parseHTMLTemplates(fsys fs.FS) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New("mail").Funcs(htmltemplate.FuncMap(funcs)).ParseFS(fsys, "mail/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse mail html templates: %w", err)
	}
	return t, nil
}

// parseTemplates parses mail/*.txt with the functions they use.
func parseTemplates(fsys fs.FS) (*template.Template, error) {
	t, err := template.New("mail").Funcs(funcs).ParseFS(fsys, "mail/*.txt")
	if err != nil {
		return nil, fmt.Errorf("parse mail templates: %w", err)
	}
	return t, nil
}

// timeLayout shows the zone's abbreviation and offset: a reader abroad
// sees both which zone it is and how far it is from UTC.
const timeLayout = "Mon 2006-01-02 15:04:05 MST (-07:00)"

// lateAfter is how old an event must be when sent to be called late.
const lateAfter = 10 * time.Minute

// facts pairs a batch with one of its items for the shared templates.
type facts struct {
	Batch *delivery.Batch
	Item  delivery.Item
}

var funcs = template.FuncMap{
	"join":    strings.Join,
	"add":     func(a, b int) int { return a + b },
	"fmtTime": func(t time.Time) string { return t.Format(timeLayout) },
	"local":   func(b *delivery.Batch, t time.Time) string { return b.LocalTime(t).Format(timeLayout) },
	"late": func(b *delivery.Batch, it delivery.Item) bool {
		return !it.Time.IsZero() && !it.Queued.IsZero() && it.Queued.Sub(it.Time) > lateAfter
	},
	"facts": func(b *delivery.Batch, it delivery.Item) facts { return facts{b, it} },
	// filters is the distinct filters of a digest, in first-seen order.
	"filters": func(b *delivery.Batch) []delivery.Item {
		var out []delivery.Item
		for _, it := range b.Items {
			if it.FilterName != "" && !slices.ContainsFunc(out, func(o delivery.Item) bool { return o.FilterID == it.FilterID }) {
				out = append(out, it)
			}
		}
		return out
	},
}
