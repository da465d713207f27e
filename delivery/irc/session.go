package irc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"
)

// registerTimeout bounds registration: a server that accepts the
// connection but never welcomes us is as good as down.
const registerTimeout = 30 * time.Second

// session is one registered connection. Reads happen on serve's
// goroutine; writes from anywhere, one line at a time.
type session struct {
	b    *Bot
	conn net.Conn
	r    *irc.Reader

	wmu sync.Mutex // one line at a time on the wire
	w   *irc.Writer

	mu       sync.Mutex
	cur      string                 // our nick now
	userHost string                 // "user@host" as the server shows us; "" until known
	whois    map[string][]chan bool // WHOIS questions waiting, by nick
	closed   bool
	offered  bool                  // the server's CAP LS listed sasl
	ison     chan string           // the ISON question waiting, if any
	seen     map[string]time.Time  // when ISON last found a nick online
	joins    map[string]*joinState // channels joined or being joined, by channelKey
	probes   map[string]*probe     // channel probes waiting for their PONG, by token

	isonMu sync.Mutex // one ISON question at a time: replies carry no question

	commands chan *irc.Message // private messages for the command worker
	done     chan struct{}
}

func newSession(b *Bot, conn net.Conn) *session {
	return &session{b: b, conn: conn, r: irc.NewReader(conn), w: irc.NewWriter(conn), cur: b.opts.Nick,
		whois: map[string][]chan bool{}, seen: map[string]time.Time{},
		joins: map[string]*joinState{}, probes: map[string]*probe{}, commands: make(chan *irc.Message, 64), done: make(chan struct{})}
}

func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
		s.conn.Close()
	}
}

func (s *session) write(line string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(registerTimeout))
	if err := s.w.Write(line); err != nil {
		return fmt.Errorf("write to %s: %w", s.b.opts.Server, err)
	}
	return nil
}

func (s *session) nick() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// prefix is "nick!user@host" as other clients see us, with the longest
// user and host the server could use while it has not told us.
func (s *session) prefix() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userHost == "" {
		return assumedPrefix(s.cur)
	}
	return s.cur + "!" + s.userHost
}

// learnPrefix records our user@host from "nick!user@host".
func (s *session) learnPrefix(full string) {
	if _, uh, ok := strings.Cut(full, "!"); ok && strings.Contains(uh, "@") {
		s.mu.Lock()
		s.userHost = uh
		s.mu.Unlock()
	}
}

