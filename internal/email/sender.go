package email

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mail "github.com/wneessen/go-mail"
	mailsmtp "github.com/wneessen/go-mail/smtp"

	"github.com/crierhq/crier/internal/dispatch"
)

// Defaults for SMTPConfig.
const (
	sendDefaultConnections     = 4
	sendDefaultMessagesPerConn = 1000
	sendDefaultTimeout         = 30 * time.Second
	// sendQuitTimeout bounds a polite QUIT when a connection is retired or the sender closes.
	sendQuitTimeout = 5 * time.Second
	// sendMaxCachedFroms bounds the parsed-From cache (From varies per campaign, not per message).
	sendMaxCachedFroms = 256
)

// The TLS modes of SMTPConfig.TLS.
const (
	TLSNone             = "none"              // plain SMTP (loopback, or a relay on a trusted network)
	TLSStartTLS         = "starttls"          // STARTTLS when the server offers it
	TLSStartTLSRequired = "starttls-required" // STARTTLS or fail
	TLSImplicit         = "tls"               // TLS from the first byte (SMTPS, usually port 465)
)

// SMTPConfig configures SMTPSender.
type SMTPConfig struct {
	Host string
	Port int // default 25 for "none", 587 for STARTTLS, 465 for "tls"
	// Username and Password turn on SMTP AUTH (PLAIN, else LOGIN). go-mail refuses to send
	// them over an unencrypted connection unless Host is localhost.
	Username, Password string
	TLS                string        // "none" (default), "starttls", "starttls-required" or "tls"
	Connections        int           // pooled connections; default 4
	MessagesPerConn    int           // re-dial after this many messages on one connection; default 1000
	Timeout            time.Duration // per message (and per dial); default 30s
	HelloName          string        // EHLO name; default the host name
	DKIM               *DKIMConfig   // optional DKIM signing
}

// SMTPSender sends e-bulletins over SMTP with go-mail, through a fixed pool of
// connections that are dialled lazily and reused. It implements dispatch.Sender and is
// safe for concurrent use.
type SMTPSender struct {
	cfg    SMTPConfig
	logger *slog.Logger
	dkim   *sendDKIMSigner

	slots     chan *sendConn
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	froms  sync.Map // From string -> *sendFrom
	nfroms atomic.Int32
}

var _ dispatch.Sender = (*SMTPSender)(nil)

// errSendClosed is the cause when Send is called after Close.
var errSendClosed = errors.New("email sender closed")

