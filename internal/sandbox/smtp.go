package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpDefaultMaxMessages is how many received messages the server keeps when
// SMTPConfig.MaxMessages is zero.
const smtpDefaultMaxMessages = 10000

// smtpMaxMessageBytes bounds one message (and so the memory a client can make us hold).
const smtpMaxMessageBytes = 10 << 20

// SMTPConfig configures the loopback SMTP sandbox.
type SMTPConfig struct {
	// Addr is the address to listen on; "127.0.0.1:0" (the default) picks a free port.
	Addr string
	// Logger receives start, stop and server error messages. It never receives addresses
	// or message bodies. Nil discards.
	Logger *slog.Logger
	// MaxMessages is how many messages to keep in memory; the oldest are dropped first.
	// Zero means 10000.
	MaxMessages int
	// Discard counts messages but keeps no envelopes or bodies (a minimal sink for
	// benchmarks).
	Discard bool
	// Users, if not empty, are the only AUTH PLAIN credentials accepted (username to
	// password). When empty any credentials are accepted. AUTH is always optional.
	Users map[string]string
	// Dir, if set, is where each kept message is also written, as
	// <start time>-<number>.eml, for a mail client to open (the demo's e-bulletins and
	// sign-up confirmations). A message that can't be written is refused with a
	// temporary error, so the sender tries again.
	Dir string
	// Delay holds each message's reply after its final "." for this long: a slow relay,
	// for tests of what a sender does while the provider takes its time.
	Delay time.Duration
}

// ReceivedMessage is one message the sandbox accepted.
type ReceivedMessage struct {
	From string    // MAIL FROM address
	To   []string  // RCPT TO addresses that were accepted
	Data []byte    // the message as received (headers and body, CRLF line endings)
	At   time.Time // when the final "." arrived
}

// SMTPServer is a real SMTP server on loopback that accepts any sender and keeps what it
// receives in memory, with deterministic failure injection for tests and the demo.
// It is safe for concurrent use.
type SMTPServer struct {
	cfg    SMTPConfig
	logger *slog.Logger
	srv    *smtp.Server
	ln     net.Listener

	serveDone chan struct{}
	closing   chan struct{} // closed by Close: a Delay stops waiting
	stopCtx   func() bool
	closeOnce sync.Once
	closeErr  error

	count   atomic.Int64
	files   atomic.Int64 // messages written to Dir
	started string       // Dir's file name prefix
	waiting atomic.Int32 // number of WaitFor callers, so accepts skip the lock when zero

	mu       sync.Mutex
	closed   bool
	sessions sync.WaitGroup
	ring     []ReceivedMessage // ring buffer of kept messages
	head     int               // index of the oldest kept message
	kept     int               // number of kept messages
	failures []smtpFailure
	dropNext int
	dropKept int // drops after keeping the message (AcceptThenDropNextConnections)
	waiters  []smtpWaiter
}

// smtpFailure is one injected RCPT failure.
type smtpFailure struct {
	match string
	err   *smtp.SMTPError
}

// smtpWaiter is one WaitFor call waiting for the count to reach n.
type smtpWaiter struct {
	n  int64
	ch chan struct{}
}

// StartSMTP starts the sandbox server. It is listening when StartSMTP returns, and it
// stops when ctx is cancelled or Close is called.
func StartSMTP(ctx context.Context, cfg SMTPConfig) (*SMTPServer, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.MaxMessages <= 0 {
		cfg.MaxMessages = smtpDefaultMaxMessages
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start smtp sandbox: %w", err)
	}

	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("start smtp sandbox: %w", err)
		}
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start smtp sandbox: listen on %s: %w", cfg.Addr, err)
	}

	s := &SMTPServer{
		cfg:       cfg,
		logger:    logger,
		ln:        ln,
		serveDone: make(chan struct{}),
		closing:   make(chan struct{}),
		started:   time.Now().UTC().Format("20060102-150405.000000000"),
	}
	srv := smtp.NewServer(smtpBackend{s: s})
	srv.Domain = "crier-sandbox.localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = smtpMaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = smtpErrorLog{logger: logger}
	s.srv = srv

	go func() {
		defer close(s.serveDone)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtp.ErrServerClosed) {
			logger.Error("smtp sandbox stopped serving", slog.String("error", err.Error()))
		}
	}()
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })

	logger.InfoContext(ctx, "smtp sandbox listening", slog.String("addr", s.Addr()),
		slog.Bool("discard", cfg.Discard))
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *SMTPServer) Addr() string {
	return s.ln.Addr().String()
}

