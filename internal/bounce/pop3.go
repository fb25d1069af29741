package bounce

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MailboxConfig is the bounce mailbox, from CRIER_BOUNCE_POP3_URL:
// pop3s://user:pass@host[:995] (implicit TLS), or pop3://user:pass@host[:110] with
// ?tls=starttls (the default: STLS, refused if the server can't) or ?tls=none (a
// loopback sandbox only); imaps://…[:993] and imap://…[:143] the same over IMAP (INBOX).
type MailboxConfig struct {
	Protocol string // "pop3" or "imap"
	Addr     string // host:port
	Host     string // for the certificate
	Username string
	Password string
	TLS      string // "tls", "starttls" or "none"
	// TLSConfig overrides the TLS settings (tests trust their own certificate); nil: the
	// system's roots and Host.
	TLSConfig *tls.Config
	// Timeout bounds each command; zero means 30 s.
	Timeout time.Duration
}

// ParseMailboxURL reads a pop3:// or pop3s:// URL. Errors never repeat the password.
func ParseMailboxURL(raw string) (MailboxConfig, error) {
	u, err := url.Parse(raw)
	ports := map[string]string{"pop3": "110", "pop3s": "995", "imap": "143", "imaps": "993"}
	if err != nil || ports[u.Scheme] == "" || u.Hostname() == "" {
		return MailboxConfig{}, errors.New("CRIER_BOUNCE_POP3_URL must look like pop3s://user:password@host:995 (or imaps://…)")
	}
	c := MailboxConfig{Protocol: strings.TrimSuffix(u.Scheme, "s"), Host: u.Hostname(), TLS: "starttls"}
	port := ports[u.Scheme]
	if strings.HasSuffix(u.Scheme, "s") {
		c.TLS = "tls"
	}
	if p := u.Port(); p != "" {
		port = p
	}
	c.Addr = net.JoinHostPort(c.Host, port)
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && (v[0] == "tls" || v[0] == "starttls" || v[0] == "none"):
			c.TLS = v[0]
		default:
			return MailboxConfig{}, fmt.Errorf("CRIER_BOUNCE_POP3_URL: unknown option %q (valid: tls=tls|starttls|none)", k)
		}
	}
	if u.User == nil || u.User.Username() == "" {
		return MailboxConfig{}, errors.New("CRIER_BOUNCE_POP3_URL needs the mailbox's user name and password")
	}
	c.Username = u.User.Username()
	c.Password, _ = u.User.Password()
	if c.TLS == "none" {
		if ip := net.ParseIP(c.Host); c.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return MailboxConfig{}, errors.New("CRIER_BOUNCE_POP3_URL: tls=none is only for a mailbox on this machine (the password would cross the network in clear)")
		}
	}
	return c, nil
}

// POP3 is a connection to a POP3 server (RFC 1939, STLS from RFC 2595), logged in.
// Deletions take effect at Quit; closing without Quit keeps every message.
type POP3 struct {
	conn    net.Conn
	tp      *textproto.Conn
	timeout time.Duration
	stop    func() bool // stops closing the connection when the dial's ctx ends
}

// ErrPOP3 is a -ERR reply.
var ErrPOP3 = errors.New("pop3 server said -ERR")

// tlsConfig is the TLS configuration for the mailbox: the configured one, or the
// system's roots checking the host's name.
func (cfg MailboxConfig) tlsConfig() *tls.Config {
	if cfg.TLSConfig != nil {
		return cfg.TLSConfig
	}
	return &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
}

// dial connects to the mailbox: with TLS from the start for pop3s and imaps, plain
// otherwise (the protocol's STLS or STARTTLS follows).
func (cfg MailboxConfig) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	if cfg.TLS == "tls" {
		return (&tls.Dialer{NetDialer: &d, Config: cfg.tlsConfig()}).DialContext(ctx, "tcp", cfg.Addr)
	}
	return d.DialContext(ctx, "tcp", cfg.Addr)
}

// startTLS secures a plain connection once the server has agreed to STLS or STARTTLS.
func (cfg MailboxConfig) startTLS(ctx context.Context, conn net.Conn) (*tls.Conn, error) {
	tc := tls.Client(conn, cfg.tlsConfig())
	tc.SetDeadline(time.Now().Add(cfg.Timeout))
	return tc, tc.HandshakeContext(ctx)
}