// NewSMTPSender checks cfg and builds a sender. It does not connect: connections are
// dialled by the first Send calls that need them.
func NewSMTPSender(cfg SMTPConfig, logger *slog.Logger) (*SMTPSender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Host == "" {
		return nil, errors.New("smtp sender: host is required")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	switch cfg.TLS {
	case TLSNone:
		cfg.Port = sendOr(cfg.Port, 25)
	case TLSStartTLS, TLSStartTLSRequired:
		cfg.Port = sendOr(cfg.Port, 587)
	case TLSImplicit:
		cfg.Port = sendOr(cfg.Port, 465)
	default:
		return nil, fmt.Errorf("smtp sender: unknown TLS mode %q (want none, starttls, starttls-required or tls)", cfg.TLS)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp sender: port %d out of range", cfg.Port)
	}
	if cfg.Connections < 0 || cfg.MessagesPerConn < 0 || cfg.Timeout < 0 {
		return nil, errors.New("smtp sender: connections, messages per connection and timeout must not be negative")
	}
	cfg.Connections = sendOr(cfg.Connections, sendDefaultConnections)
	cfg.MessagesPerConn = sendOr(cfg.MessagesPerConn, sendDefaultMessagesPerConn)
	if cfg.Timeout == 0 {
		cfg.Timeout = sendDefaultTimeout
	}

	s := &SMTPSender{
		cfg:    cfg,
		logger: logger,
		slots:  make(chan *sendConn, cfg.Connections),
		done:   make(chan struct{}),
	}
	if cfg.DKIM != nil {
		d, err := newSendDKIMSigner(*cfg.DKIM)
		if err != nil {
			return nil, fmt.Errorf("smtp sender: %w", err)
		}
		s.dkim = d
	}
	for i := range cfg.Connections {
		c, err := s.newSendConn(i)
		if err != nil {
			return nil, fmt.Errorf("smtp sender: %w", err)
		}
		s.slots <- c
	}
	return s, nil
}

// Connections returns the size of the connection pool: how many messages the sender can
// have on the wire at once (the dispatcher hands no more than that to it).
func (s *SMTPSender) Connections() int { return s.cfg.Connections }

// Channel implements dispatch.Sender.
func (s *SMTPSender) Channel() dispatch.Channel { return dispatch.Email }

// Send delivers one message over a pooled connection. It returns the message's
// Message-ID as the receipt. Failures are *dispatch.SendError values classified as
// ErrTemporary, ErrThrottled or ErrPermanent; if ctx ends first Send returns an error
// that matches ctx.Err().
func (s *SMTPSender) Send(ctx context.Context, m dispatch.Message) (dispatch.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return dispatch.Receipt{}, fmt.Errorf("send outbox %d: %w", m.OutboxID, err)
	}
	env, msgID, err := s.sendBuild(m)
	if err != nil {
		return dispatch.Receipt{}, err
	}
	defer env.free()

	c, err := s.sendAcquire(ctx)
	if err != nil {
		return dispatch.Receipt{}, fmt.Errorf("send outbox %d: %w", m.OutboxID, err)
	}
	defer func() { s.slots <- c }()

	if err := s.sendOn(ctx, c, env); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return dispatch.Receipt{}, fmt.Errorf("send outbox %d: %w", m.OutboxID, ctxErr)
		}
		se := sendClassify(err)
		s.logger.DebugContext(ctx, "email not sent",
			slog.Int64("outbox_id", m.OutboxID), slog.Int64("contact_id", m.ContactID),
			slog.String("code", se.Code), slog.String("reason", se.Reason))
		return dispatch.Receipt{}, se
	}
	s.logger.DebugContext(ctx, "email sent",
		slog.Int64("outbox_id", m.OutboxID), slog.Int64("contact_id", m.ContactID), slog.Int("conn", c.id))
	return dispatch.Receipt{ProviderID: msgID}, nil
}

// Close waits for in-flight sends, says QUIT on every open connection and makes later
// Send calls fail with ErrTemporary. It is idempotent.
func (s *SMTPSender) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		var errs []error
		for range cap(s.slots) {
			c := <-s.slots
			if err := c.quit(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close smtp sender: %w", err)
		}
	})
	return s.closeErr
}