// Close stops the server, drops every open connection and waits for the server's
// goroutines to finish. Received messages stay readable. Close is idempotent.
func (s *SMTPServer) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		waiters := s.waiters
		s.waiters = nil
		s.mu.Unlock()

		if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtp.ErrServerClosed) {
			s.closeErr = fmt.Errorf("close smtp sandbox: %w", err)
		}
		// go-smtp registers the listener inside Serve, so if Serve hasn't got that far
		// srv.Close doesn't know about it yet.
		_ = s.ln.Close()
		<-s.serveDone
		s.sessions.Wait()
		for _, w := range waiters {
			close(w.ch)
		}
		s.logger.Info("smtp sandbox stopped", slog.Int64("accepted", s.count.Load()))
	})
	return s.closeErr
}

// Messages returns a copy of the kept messages in arrival order. In Discard mode it is
// always empty.
func (s *SMTPServer) Messages() []ReceivedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ReceivedMessage, 0, s.kept)
	for i := range s.kept {
		m := s.ring[(s.head+i)%len(s.ring)]
		m.To = append([]string(nil), m.To...)
		m.Data = append([]byte(nil), m.Data...)
		out = append(out, m)
	}
	return out
}

// Count returns how many messages the server has accepted since it started, including
// those no longer kept and those received in Discard mode.
func (s *SMTPServer) Count() int64 {
	return s.count.Load()
}

// WaitFor blocks until Count() >= n, ctx is done or the server is closed.
func (s *SMTPServer) WaitFor(ctx context.Context, n int) error {
	target := int64(n)
	if s.count.Load() >= target {
		return nil
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)

	s.mu.Lock()
	if s.count.Load() >= target {
		s.mu.Unlock()
		return nil
	}
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("wait for %d messages: sandbox closed after %d", n, s.count.Load())
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, smtpWaiter{n: target, ch: ch})
	s.mu.Unlock()

	select {
	case <-ch:
		if got := s.count.Load(); got < target {
			return fmt.Errorf("wait for %d messages: sandbox closed after %d", n, got)
		}
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiters {
			if w.ch == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("wait for %d messages (have %d): %w", n, s.count.Load(), ctx.Err())
	}
}

// FailRecipient makes RCPT TO fail for every address containing addrSubstring, with the
// given reply code, enhanced status code (e.g. "5.1.1"; empty for the generic X.0.0) and
// text. Later rules for the same substring replace earlier ones.
// For example ("bounce", 550, "5.1.1", "no such user") or ("slow", 451, "4.7.1", "try later").
func (s *SMTPServer) FailRecipient(addrSubstring string, code int, enhanced string, msg string) {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtpParseEnhanced(enhanced), Message: msg}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.failures {
		if s.failures[i].match == addrSubstring {
			s.failures[i].err = e
			return
		}
	}
	s.failures = append(s.failures, smtpFailure{match: addrSubstring, err: e})
}

// DropNextConnections makes the server close the next n connections abruptly right after
// it has read a message's DATA, before replying. The client sees a dropped connection and
// the message is not stored or counted.
func (s *SMTPServer) DropNextConnections(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext = max(n, 0)
}

// AcceptThenDropNextConnections makes the server keep the next n messages and then close
// their connections abruptly before replying: the relay has the message, the client
// never hears so. A client that retries such a message delivers it twice.
func (s *SMTPServer) AcceptThenDropNextConnections(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropKept = max(n, 0)
}

// ClearFailures removes every injected failure.
func (s *SMTPServer) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
	s.dropNext = 0
	s.dropKept = 0
}

// smtpParseEnhanced turns "5.1.1" into an EnhancedCode; anything else means "not set",
// which go-smtp renders as the generic X.0.0.
func smtpParseEnhanced(s string) smtp.EnhancedCode {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.EnhancedCodeNotSet
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return smtp.EnhancedCodeNotSet
		}
		ec[i] = v
	}
	return ec
}

// rcptFailure returns the injected failure for an address, if any.
func (s *SMTPServer) rcptFailure(to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failures {
		if strings.Contains(to, f.match) {
			return f.err
		}
	}
	return nil
}

// takeDrop reports whether this connection should be dropped, consuming one drop.
func (s *SMTPServer) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropNext > 0 {
		s.dropNext--
		return true
	}
	return false
}

// takeDropKept reports whether this connection should be dropped after keeping its
// message, consuming one such drop.
func (s *SMTPServer) takeDropKept() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropKept > 0 {
		s.dropKept--
		return true
	}
	return false
}

