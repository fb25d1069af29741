package email

import (
	"bytes"
	"errors"
	"net/textproto"
	"strings"
	"time"
)

// A mail transaction (MAIL, RCPT, DATA, the message, the final ".") is written here
// rather than by go-mail's client, which sends each command and waits for its reply,
// and writes the message through textproto's dot-writer a byte at a time. When the
// server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go out in one write and the
// message, already rendered and dot-stuffed, in another: two round trips and two
// writes per message instead of four and a dozen. go-mail still dials, greets,
// negotiates TLS, logs in and composes the message.

// txnError is a failure at one stage of a transaction. err is a *textproto.Error when
// the server replied, else the I/O error.
type txnError struct {
	stage sendStage
	err   error
	// broken says the connection is no use after this (a reset that failed).
	broken bool
}

func (e *txnError) Error() string {
	return "smtp " + [...]string{"connect", "MAIL FROM", "RCPT TO", "DATA", "end of data", "RSET"}[e.stage] + ": " + e.err.Error()
}

func (e *txnError) Unwrap() error { return e.err }

// transact sends msg (rendered, CRLF line ends, no dot-stuffing) from the envelope
// sender from to the recipient to, both "<addr>". timeout bounds the whole transaction.
func (c *sendConn) transact(from, to string, msg []byte, timeout time.Duration) error {
	sc := c.smtp
	if strings.ContainsAny(from, "\r\n") {
		return &txnError{stage: sendStageMail, err: errors.New("a line must not contain CR or LF")}
	}
	if strings.ContainsAny(to, "\r\n") {
		return &txnError{stage: sendStageRcpt, err: errors.New("a line must not contain CR or LF")}
	}
	if err := sc.UpdateDeadline(timeout); err != nil {
		return &txnError{stage: sendStageMail, err: err}
	}
	mailCmd := "MAIL FROM:" + from
	if ok, _ := sc.Extension("8BITMIME"); ok {
		mailCmd += " BODY=8BITMIME"
	}
	if ok, _ := sc.Extension("SMTPUTF8"); ok {
		mailCmd += " SMTPUTF8"
	}
	pipelining, _ := sc.Extension("PIPELINING")
	w, r := sc.Text.W, &sc.Text.Reader

	// The envelope: in one write when pipelining, else one command at a time.
	cmds := [...]struct {
		line   string
		expect int
		stage  sendStage
	}{{mailCmd, 250, sendStageMail}, {"RCPT TO:" + to, 25, sendStageRcpt}, {"DATA", 354, sendStageData}}
	var refused *txnError
	sent := 0
	for i, cmd := range cmds {
		if refused != nil && !pipelining {
			break
		}
		w.WriteString(cmd.line)
		w.WriteString("\r\n")
		sent++
		if pipelining && i < len(cmds)-1 {
			continue
		}
		if err := w.Flush(); err != nil {
			return &txnError{stage: cmds[0].stage, err: err, broken: true}
		}
		for _, want := range cmds[i+1-sent : i+1] {
			_, _, err := r.ReadResponse(want.expect)
			var tpe *textproto.Error
			switch {
			case err == nil:
				if want.stage == sendStageData && refused != nil {
					// A server that takes DATA after refusing the recipient: end the
					// (empty) message at once; there is nobody to deliver it to.
					if err := c.endEmpty(); err != nil {
						refused.broken = true
					}
				}
			case errors.As(err, &tpe):
				if refused == nil {
					refused = &txnError{stage: want.stage, err: err}
				}
			default:
				return &txnError{stage: want.stage, err: err, broken: true}
			}
		}
		sent = 0
	}
	if refused != nil {
		if refused.stage != sendStageData {
			// MAIL or RCPT refused: reset the transaction so the connection can carry the
			// next message.
			if err := c.reset(); err != nil {
				refused.broken = true
			}
		}
		return refused
	}

	// The message, dot-stuffed and ended with ".", in one write.
	buf := dotStuff(c.stuffed[:0], msg)
	c.stuffed = buf[:0]
	if _, err := w.Write(buf); err != nil {
		return &txnError{stage: sendStageData, err: err, broken: true}
	}
	if err := w.Flush(); err != nil {
		return &txnError{stage: sendStageData, err: err, broken: true}
	}
	if cap(c.stuffed) > 1<<20 {
		c.stuffed = nil // one huge message shouldn't pin its buffer to the connection
	}
	if _, _, err := r.ReadResponse(250); err != nil {
		var tpe *textproto.Error
		return &txnError{stage: sendStageDataEnd, err: err, broken: !errors.As(err, &tpe)}
	}
	return nil
}

// reset sends RSET and reads its reply.
func (c *sendConn) reset() error {
	w := c.smtp.Text.W
	w.WriteString("RSET\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	_, _, err := c.smtp.Text.ReadResponse(250)
	return err
}

// endEmpty ends a DATA the server should not have accepted (transact resets after).
func (c *sendConn) endEmpty() error {
	w := c.smtp.Text.W
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	_, _, err := c.smtp.Text.ReadResponse(250)
	var tpe *textproto.Error
	if err != nil && !errors.As(err, &tpe) {
		return err // whatever the server said, the transaction had no recipient
	}
	return nil
}

// dotStuff appends msg to dst as the DATA stream carries it (RFC 5321 4.5.2): every
// line ending CRLF (a bare LF becomes CRLF), a "." doubled at the start of a line, and
// the terminating ".".
func dotStuff(dst, msg []byte) []byte {
	for len(msg) > 0 {
		if msg[0] == '.' {
			dst = append(dst, '.')
		}
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			dst = append(dst, msg...)
			dst = append(dst, '\r', '\n')
			break
		}
		line := msg[:i]
		msg = msg[i+1:]
		dst = append(dst, line...)
		if len(line) == 0 || line[len(line)-1] != '\r' {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
	}
	return append(dst, '.', '\r', '\n')
}
