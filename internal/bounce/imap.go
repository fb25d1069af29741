package bounce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// IMAP is a connection to an IMAP server (RFC 9051/3501: LOGIN, SELECT INBOX, UID
// SEARCH, UID FETCH BODY.PEEK[], UID STORE \Deleted, EXPUNGE; STARTTLS), logged in with
// INBOX selected. Messages marked deleted go at Quit (EXPUNGE); closing without Quit
// keeps them (marked).
type IMAP struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
	tag     int
	stop    func() bool
}

// ErrIMAP is a NO or BAD answer.
var ErrIMAP = errors.New("imap server said NO")

// DialIMAP connects, secures, logs in and selects INBOX.
func DialIMAP(ctx context.Context, cfg MailboxConfig) (*IMAP, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if strings.ContainsAny(cfg.Username+cfg.Password, "\r\n") {
		return nil, errors.New("imap: the user name and password can't hold line breaks")
	}
	conn, err := cfg.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("imap: connect: %w", err)
	}
	c := &IMAP{conn: conn, r: bufio.NewReader(conn), timeout: cfg.Timeout}
	c.stop = context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*IMAP, error) {
		c.Close()
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(cfg.Timeout))
	greeting, err := c.readLine()
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		return fail(fmt.Errorf("imap: greeting %q: %v", Scrub(greeting), err))
	}
	if cfg.TLS == "starttls" {
		if _, err := c.cmd("STARTTLS"); err != nil {
			return fail(fmt.Errorf("imap: the server does not offer STARTTLS (set ?tls=none only for a mailbox on this machine): %w", err))
		}
		tc, err := cfg.startTLS(ctx, conn)
		if err != nil {
			return fail(fmt.Errorf("imap: STARTTLS: %w", err))
		}
		c.conn, c.r = tc, bufio.NewReader(tc)
	}
	if _, err := c.cmd("LOGIN " + imapQuote(cfg.Username) + " " + imapQuote(cfg.Password)); err != nil {
		return fail(errors.New("imap: login refused: wrong user name or password"))
	}
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		return fail(fmt.Errorf("imap: SELECT INBOX: %w", err))
	}
	return c, nil
}

func imapQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (c *IMAP) readLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// imapResponse is one untagged response, with the literals it carried.
type imapResponse struct {
	text     string
	literals [][]byte
}

// cmd sends a tagged command and reads the responses up to its tagged answer.
func (c *IMAP) cmd(command string) ([]imapResponse, error) {
	c.tag++
	tag := "c" + strconv.Itoa(c.tag)
	c.conn.SetDeadline(time.Now().Add(c.timeout * 4))
	if _, err := io.WriteString(c.conn, tag+" "+command+"\r\n"); err != nil {
		return nil, err
	}
	var out []imapResponse
	tooLarge := false
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		resp := imapResponse{text: line}
		// A line ending in {n} is followed by n bytes, then the rest of the response.
		for strings.HasSuffix(line, "}") {
			i := strings.LastIndexByte(line, '{')
			if i < 0 {
				break
			}
			n, err := strconv.Atoi(line[i+1 : len(line)-1])
			if err != nil || n < 0 {
				break
			}
			if n > MaxMessage {
				// Read and drop it, so the session goes on.
				if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
					return nil, err
				}
				tooLarge = true
			} else {
				lit := make([]byte, n)
				if _, err := io.ReadFull(c.r, lit); err != nil {
					return nil, err
				}
				resp.literals = append(resp.literals, lit)
			}
			if line, err = c.readLine(); err != nil {
				return nil, err
			}
			resp.text += " " + line
		}
		if rest, ok := strings.CutPrefix(resp.text, tag+" "); ok {
			status, _, _ := strings.Cut(rest, " ")
			if status == "OK" && tooLarge {
				return nil, ErrTooLarge
			}
			if status == "OK" {
				return out, nil
			}
			return nil, fmt.Errorf("%w: %s", ErrIMAP, Scrub(rest))
		}
		out = append(out, resp)
	}
}

// UIDs lists the messages in INBOX by unique id.
func (c *IMAP) UIDs() ([]Message, error) {
	rs, err := c.cmd("UID SEARCH ALL")
	if err != nil {
		return nil, fmt.Errorf("imap: UID SEARCH: %w", err)
	}
	var out []Message
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.text, "* SEARCH")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, Message{Num: n, UID: f})
			}
		}
	}
	return out, nil
}

// Fetch returns the message with unique id uid, without marking it seen.
func (c *IMAP) Fetch(uid int) ([]byte, error) {
	rs, err := c.cmd("UID FETCH " + strconv.Itoa(uid) + " (BODY.PEEK[])")
	if err != nil {
		return nil, fmt.Errorf("imap: UID FETCH %d: %w", uid, err)
	}
	for _, r := range rs {
		if strings.Contains(r.text, " FETCH ") && len(r.literals) > 0 {
			return r.literals[0], nil
		}
	}
	return nil, fmt.Errorf("imap: UID FETCH %d: no message", uid)
}

// Delete marks the message with unique id uid deleted (expunged at Quit).
func (c *IMAP) Delete(uid int) error {
	if _, err := c.cmd("UID STORE " + strconv.Itoa(uid) + ` +FLAGS.SILENT (\Deleted)`); err != nil {
		return fmt.Errorf("imap: UID STORE %d: %w", uid, err)
	}
	return nil
}

// Quit expunges the messages marked deleted, logs out and closes the connection.
func (c *IMAP) Quit() error {
	_, err := c.cmd("EXPUNGE")
	if err == nil {
		_, _ = c.cmd("LOGOUT")
	}
	cerr := c.Close()
	if err != nil {
		return fmt.Errorf("imap: EXPUNGE: %w", err)
	}
	return cerr
}

// Close drops the connection: nothing more is expunged.
func (c *IMAP) Close() error {
	c.stop()
	return c.conn.Close()
}