// sendAcquire borrows a connection slot.
func (s *SMTPSender) sendAcquire(ctx context.Context) (*sendConn, error) {
	closed := &dispatch.SendError{Kind: dispatch.ErrTemporary, Reason: "sender closed", Err: errSendClosed}
	select {
	case <-s.done:
		return nil, closed
	default:
	}
	select {
	case c := <-s.slots:
		select {
		case <-s.done:
			s.slots <- c
			return nil, closed
		default:
			return c, nil
		}
	case <-s.done:
		return nil, closed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sendOn sends msg over c, dialling if needed. A reused connection that turns out to be
// dead before anything was accepted (the server timed it out) is re-dialled once.
func (s *SMTPSender) sendOn(ctx context.Context, c *sendConn, env *envelope) error {
	gen := c.arm()
	stop := context.AfterFunc(ctx, func() { c.abort(gen) })
	defer func() {
		if !stop() {
			// ctx ended while we were on the wire: the connection's deadline is
			// poisoned and its state unknown.
			c.discard()
		}
	}()

	for attempt := 0; ; attempt++ {
		fresh := false
		if c.smtp == nil {
			if err := c.connect(ctx); err != nil {
				// Debug: the dispatcher logs the classified failure once, with its retry.
				s.logger.DebugContext(ctx, "smtp connect failed", slog.Int("conn", c.id),
					slog.String("reason", sendClassify(err).Reason))
				return err
			}
			fresh = true
			s.logger.DebugContext(ctx, "smtp connected", slog.Int("conn", c.id))
		}
		err := c.transact(env.from, env.to, env.data.Bytes(), s.cfg.Timeout)
		if err == nil {
			c.sent++
			if c.sent >= s.cfg.MessagesPerConn {
				if qerr := c.quit(); qerr != nil {
					s.logger.DebugContext(ctx, "smtp quit failed", slog.Int("conn", c.id))
				}
			}
			return nil
		}
		if !sendKeepConn(err) {
			c.discard()
		}
		if attempt == 0 && !fresh && ctx.Err() == nil && sendStaleConn(err) {
			s.logger.DebugContext(ctx, "smtp connection went stale; re-dialling", slog.Int("conn", c.id))
			continue
		}
		return err
	}
}

// envelope is a message ready for the wire: its envelope sender and recipient
// ("<addr>") and the rendered message, signed.
type envelope struct {
	from, to string
	data     *bytes.Buffer
}

// envelopeBufs recycles the rendered messages' buffers.
var envelopeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// free gives the envelope's buffer back.
func (e *envelope) free() {
	if e.data != nil && e.data.Cap() <= 1<<20 {
		e.data.Reset()
		envelopeBufs.Put(e.data)
	}
	e.data = nil
}

// sendBuild composes m with go-mail, renders it once and signs the bytes. Build errors
// are classified.
func (s *SMTPSender) sendBuild(m dispatch.Message) (*envelope, string, error) {
	msg, msgID, err := s.sendCompose(m)
	if err != nil {
		return nil, "", err
	}
	env := &envelope{data: envelopeBufs.Get().(*bytes.Buffer)}
	fail := func(se *dispatch.SendError) (*envelope, string, error) {
		env.free()
		return nil, "", se
	}
	if env.from, err = msg.GetSender(false); err != nil {
		return fail(&dispatch.SendError{Kind: dispatch.ErrTemporary, Reason: "invalid sender address", Err: err})
	}
	rcpts, err := msg.GetRecipients()
	if err != nil || len(rcpts) != 1 {
		return fail(&dispatch.SendError{Kind: dispatch.ErrPermanent, Reason: "invalid recipient address", Err: err})
	}
	env.to = rcpts[0]
	if _, err := msg.WriteTo(env.data); err != nil {
		return fail(&dispatch.SendError{Kind: dispatch.ErrPermanent, MessageOnly: true, Reason: "could not render the message", Err: err})
	}
	if s.dkim != nil {
		if err := s.dkim.sign(env.data); err != nil {
			return fail(&dispatch.SendError{Kind: dispatch.ErrTemporary, Reason: "dkim signing failed", Err: err})
		}
	}
	return env, msgID, nil
}

// sendCompose builds m as a go-mail message.
func (s *SMTPSender) sendCompose(m dispatch.Message) (*mail.Msg, string, error) {
	from, err := s.sendParseFrom(m.From)
	if err != nil {
		// Every message from this identity would fail the same way: an operator
		// problem, so don't condemn the recipient.
		return nil, "", &dispatch.SendError{Kind: dispatch.ErrTemporary, Reason: "invalid sender address", Err: err}
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from.addr)
	if err := msg.To(m.To); err != nil {
		return nil, "", &dispatch.SendError{Kind: dispatch.ErrPermanent, Reason: "invalid recipient address", Err: err}
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(time.Now())
	msgID := "outbox-" + strconv.FormatInt(m.OutboxID, 10) + ".crier@" + from.domain
	if m.OutboxID == 0 { // sent directly (a confirmation, a test send): no outbox row to name it
		msgID = "direct-" + rand.Text() + ".crier@" + from.domain
	}
	msg.SetMessageIDWithValue(msgID)
	for k, v := range m.Headers {
		if sendReservedHeader(k) {
			continue // the sender owns these
		}
		if !sendValidHeader(k, v) {
			return nil, "", &dispatch.SendError{Kind: dispatch.ErrPermanent,
				Reason: "invalid header " + strconv.Quote(sendTruncate(k, 40)),
				Err:    fmt.Errorf("build message: invalid header %q", k)}
		}
		msg.SetGenHeader(mail.Header(k), v)
	}
	switch {
	case m.HTML != "" && m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	return msg, "<" + msgID + ">", nil
}

// sendFrom is a parsed sender identity.
type sendFrom struct {
	addr   *netmail.Address // shared, read only
	domain string
}

// sendParseFrom parses "addr" or "Name <addr>", caching the few identities in use.
func (s *SMTPSender) sendParseFrom(raw string) (*sendFrom, error) {
	if v, ok := s.froms.Load(raw); ok {
		return v.(*sendFrom), nil
	}
	addr, err := netmail.ParseAddress(raw)
	if err != nil {
		return nil, fmt.Errorf("parse sender address: %w", err)
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 0 || at == len(addr.Address)-1 {
		return nil, errors.New("parse sender address: no domain")
	}
	f := &sendFrom{addr: addr, domain: strings.ToLower(addr.Address[at+1:])}
	if s.nfroms.Load() < sendMaxCachedFroms {
		if _, loaded := s.froms.LoadOrStore(raw, f); !loaded {
			s.nfroms.Add(1)
		}
	}
	return f, nil
}

// sendReservedHeader reports header fields that the sender sets itself and that
// Message.Headers may not override.
func sendReservedHeader(k string) bool {
	switch textproto.CanonicalMIMEHeaderKey(k) {
	case "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "Mime-Version",
		"Content-Type", "Content-Transfer-Encoding", "Dkim-Signature":
		return true
	}
	return false
}

// sendValidHeader rejects header names that aren't RFC 5322 field names and values that
// could inject further header lines.
func sendValidHeader(k, v string) bool {
	if k == "" || len(k) > 76 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return !strings.ContainsAny(v, "\r\n\x00")
}

// sendConn is one pooled connection slot. Only its borrower touches smtp and sent; raw
// and aborted are shared with the ctx watcher under mu.
type sendConn struct {
	id     int
	client *mail.Client
	dialer interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
	smtp *mailsmtp.Client
	sent int
	// stuffed is the connection's buffer for the DATA stream (transact).
	stuffed []byte

	mu      sync.Mutex
	raw     net.Conn
	gen     uint64 // which Send the slot is serving, so a late abort can't hit the next one
	aborted bool
}

// newSendConn builds the go-mail client for one slot. Each slot has its own client
// because go-mail's DialContextFunc is per client and lets the slot see the raw
// connection, which is how a cancelled ctx interrupts a send in progress.
func (s *SMTPSender) newSendConn(id int) (*sendConn, error) {
	c := &sendConn{id: id}
	nd := &net.Dialer{Timeout: s.cfg.Timeout, KeepAlive: 30 * time.Second}
	c.dialer = nd
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithDialContextFunc(c.dial),
		// One round trip less per message: the pool discards broken connections and
		// sendOn re-dials a stale one, so no NOOP probe; a completed DATA already ends
		// the transaction, so no RSET after it (go-mail still resets after a refused
		// MAIL or RCPT).
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	switch s.cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case TLSStartTLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		// go-mail only does implicit TLS with its own dialer; ours wraps the
		// connection instead, and go-mail sees a *tls.Conn so AUTH knows it is
		// encrypted.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		c.dialer = &tls.Dialer{NetDialer: nd, Config: &tls.Config{
			ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12,
		}}
	}
	if s.cfg.HelloName != "" {
		opts = append(opts, mail.WithHELO(s.cfg.HelloName))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	client, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("new go-mail client: %w", err)
	}
	c.client = client
	return c, nil
}

// dial is the slot's go-mail DialContextFunc.
func (c *sendConn) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		_ = conn.Close()
		return nil, context.Canceled
	}
	c.raw = conn
	return conn, nil
}