// register runs the handshake up to the server's welcome (001): SASL
// PLAIN when a password is set and the server offers it, and another
// nick when ours is taken.
func (s *session) register() error {
	s.conn.SetReadDeadline(time.Now().Add(registerTimeout))
	o := s.b.opts
	sasl := o.SASLPassword != ""
	var lines []string
	if sasl {
		lines = append(lines, "CAP LS 302")
	}
	lines = append(lines, "NICK "+o.Nick, "USER "+o.Nick+" 0 * :hark notification bot")
	for _, l := range lines {
		if err := s.write(l); err != nil {
			return err
		}
	}
	tries := 0
	for {
		m, err := s.r.ReadMessage()
		if err != nil {
			return fmt.Errorf("register on %s: %w", o.Server, err)
		}
		switch m.Command {
		case "PING":
			err = s.write("PONG :" + m.Trailing())
		case "ERROR":
			return fmt.Errorf("register on %s: server said %q", o.Server, m.Trailing())
		case "CAP":
			err = s.capability(m)
		case "AUTHENTICATE":
			if m.Param(0) == "+" {
				err = s.authenticate()
			}
		case irc.RPL_SASLSUCCESS:
			err = s.write("CAP END")
		case irc.ERR_SASLFAIL, irc.ERR_SASLTOOLONG, irc.ERR_SASLABORTED, irc.ERR_NICKLOCKED:
			// Delivering unidentified beats not delivering: go on, and say so.
			s.b.log.Error("irc sasl login failed; continuing without", "user", o.SASLUser, "reply", m.Trailing())
			err = s.write("CAP END")
		case irc.ERR_NICKNAMEINUSE, irc.ERR_UNAVAILRESOURCE, irc.ERR_NICKCOLLISION:
			tries++
			next := fallbackNick(o.Nick, tries)
			s.b.log.Warn("irc nick in use; trying another", "nick", m.Param(1), "next", next)
			s.mu.Lock()
			s.cur = next
			s.mu.Unlock()
			err = s.write("NICK " + next)
		case irc.ERR_ERRONEUSNICKNAME:
			return fmt.Errorf("register on %s: nick %q refused: %s", o.Server, m.Param(1), m.Trailing())
		case irc.RPL_WELCOME:
			s.mu.Lock()
			s.cur = m.Param(0)
			s.mu.Unlock()
			words := strings.Fields(m.Trailing())
			if len(words) > 0 {
				s.learnPrefix(words[len(words)-1])
			}
			s.conn.SetReadDeadline(time.Time{})
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fallbackNick is the nick to try after try attempts found nick taken:
// nick_, then nick_2, nick_3…
func fallbackNick(nick string, try int) string {
	if try == 1 {
		return nick + "_"
	}
	return fmt.Sprintf("%s_%d", nick, try)
}

// capability handles the server's CAP replies while registering.
func (s *session) capability(m *irc.Message) error {
	switch m.Param(1) {
	case "LS":
		s.offered = s.offered || slices.ContainsFunc(strings.Fields(m.Trailing()), isSASL)
		if m.Param(2) == "*" { // more LS lines follow
			return nil
		}
		if s.offered {
			return s.write("CAP REQ :sasl")
		}
		s.b.log.Error("irc server offers no sasl; continuing without", "server", s.b.opts.Server)
		return s.write("CAP END")
	case "ACK":
		return s.write("AUTHENTICATE PLAIN")
	case "NAK":
		s.b.log.Error("irc server refused sasl; continuing without", "server", s.b.opts.Server)
		return s.write("CAP END")
	}
	return nil
}

func isSASL(c string) bool { return c == "sasl" || strings.HasPrefix(c, "sasl=") }

// authenticate sends the PLAIN credentials in the 400-byte pieces the
// SASL extension requires, ending with "+" when the last piece was full.
func (s *session) authenticate() error {
	o := s.b.opts
	payload := base64.StdEncoding.EncodeToString([]byte(o.SASLUser + "\x00" + o.SASLUser + "\x00" + o.SASLPassword))
	for {
		n := min(len(payload), 400)
		if err := s.write("AUTHENTICATE " + payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
		if n < 400 {
			return nil
		}
		if payload == "" {
			return s.write("AUTHENTICATE +")
		}
	}
}

// afterWelcome identifies to NickServ, asks the server for our own prefix
// (USERHOST) so lines can be split exactly, and joins the channels.
func (s *session) afterWelcome() {
	o := s.b.opts
	lines := []string{"USERHOST " + s.nick()}
	if o.NickServPassword != "" {
		lines = append(lines, "PRIVMSG NickServ :IDENTIFY "+o.Nick+" "+o.NickServPassword)
	}
	for _, ch := range o.Channels {
		lines = append(lines, "JOIN "+ch)
	}
	for _, l := range lines {
		if err := s.write(l); err != nil {
			s.b.log.Warn("irc after welcome", "err", err)
			return
		}
	}
}

// serve reads until the connection ends, answering PINGs, tracking our
// nick and prefix, and handing private messages to the command worker.
func (s *session) serve() error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.close()
	wg.Go(s.ping)
	wg.Go(s.runCommands)
	for {
		s.conn.SetReadDeadline(time.Now().Add(3 * s.b.opts.PingEvery))
		m, err := s.r.ReadMessage()
		if err != nil {
			return fmt.Errorf("read from %s: %w", s.b.opts.Server, err)
		}
		if s.channelReply(m) {
			continue
		}
		switch m.Command {
		case "PING":
			err = s.write("PONG :" + m.Trailing())
		case "ERROR":
			return fmt.Errorf("server %s closed the connection: %s", s.b.opts.Server, m.Trailing())
		case "NICK":
			if m.Prefix != nil && m.Name == s.nick() {
				s.mu.Lock()
				s.cur = m.Param(0)
				s.mu.Unlock()
			}
		case irc.RPL_USERHOST:
			s.userhostReply(m.Trailing())
		case irc.RPL_ISON:
			s.mu.Lock()
			if s.ison != nil {
				s.ison <- m.Trailing()
				s.ison = nil
			}
			s.mu.Unlock()
		case "396": // RPL_HOSTHIDDEN: a cloak replaced our host
			s.mu.Lock()
			if user, _, ok := strings.Cut(s.userHost, "@"); ok {
				s.userHost = user + "@" + m.Param(1)
			}
			s.mu.Unlock()
		case "307", "330": // RPL_WHOISREGNICK, RPL_WHOISACCOUNT
			s.whoisAnswer(m.Param(1), true)
		case irc.RPL_ENDOFWHOIS, irc.ERR_NOSUCHNICK:
			s.whoisAnswer(m.Param(1), false)
			if m.Command == irc.ERR_NOSUCHNICK {
				s.b.log.Warn("irc nick not online; its lines were lost", "nick", m.Param(1))
			}
		case "PRIVMSG":
			if m.Prefix != nil && strings.EqualFold(m.Param(0), s.nick()) {
				select {
				case s.commands <- m:
				default:
					s.b.log.Warn("irc commands arrive faster than they are answered; dropped one", "from", m.Name)
				}
			}
		}
		if err != nil {
			return err
		}
	}
}

// userhostReply learns our prefix from "nick=+user@host ..." (RFC 2812
// RPL_USERHOST; '*' marks an operator, '-' away).
func (s *session) userhostReply(reply string) {
	for _, entry := range strings.Fields(reply) {
		nick, rest, ok := strings.Cut(entry, "=")
		if !ok || !strings.EqualFold(strings.TrimSuffix(nick, "*"), s.nick()) || len(rest) < 1 {
			continue
		}
		s.learnPrefix(s.nick() + "!" + rest[1:])
	}
}

// ping probes the server while the connection is idle, so a dead link is
// noticed by the read deadline rather than by a send, and asks for the
// configured nick back while the bot runs under a fallback: people
// address the bot by its real name.
func (s *session) ping() {
	t := time.NewTicker(s.b.opts.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			lines := []string{"PING :hark"}
			if s.nick() != s.b.opts.Nick {
				lines = append(lines, "NICK "+s.b.opts.Nick) // a 433 reply just leaves us as we are
			}
			for _, l := range lines {
				if err := s.write(l); err != nil {
					s.close()
					return
				}
			}
		}
	}
}

// whoisAnswer settles a pending identified() question about nick.
func (s *session) whoisAnswer(nick string, identified bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, chs := range s.whois {
		if strings.EqualFold(k, nick) {
			for _, ch := range chs {
				ch <- identified
			}
			delete(s.whois, k)
		}
	}
}

// errClosed is an identified() question the connection ended before
// answering.
var errClosed = errors.New("irc connection closed")

// identified asks the server (WHOIS) whether nick is identified to
// services.
func (s *session) identified(nick string) (bool, error) {
	ch := make(chan bool, 1)
	s.mu.Lock()
	s.whois[nick] = append(s.whois[nick], ch)
	s.mu.Unlock()
	if err := s.write("WHOIS " + nick); err != nil {
		return false, err
	}
	select {
	case ok := <-ch:
		return ok, nil
	case <-s.done:
		return false, errClosed
	case <-time.After(registerTimeout):
		return false, fmt.Errorf("whois %s: no answer from %s", nick, s.b.opts.Server)
	}
}

// onlineFor is how long an ISON answer that a nick is online is trusted,
// so a burst to one nick asks once.
const onlineFor = 5 * time.Second

// online asks the server (ISON) whether nick is connected now: a line
// sent to a nick that is not is lost, so the caller retries later instead.
func (s *session) online(ctx context.Context, nick string) (bool, error) {
	s.isonMu.Lock()
	defer s.isonMu.Unlock()
	s.mu.Lock()
	fresh := time.Since(s.seen[nick]) < onlineFor
	s.mu.Unlock()
	if fresh {
		return true, nil
	}
	if err := s.b.limiter.Wait(ctx); err != nil {
		return false, err
	}
	ch := make(chan string, 1)
	s.mu.Lock()
	s.ison = ch
	s.mu.Unlock()
	if err := s.write("ISON " + nick); err != nil {
		return false, err
	}
	select {
	case reply := <-ch:
		on := slices.ContainsFunc(strings.Fields(reply), func(n string) bool { return strings.EqualFold(n, nick) })
		if on {
			s.mu.Lock()
			s.seen[nick] = time.Now()
			s.mu.Unlock()
		}
		return on, nil
	case <-s.done:
		return false, errClosed
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(registerTimeout):
		return false, fmt.Errorf("ison %s: no answer from %s", nick, s.b.opts.Server)
	}
}
