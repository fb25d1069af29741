package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
)

// connServer is what the line-based mailbox sandboxes (POP3, IMAP) share: a listener,
// plain or implicit TLS, that runs a session for each connection until ctx ends or Close
// is called. mu also guards the embedding server's mailbox.
type connServer struct {
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
}

// listen starts accepting on addr (default "127.0.0.1:0") with session for each
// connection; with implicit, every connection starts with tlsCfg. what names the server
// in errors ("pop3 sandbox").
func (s *connServer) listen(ctx context.Context, what, addr string, implicit bool, tlsCfg *tls.Config, session func(net.Conn)) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	if implicit {
		if tlsCfg == nil {
			return fmt.Errorf("%s: implicit TLS needs a TLS config", what)
		}
		s.ln, err = tls.Listen("tcp", addr, tlsCfg)
	} else {
		s.ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("%s: listen: %w", what, err)
	}
	s.done, s.conns = make(chan struct{}), map[net.Conn]bool{}
	s.wg.Add(1)
	go s.serve(session)
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	go func() {
		<-s.done
		stop()
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *connServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and ends every session, waiting for them.
func (s *connServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	close(s.done)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *connServer) serve(session func(net.Conn)) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}