// slow waits out the configured Delay, or until the server closes.
func (s *SMTPServer) slow() {
	if s.cfg.Delay <= 0 {
		return
	}
	t := time.NewTimer(s.cfg.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closing:
	}
}

// accept records one received message and wakes any WaitFor callers it satisfies.
func (s *SMTPServer) accept(m *ReceivedMessage) {
	if m != nil {
		s.mu.Lock()
		if s.ring == nil {
			s.ring = make([]ReceivedMessage, 0, min(s.cfg.MaxMessages, 1024))
		}
		if len(s.ring) < s.cfg.MaxMessages {
			s.ring = append(s.ring, *m)
			s.kept++
		} else {
			// Full: overwrite the oldest.
			s.ring[s.head] = *m
			s.head = (s.head + 1) % len(s.ring)
		}
		s.mu.Unlock()
	}
	n := s.count.Add(1)
	if s.waiting.Load() == 0 {
		return
	}
	s.mu.Lock()
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if n >= w.n {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	s.waiters = kept
	s.mu.Unlock()
}

// smtpBackend creates one session per connection.
type smtpBackend struct {
	s *SMTPServer
}

// NewSession implements smtp.Backend.
func (b smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if b.s.closed {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
	}
	b.s.sessions.Add(1)
	return &smtpSession{s: b.s, conn: c}, nil
}

// smtpSession is one client connection's transaction state.
type smtpSession struct {
	s    *SMTPServer
	conn *smtp.Conn
	from string
	to   []string
	buf  bytes.Buffer
}

var _ smtp.AuthSession = (*smtpSession)(nil)

// AuthMechanisms implements smtp.AuthSession.
func (ss *smtpSession) AuthMechanisms() []string {
	return []string{sasl.Plain}
}

// Auth implements smtp.AuthSession: any credentials unless users are configured.
func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "unsupported mechanism"}
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if len(ss.s.cfg.Users) == 0 {
			return nil
		}
		if want, ok := ss.s.cfg.Users[username]; ok && want == password {
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
	}), nil
}

// Mail implements smtp.Session; any sender is accepted.
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	ss.to = ss.to[:0]
	return nil
}

// Rcpt implements smtp.Session, applying injected failures.
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.rcptFailure(to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data implements smtp.Session: keep (or count) the message, or drop the connection.
func (ss *smtpSession) Data(r io.Reader) error {
	if ss.s.takeDrop() {
		_, _ = io.Copy(io.Discard, r)
		_ = ss.conn.Conn().Close()
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "connection dropped"}
	}
	if ss.s.cfg.Discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("read data: %w", err)
		}
		ss.s.slow()
		ss.s.accept(nil)
		return nil
	}
	ss.buf.Reset()
	if _, err := ss.buf.ReadFrom(r); err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	ss.s.slow()
	m := ReceivedMessage{
		From: ss.from,
		To:   append([]string(nil), ss.to...),
		Data: bytes.Clone(ss.buf.Bytes()),
		At:   time.Now(),
	}
	if dir := ss.s.cfg.Dir; dir != "" {
		name := fmt.Sprintf("%s-%06d.eml", ss.s.started, ss.s.files.Add(1))
		if err := os.WriteFile(filepath.Join(dir, name), m.Data, 0o600); err != nil {
			ss.s.logger.Warn("smtp sandbox: message not written", slog.String("error", err.Error()))
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message now"}
		}
	}
	ss.s.accept(&m)
	if ss.s.takeDropKept() {
		_ = ss.conn.Conn().Close()
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "connection dropped"}
	}
	return nil
}

// Reset implements smtp.Session.
func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = ss.to[:0]
}

// Logout implements smtp.Session.
func (ss *smtpSession) Logout() error {
	ss.s.sessions.Done()
	return nil
}

// smtpErrorLog adapts go-smtp's error log to slog. go-smtp logs only accept errors,
// connection errors and panics, none of which contain addresses or bodies.
type smtpErrorLog struct {
	logger *slog.Logger
}

// Printf implements smtp.Logger.
func (l smtpErrorLog) Printf(format string, v ...any) {
	l.logger.Warn("smtp sandbox", slog.String("detail", fmt.Sprintf(format, v...)))
}

// Println implements smtp.Logger.
func (l smtpErrorLog) Println(v ...any) {
	l.logger.Warn("smtp sandbox", slog.String("detail", strings.TrimSuffix(fmt.Sprintln(v...), "\n")))
}
