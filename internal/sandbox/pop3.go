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

// POP3Config configures the loopback POP3 sandbox: a bounce mailbox for tests and demos.
type POP3Config struct {
	// Addr is the address to listen on; "127.0.0.1:0" (the default) picks a free port.
	Addr string
	// Username and Password are the only credentials accepted.
	Username, Password string
	// TLS, if set, is offered with STLS; with Implicit every connection starts with it
	// (pop3s).
	TLS      *tls.Config
	Implicit bool
	// Logger receives start and stop messages, never messages' contents. Nil discards.
	Logger *slog.Logger
}

// POP3Server is a real POP3 server (RFC 1939: USER/PASS, STAT, LIST, UIDL, RETR, DELE,
// RSET, NOOP, QUIT, CAPA; STLS from RFC 2595) over an in-memory mailbox. Deletions take
// effect at QUIT, as the RFC says; a dropped connection deletes nothing. It is safe for
// concurrent use; one session at a time holds the mailbox (others get -ERR).
type POP3Server struct {
	cfg    POP3Config
	logger *slog.Logger
	connServer

	msgs   []pop3Msg
	nextID int
	locked bool
	retrs  int
}

type pop3Msg struct {
	uid  string
	data []byte
}

// StartPOP3 starts the server; it is listening when StartPOP3 returns and stops when ctx
// ends or Close is called.
func StartPOP3(ctx context.Context, cfg POP3Config) (*POP3Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &POP3Server{cfg: cfg, logger: logger}
	if err := s.listen(ctx, "pop3 sandbox", cfg.Addr, cfg.Implicit, cfg.TLS, s.session); err != nil {
		return nil, err
	}
	logger.Info("pop3 sandbox listening", slog.String("addr", s.Addr()))
	return s, nil
}

// Add puts a message (headers and body; LF or CRLF line endings) in the mailbox and
// returns its unique id.
func (s *POP3Server) Add(data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	uid := "sandbox-" + strconv.Itoa(s.nextID)
	d := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n", "\r\n")
	s.msgs = append(s.msgs, pop3Msg{uid: uid, data: []byte(d)})
	return uid
}

// UIDs lists the unique ids of the messages in the mailbox now.
func (s *POP3Server) UIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.uid
	}
	return out
}

// Retrieved counts the RETR commands answered.
func (s *POP3Server) Retrieved() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retrs
}

// session runs one client's conversation.
func (s *POP3Server) session(c net.Conn) {
	defer func() { c.Close() }()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		w.Flush()
	}
	var (
		user    string
		authed  bool
		msgs    []pop3Msg
		deleted map[int]bool
		secure  = s.cfg.Implicit
	)
	defer func() {
		if authed {
			s.mu.Lock()
			s.locked = false
			s.mu.Unlock()
		}
	}()
	say("+OK crier sandbox POP3 ready")
	for {
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		num := func() (int, bool) {
			n, err := strconv.Atoi(strings.TrimSpace(arg))
			if err != nil || n < 1 || n > len(msgs) || deleted[n] {
				say("-ERR no such message")
				return 0, false
			}
			return n, true
		}
		switch {
		case verb == "CAPA":
			say("+OK capabilities follow")
			say("USER")
			say("UIDL")
			if s.cfg.TLS != nil && !secure {
				say("STLS")
			}
			say(".")
		case verb == "STLS" && !authed:
			if s.cfg.TLS == nil || secure {
				say("-ERR STLS not available")
				continue
			}
			say("+OK begin TLS")
			tc := tls.Server(c, s.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case verb == "USER" && !authed:
			user = arg
			say("+OK")
		case verb == "PASS" && !authed:
			if user != s.cfg.Username || arg != s.cfg.Password {
				say("-ERR authentication failed")
				continue
			}
			s.mu.Lock()
			if s.locked {
				s.mu.Unlock()
				say("-ERR mailbox in use")
				continue
			}
			s.locked, authed = true, true
			msgs = append([]pop3Msg(nil), s.msgs...)
			s.mu.Unlock()
			deleted = map[int]bool{}
			say("+OK logged in")
		case verb == "QUIT":
			if authed && len(deleted) > 0 {
				gone := map[string]bool{}
				for n := range deleted {
					gone[msgs[n-1].uid] = true
				}
				s.mu.Lock()
				kept := s.msgs[:0]
				for _, m := range s.msgs {
					if !gone[m.uid] {
						kept = append(kept, m)
					}
				}
				s.msgs = kept
				s.mu.Unlock()
			}
			say("+OK bye")
			return
		case !authed:
			say("-ERR log in first")
		case verb == "STAT":
			n, size := 0, 0
			for i, m := range msgs {
				if !deleted[i+1] {
					n, size = n+1, size+len(m.data)
				}
			}
			say("+OK %d %d", n, size)
		case verb == "LIST" || verb == "UIDL":
			if arg != "" {
				if n, ok := num(); ok {
					if verb == "LIST" {
						say("+OK %d %d", n, len(msgs[n-1].data))
					} else {
						say("+OK %d %s", n, msgs[n-1].uid)
					}
				}
				continue
			}
			say("+OK")
			for i, m := range msgs {
				if deleted[i+1] {
					continue
				}
				if verb == "LIST" {
					say("%d %d", i+1, len(m.data))
				} else {
					say("%d %s", i+1, m.uid)
				}
			}
			say(".")
		case verb == "RETR":
			n, ok := num()
			if !ok {
				continue
			}
			s.mu.Lock()
			s.retrs++
			s.mu.Unlock()
			fmt.Fprintf(w, "+OK %d octets\r\n", len(msgs[n-1].data))
			for _, l := range strings.SplitAfter(string(msgs[n-1].data), "\r\n") {
				if strings.HasPrefix(l, ".") {
					w.WriteString(".")
				}
				w.WriteString(l)
			}
			if !strings.HasSuffix(string(msgs[n-1].data), "\r\n") {
				w.WriteString("\r\n")
			}
			say(".")
		case verb == "DELE":
			if n, ok := num(); ok {
				deleted[n] = true
				say("+OK deleted")
			}
		case verb == "RSET":
			deleted = map[int]bool{}
			say("+OK")
		case verb == "NOOP":
			say("+OK")
		default:
			say("-ERR unknown command")
		}
	}
}