// connect dials, greets, negotiates TLS and authenticates.
func (c *sendConn) connect(ctx context.Context) error {
	client, err := c.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		c.mu.Lock()
		if c.raw != nil {
			_ = c.raw.Close()
			c.raw = nil
		}
		c.mu.Unlock()
		return err
	}
	c.smtp = client
	c.sent = 0
	return nil
}

// arm readies the slot for a new Send and returns that Send's generation.
func (c *sendConn) arm() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.aborted = false
	return c.gen
}

// abort runs when the Send's ctx ends: it makes any blocked read or write return now.
// context.AfterFunc's stop doesn't wait for a running func, so an abort may arrive
// after its Send has returned the slot; gen makes it a no-op then.
func (c *sendConn) abort(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.aborted = true
	if c.raw != nil {
		_ = c.raw.SetDeadline(time.Unix(1, 0))
	}
}

// discard drops the connection without QUIT; the next borrower re-dials.
func (c *sendConn) discard() {
	if c.smtp != nil {
		_ = c.smtp.Close()
		c.smtp = nil
	}
	c.mu.Lock()
	if c.raw != nil {
		_ = c.raw.Close()
		c.raw = nil
	}
	c.mu.Unlock()
}

// quit closes the connection politely.
func (c *sendConn) quit() error {
	if c.smtp == nil {
		return nil
	}
	_ = c.smtp.UpdateDeadline(sendQuitTimeout)
	err := c.smtp.Quit()
	c.discard()
	if err != nil && !sendIsConnErr(err) {
		return fmt.Errorf("quit connection %d: %w", c.id, err)
	}
	return nil
}

