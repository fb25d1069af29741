package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Sink is a minimal SMTP server for benchmarks: it says yes to everything, reads each
// message in bulk and throws it away, counting. The full sandbox server parses every byte
// of DATA through go-smtp and, on a two-core machine, costs about as much CPU as the
// sender it is measuring; a sink stands in for a real mail server elsewhere.
type Sink struct {
	ln    net.Listener
	count atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// StartSink listens on addr ("127.0.0.1:0" for a free port) and serves until Close.
func StartSink(ctx context.Context, addr string) (*Sink, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Count is how many messages the sink has accepted.
func (s *Sink) Count() int64 { return s.count.Load() }

// Close stops the sink and waits for its connections to end.
func (s *Sink) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriter(c)
	// Replies to pipelined commands (RFC 2920) go out together, as a real server sends
	// them: the buffer is flushed only when no command is waiting to be read.
	reply := func(line string) bool {
		w.WriteString(line)
		return r.Buffered() > 0 || w.Flush() == nil
	}
	replyNow := func(line string) bool {
		w.WriteString(line)
		return w.Flush() == nil
	}
	if !replyNow("220 sink ESMTP\r\n") {
		return
	}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		cmd := bytes.ToUpper(bytes.TrimSpace(line))
		switch {
		case bytes.HasPrefix(cmd, []byte("EHLO")):
			if !reply("250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n") {
				return
			}
		case bytes.Equal(cmd, []byte("DATA")):
			if !replyNow("354 end with <CRLF>.<CRLF>\r\n") || !skipData(r) {
				return
			}
			s.count.Add(1)
			if !reply("250 2.0.0 queued\r\n") {
				return
			}
		case bytes.Equal(cmd, []byte("QUIT")):
			replyNow("221 2.0.0 bye\r\n")
			return
		default: // HELO, MAIL, RCPT, RSET, NOOP: yes
			if !reply("250 2.0.0 ok\r\n") {
				return
			}
		}
	}
}

// skipData reads up to the line holding a single dot, in buffer-sized slices.
func skipData(r *bufio.Reader) bool {
	atLineStart := true
	for {
		chunk, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return false
		}
		if atLineStart && bytes.Equal(chunk, []byte(".\r\n")) {
			return true
		}
		atLineStart = err == nil // a full buffer ends mid-line
	}
}
