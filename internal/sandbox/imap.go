package sandbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// IMAPConfig configures the loopback IMAP sandbox: a bounce mailbox (INBOX only).
type IMAPConfig struct {
	Addr               string // default "127.0.0.1:0"
	Username, Password string
	TLS                *tls.Config // offered with STARTTLS; with Implicit, from the start (imaps)
	Implicit           bool
	Logger             *slog.Logger
}

// IMAPServer is a small real IMAP server over an in-memory INBOX: enough of RFC 9051 for
// a bounce reader (CAPABILITY, STARTTLS, LOGIN, SELECT, UID SEARCH ALL, UID FETCH
// BODY.PEEK[] / BODY[], UID STORE +FLAGS (\Deleted), EXPUNGE, NOOP, LOGOUT). Messages
// marked deleted go at EXPUNGE only. Safe for concurrent use.
type IMAPServer struct {
	cfg    IMAPConfig
	logger *slog.Logger
	connServer

	msgs    []imapMsg
	nextUID int
}

type imapMsg struct {
	uid     int
	data    []byte
	deleted bool
}

// StartIMAP starts the server; it stops when ctx ends or Close is called.
func StartIMAP(ctx context.Context, cfg IMAPConfig) (*IMAPServer, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &IMAPServer{cfg: cfg, logger: logger}
	if err := s.listen(ctx, "imap sandbox", cfg.Addr, cfg.Implicit, cfg.TLS, s.session); err != nil {
		return nil, err
	}
	return s, nil
}

// Add puts a message in INBOX and returns its UID.
func (s *IMAPServer) Add(data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUID++
	d := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n", "\r\n")
	s.msgs = append(s.msgs, imapMsg{uid: s.nextUID, data: []byte(d)})
	return strconv.Itoa(s.nextUID)
}

// UIDs lists the UIDs in INBOX now (marked deleted or not).
func (s *IMAPServer) UIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = strconv.Itoa(m.uid)
	}
	return out
}

// imapArgs splits a command's arguments, honouring "quoted strings".
func imapArgs(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			out = append(out, b.String())
			s = s[min(i+1, len(s)):]
			continue
		}
		f, rest, _ := strings.Cut(s, " ")
		out = append(out, f)
		s = rest
	}
	return out
}

func (s *IMAPServer) session(c net.Conn) {
	defer func() { c.Close() }()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		w.Flush()
	}
	authed, selected, secure := false, false, s.cfg.Implicit
	say("* OK crier sandbox IMAP ready")
	for {
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		verb, args, _ := strings.Cut(rest, " ")
		verb = strings.ToUpper(verb)
		if verb == "UID" {
			sub, more, _ := strings.Cut(args, " ")
			verb, args = "UID "+strings.ToUpper(sub), more
		}
		switch {
		case verb == "CAPABILITY":
			caps := "IMAP4rev1"
			if s.cfg.TLS != nil && !secure {
				caps += " STARTTLS"
			}
			say("* CAPABILITY %s", caps)
			say("%s OK", tag)
		case verb == "NOOP":
			say("%s OK", tag)
		case verb == "LOGOUT":
			say("* BYE")
			say("%s OK", tag)
			return
		case verb == "STARTTLS" && !authed:
			if s.cfg.TLS == nil || secure {
				say("%s BAD STARTTLS not available", tag)
				continue
			}
			say("%s OK begin TLS", tag)
			tc := tls.Server(c, s.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case verb == "LOGIN" && !authed:
			a := imapArgs(args)
			if len(a) != 2 || a[0] != s.cfg.Username || a[1] != s.cfg.Password {
				say("%s NO [AUTHENTICATIONFAILED] invalid credentials", tag)
				continue
			}
			authed = true
			say("%s OK logged in", tag)
		case !authed:
			say("%s BAD log in first", tag)
		case verb == "SELECT":
			if a := imapArgs(args); len(a) != 1 || !strings.EqualFold(a[0], "INBOX") {
				say("%s NO no such mailbox", tag)
				continue
			}
			selected = true
			s.mu.Lock()
			say("* %d EXISTS", len(s.msgs))
			s.mu.Unlock()
			say("%s OK [READ-WRITE] SELECT completed", tag)
		case !selected:
			say("%s BAD select a mailbox first", tag)
		case verb == "UID SEARCH":
			s.mu.Lock()
			var uids []string
			for _, m := range s.msgs {
				uids = append(uids, strconv.Itoa(m.uid))
			}
			s.mu.Unlock()
			say("* SEARCH %s", strings.Join(uids, " "))
			say("%s OK", tag)
		case (verb == "UID FETCH" || verb == "UID STORE") && len(strings.Fields(args)) < 2:
			say("%s BAD missing arguments", tag)
		case verb == "UID FETCH":
			a := strings.Fields(args)
			uid, _ := strconv.Atoi(a[0])
			s.mu.Lock()
			var data []byte
			seq := 0
			for i, m := range s.msgs {
				if m.uid == uid {
					data, seq = m.data, i+1
				}
			}
			s.mu.Unlock()
			if data != nil {
				fmt.Fprintf(w, "* %d FETCH (UID %d BODY[] {%d}\r\n", seq, uid, len(data))
				w.Write(data)
				say(")")
			}
			say("%s OK", tag)
		case verb == "UID STORE":
			a := strings.Fields(args)
			uid, _ := strconv.Atoi(a[0])
			if len(a) < 3 || !strings.HasPrefix(strings.ToUpper(a[1]), "+FLAGS") || !strings.Contains(args, `\Deleted`) {
				say("%s BAD only +FLAGS (\\Deleted)", tag)
				continue
			}
			s.mu.Lock()
			for i := range s.msgs {
				if s.msgs[i].uid == uid {
					s.msgs[i].deleted = true
				}
			}
			s.mu.Unlock()
			say("%s OK", tag)
		case verb == "EXPUNGE":
			s.mu.Lock()
			kept := s.msgs[:0]
			for _, m := range s.msgs {
				if m.deleted {
					say("* %d EXPUNGE", len(kept)+1) // its sequence number after those expunged before it
					continue
				}
				kept = append(kept, m)
			}
			s.msgs = kept
			s.mu.Unlock()
			say("%s OK", tag)
		default:
			say("%s BAD unknown command", tag)
		}
	}
}