// sendKeepConn reports whether a connection is still usable after err: only when the
// server refused the sender or a recipient (go-mail has reset the transaction) or
// rejected the message after DATA, with anything but 421 (which closes the channel).
func sendKeepConn(err error) bool {
	var te *txnError
	if errors.As(err, &te) {
		var tpe *textproto.Error
		if te.broken || !errors.As(te.err, &tpe) || tpe.Code < 400 || tpe.Code >= 600 || tpe.Code == 421 {
			return false
		}
		return te.stage == sendStageMail || te.stage == sendStageRcpt || te.stage == sendStageDataEnd
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	code := se.ErrorCode()
	if code < 400 || code >= 600 || code == 421 {
		return false
	}
	switch se.Reason {
	case mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPDataClose:
		return true
	}
	return false
}

// sendStaleConn reports whether err shows that a reused connection was already dead when
// we started (nothing was accepted), so re-dialling and sending again is safe.
func sendStaleConn(err error) bool {
	var te *txnError
	if errors.As(err, &te) {
		// The first reply of the transaction (MAIL's) never came, or was a 421: the
		// server had already closed the connection, and nothing was taken.
		if te.stage != sendStageMail {
			return false
		}
		var tpe *textproto.Error
		return !errors.As(te.err, &tpe) || tpe.Code == 421
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case mail.ErrConnCheck:
		return true
	case mail.ErrSMTPMailFrom:
		return se.ErrorCode() == 0 || se.ErrorCode() == 421
	}
	return false
}

// sendStage is where in the SMTP conversation a failure happened.
type sendStage int

const (
	sendStageConnect sendStage = iota // dial, greeting, EHLO, STARTTLS, AUTH
	sendStageMail                     // MAIL FROM
	sendStageRcpt                     // RCPT TO
	sendStageData                     // DATA and the message
	sendStageDataEnd                  // the final "." and the server's answer to it
	sendStageOther                    // RSET, connection checks
)

// sendFailure is what sendClassify needs to know about an error, with nothing personal.
type sendFailure struct {
	stage    sendStage
	code     int    // SMTP reply code; 0 when the server didn't reply
	enhanced string // RFC 3463 status, if the server gave one
	cause    string // for code 0: "timeout", "connection refused", "connection dropped", ...
}

// sendClassify turns an error from go-mail (or from dialling) into a *dispatch.SendError.
// A *dispatch.SendError passes through unchanged.
func sendClassify(err error) *dispatch.SendError {
	var done *dispatch.SendError
	if errors.As(err, &done) {
		return done
	}
	f := sendFailureOf(err)
	se := sendClassifyFailure(f)
	se.Err = err
	// Failing to connect, greet, negotiate TLS or log in says the relay is unreachable
	// (or refuses us), whoever the message is for: the channel is down. A 421 is the
	// relay asking us to slow down, which the throttle handles.
	se.Down = se.Kind == dispatch.ErrTemporary && (f.stage == sendStageConnect || sendAuthCode(f.code))
	return se
}

// sendAuthCode reports the replies that refuse our login (530, 534, 535, 538).
func sendAuthCode(code int) bool {
	return code == 530 || code == 534 || code == 535 || code == 538
}

// sendFailureOf extracts the stage, reply codes and cause of err.
//
// go-mail's *mail.SendError carries the reply code and enhanced status of a server
// reply, but reports I/O failures (timeouts, dropped connections) with code 0 and
// IsTemp() false, and it doesn't unwrap to the cause, so those are told apart by text.
func sendFailureOf(err error) sendFailure {
	var te *txnError
	if errors.As(err, &te) {
		f := sendFailure{stage: te.stage}
		var tpe *textproto.Error
		if errors.As(te.err, &tpe) {
			f.code, f.enhanced = tpe.Code, sendEnhancedFromText(tpe.Msg)
		} else {
			f.cause = sendIOCause(te.err)
		}
		return f
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		f := sendFailure{stage: sendStageOther, code: se.ErrorCode(), enhanced: se.EnhancedStatusCode()}
		switch se.Reason {
		case mail.ErrSMTPMailFrom, mail.ErrGetSender:
			f.stage = sendStageMail
		case mail.ErrSMTPRcptTo, mail.ErrGetRcpts:
			f.stage = sendStageRcpt
		case mail.ErrSMTPData, mail.ErrWriteContent:
			f.stage = sendStageData
		case mail.ErrSMTPDataClose:
			f.stage = sendStageDataEnd
		}
		if f.code == 0 {
			f.cause = sendCauseFromText(se.Error())
		}
		return f
	}

	f := sendFailure{stage: sendStageConnect}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		f.code = tpe.Code
		f.enhanced = sendEnhancedFromText(tpe.Msg)
		return f
	}
	f.cause = sendIOCause(err)
	return f
}