// DialPOP3 connects, secures and logs in.
func DialPOP3(ctx context.Context, cfg MailboxConfig) (*POP3, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	conn, err := cfg.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("pop3: connect: %w", err)
	}
	p := &POP3{conn: conn, tp: textproto.NewConn(conn), timeout: cfg.Timeout}
	// Cancelling ctx ends the session wherever it is (closing, not a deadline: each
	// command sets its own deadline). Nothing marked deleted is deleted then.
	p.stop = context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*POP3, error) {
		p.stop()
		conn.Close()
		return nil, err
	}
	if _, err := p.reply(); err != nil {
		return fail(fmt.Errorf("pop3: greeting: %w", err))
	}
	if cfg.TLS == "starttls" {
		if _, err := p.cmd("STLS"); err != nil {
			return fail(fmt.Errorf("pop3: the server does not offer STLS (set ?tls=none only for a mailbox on this machine): %w", err))
		}
		tc, err := cfg.startTLS(ctx, conn)
		if err != nil {
			return fail(fmt.Errorf("pop3: STLS: %w", err))
		}
		p.conn, p.tp = tc, textproto.NewConn(tc)
	}
	if _, err := p.cmd("USER " + cfg.Username); err != nil {
		return fail(fmt.Errorf("pop3: login refused: %w", err))
	}
	if _, err := p.cmd("PASS " + cfg.Password); err != nil {
		return fail(errors.New("pop3: login refused: wrong user name or password"))
	}
	return p, nil
}

func (p *POP3) reply() (string, error) {
	p.conn.SetDeadline(time.Now().Add(p.timeout))
	line, err := p.tp.ReadLine()
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		return strings.TrimSpace(strings.TrimPrefix(line, "+OK")), nil
	case strings.HasPrefix(line, "-ERR"):
		return "", fmt.Errorf("%w: %s", ErrPOP3, Scrub(strings.TrimSpace(strings.TrimPrefix(line, "-ERR"))))
	}
	return "", fmt.Errorf("pop3: unexpected reply %q", Scrub(line))
}

func (p *POP3) cmd(line string) (string, error) {
	p.conn.SetDeadline(time.Now().Add(p.timeout))
	if err := p.tp.PrintfLine("%s", line); err != nil {
		return "", err
	}
	return p.reply()
}

// multiline reads a dot-terminated response.
func (p *POP3) multiline() ([]byte, error) {
	p.conn.SetDeadline(time.Now().Add(p.timeout * 4))
	return io.ReadAll(p.tp.DotReader())
}

// Stat returns the number of messages and their total size.
func (p *POP3) Stat() (count, size int, err error) {
	r, err := p.cmd("STAT")
	if err != nil {
		return 0, 0, fmt.Errorf("pop3: STAT: %w", err)
	}
	if _, err := fmt.Sscanf(r, "%d %d", &count, &size); err != nil {
		return 0, 0, fmt.Errorf("pop3: STAT: %q", r)
	}
	return count, size, nil
}

// Message is a message in the mailbox: its number in this session and its unique id.
type Message struct {
	Num int
	UID string
}

// UIDL lists the messages with their unique ids.
func (p *POP3) UIDL() ([]Message, error) {
	if _, err := p.cmd("UIDL"); err != nil {
		return nil, fmt.Errorf("pop3: UIDL: %w", err)
	}
	b, err := p.multiline()
	if err != nil {
		return nil, fmt.Errorf("pop3: UIDL: %w", err)
	}
	var out []Message
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		out = append(out, Message{Num: n, UID: f[1]})
	}
	return out, nil
}

// MaxMessage is the largest message Retr returns whole; a bounce report is a few
// kilobytes, even with the original message attached.
const MaxMessage = 16 << 20

// ErrTooLarge is returned by Retr for a message over MaxMessage (the rest is read and
// dropped, so the session goes on).
var ErrTooLarge = errors.New("pop3: message too large to be a bounce report")

// Retr returns message n, with CRLF line endings.
func (p *POP3) Retr(n int) ([]byte, error) {
	if _, err := p.cmd("RETR " + strconv.Itoa(n)); err != nil {
		return nil, fmt.Errorf("pop3: RETR %d: %w", n, err)
	}
	p.conn.SetDeadline(time.Now().Add(p.timeout * 4))
	dr := p.tp.DotReader()
	b, err := io.ReadAll(io.LimitReader(dr, MaxMessage+1))
	if err == nil && len(b) > MaxMessage {
		if _, err = io.Copy(io.Discard, dr); err == nil {
			err = ErrTooLarge
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pop3: RETR %d: %w", n, err)
	}
	return []byte(strings.ReplaceAll(string(b), "\n", "\r\n")), nil
}

// Dele marks message n deleted (done at Quit).
func (p *POP3) Dele(n int) error {
	if _, err := p.cmd("DELE " + strconv.Itoa(n)); err != nil {
		return fmt.Errorf("pop3: DELE %d: %w", n, err)
	}
	return nil
}

// Quit ends the session, deleting the messages marked, and closes the connection.
func (p *POP3) Quit() error {
	_, err := p.cmd("QUIT")
	p.stop()
	cerr := p.conn.Close()
	if err != nil {
		return fmt.Errorf("pop3: QUIT: %w", err)
	}
	return cerr
}

// Close drops the connection without QUIT: nothing is deleted.
func (p *POP3) Close() error {
	p.stop()
	return p.conn.Close()
}