// sendIOCause names an error that is not a server's reply: a refused or dropped
// connection, a timeout, TLS or login trouble.
func sendIOCause(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case sendIsConnErr(err):
		return "connection dropped"
	case errors.As(err, new(*net.DNSError)):
		return "host lookup failed"
	case errors.As(err, new(*net.OpError)):
		return "connection failed"
	case errors.As(err, new(tls.RecordHeaderError)), errors.As(err, new(*tls.CertificateVerificationError)),
		strings.Contains(err.Error(), "STARTTLS"), strings.Contains(err.Error(), "tls:"):
		return "tls negotiation failed"
	case strings.Contains(err.Error(), "AUTH"), errors.Is(err, mailsmtp.ErrUnencrypted):
		return "authentication failed"
	default:
		return sendCauseFromText(err.Error())
	}
}

// sendIsConnErr reports errors that mean the connection is gone.
func sendIsConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// sendCauseFromText names an I/O failure from an error's text (go-mail flattens causes
// into strings). The result never quotes the text.
func sendCauseFromText(s string) string {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "eof"), strings.Contains(s, "reset by peer"), strings.Contains(s, "broken pipe"),
		strings.Contains(s, "closed"), strings.Contains(s, "no active connection"):
		return "connection dropped"
	default:
		return "smtp error"
	}
}

// sendEnhancedFromText finds an RFC 3463 status ("5.1.1") at the start of a reply text.
func sendEnhancedFromText(msg string) string {
	tok, _, _ := strings.Cut(strings.TrimSpace(msg), " ")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 {
			return ""
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return ""
			}
		}
	}
	return tok
}

// sendClassifyFailure maps a failure to a dispatch error class and a stored reason.
//
//   - no reply (code 0): temporary, reason names the cause (timeout, connection dropped...)
//   - 421 anywhere, or any 4xx with a 4.7.x status: throttled
//   - other 4xx: temporary
//   - 5xx on RCPT: permanent, "mailbox unavailable"
//   - 5xx on MAIL FROM or DATA: permanent, "message rejected"
//   - 5xx while connecting, and authentication failures (530/534/535/538) anywhere: temporary
//     (an operator problem, not the recipient's)
func sendClassifyFailure(f sendFailure) *dispatch.SendError {
	se := &dispatch.SendError{Kind: dispatch.ErrTemporary}
	if f.code == 0 && f.stage == sendStageDataEnd {
		// The whole message went and no answer came back: the server may have taken it.
		// Sending it again could deliver it twice, so it is neither retried nor failed.
		se.Kind = dispatch.ErrUnknown
		se.Reason = "no reply after the message was sent (" + cmp.Or(f.cause, "smtp error") + "): it may have been delivered"
		return se
	}
	if f.code == 0 {
		se.Reason = f.cause
		if se.Reason == "" {
			se.Reason = "smtp error"
		}
		return se
	}
	se.Code = strconv.Itoa(f.code)
	codes := se.Code
	if f.enhanced != "" {
		codes += " " + f.enhanced
	}
	reason := func(s string) string { return s + " (" + codes + ")" }

	switch {
	case f.code == 421:
		se.Kind = dispatch.ErrThrottled
		se.Reason = reason("service unavailable")
	case f.code >= 400 && f.code < 500 && strings.HasPrefix(f.enhanced, "4.7."):
		se.Kind = dispatch.ErrThrottled
		se.Reason = reason("rate limited")
	case f.code >= 400 && f.code < 500:
		switch f.stage {
		case sendStageRcpt:
			se.Reason = reason("mailbox temporarily unavailable")
		case sendStageConnect:
			se.Reason = reason("server temporarily unavailable")
		default:
			se.Reason = reason("temporary server error")
		}
	case sendAuthCode(f.code):
		se.Reason = reason("authentication rejected")
	case f.code >= 500 && f.code < 600:
		switch f.stage {
		case sendStageRcpt:
			se.Kind = dispatch.ErrPermanent
			switch {
			case strings.HasPrefix(f.enhanced, "5.7."):
				se.Reason = reason("recipient rejected by policy")
			case f.code == 552 || strings.HasPrefix(f.enhanced, "5.2."):
				se.Reason = reason("mailbox full")
			default:
				se.Reason = reason("mailbox unavailable")
			}
		case sendStageMail:
			se.Kind = dispatch.ErrPermanent
			se.Reason = reason("message rejected at MAIL FROM")
		case sendStageData:
			se.Kind = dispatch.ErrPermanent
			se.Reason = reason("message rejected")
		default:
			se.Reason = reason("server refused connection")
		}
	default:
		se.Reason = reason("unexpected reply")
	}
	return se
}

// sendOr returns v, or def when v is zero.
func sendOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// sendTruncate shortens s to at most n bytes.
func sendTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
