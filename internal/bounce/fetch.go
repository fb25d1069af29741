package bounce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// FetchResult is what one read of the bounce mailbox did.
type FetchResult struct {
	Messages int      // in the mailbox
	Reports  int      // bounce or complaint reports read (and deleted)
	Kept     []string // unique ids of messages that are not reports: left in the mailbox for a person
	Summary
}

// Fetch reads the bounce mailbox once: each message is fetched and parsed; a report's
// events are recorded and the message deleted; anything else (an auto-reply, a
// resident writing back) is kept and named in Kept. A message is deleted only once its
// events are committed, and deletions happen at the end (POP3 QUIT): a failure half way
// leaves every message not yet recorded in the mailbox, and reading again counts
// nothing twice.
func (s *Store) Fetch(ctx context.Context, cfg MailboxConfig) (FetchResult, error) {
	var res FetchResult
	p, err := dialMailbox(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer p.Close()
	msgs, err := p.List()
	if err != nil {
		return res, err
	}
	res.Messages = len(msgs)
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if s.isKept(m.UID) {
			res.Kept = append(res.Kept, m.UID) // read before: not fetched again every poll
			continue
		}
		raw, err := p.Get(m)
		if errors.Is(err, ErrTooLarge) {
			s.keep(m.UID)
			res.Kept = append(res.Kept, m.UID)
			continue
		}
		if err != nil {
			return res, err
		}
		events, err := ParseMail(raw)
		if errors.Is(err, ErrNotReport) {
			s.keep(m.UID)
			res.Kept = append(res.Kept, m.UID)
			continue
		}
		if err != nil {
			return res, err
		}
		sum, err := s.RecordAll(ctx, events)
		if err != nil {
			return res, fmt.Errorf("bounce mailbox message %s: %w", m.UID, err)
		}
		res.Summary.Recorded += sum.Recorded
		res.Summary.Duplicates += sum.Duplicates
		res.Summary.Unmatched += sum.Unmatched
		res.Summary.Suppressed += sum.Suppressed
		res.Summary.Withdrawn += sum.Withdrawn
		res.Reports++
		if err := p.Delete(m); err != nil {
			return res, err
		}
	}
	if err := p.Quit(); err != nil {
		return res, err
	}
	return res, nil
}

// mailbox is a bounce mailbox session, over POP3 or IMAP.
type mailbox interface {
	List() ([]Message, error)
	Get(Message) ([]byte, error)
	Delete(Message) error // takes effect at Quit
	Quit() error
	Close() error
}

func dialMailbox(ctx context.Context, cfg MailboxConfig) (mailbox, error) {
	if cfg.Protocol == "imap" {
		c, err := DialIMAP(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return imapMailbox{c}, nil
	}
	p, err := DialPOP3(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pop3Mailbox{p}, nil
}

type pop3Mailbox struct{ *POP3 }

func (p pop3Mailbox) List() ([]Message, error)      { return p.UIDL() }
func (p pop3Mailbox) Get(m Message) ([]byte, error) { return p.Retr(m.Num) }
func (p pop3Mailbox) Delete(m Message) error        { return p.Dele(m.Num) }

type imapMailbox struct{ *IMAP }

func (c imapMailbox) List() ([]Message, error)      { return c.UIDs() }
func (c imapMailbox) Get(m Message) ([]byte, error) { return c.Fetch(m.Num) }
func (c imapMailbox) Delete(m Message) error        { return c.IMAP.Delete(m.Num) }

// keep remembers, for the life of the process, a message left in the mailbox, so that
// polling does not download it again every few minutes. (POP3 unique ids are stable
// across sessions, RFC 1939.)
func (s *Store) keep(uid string) {
	s.keptMu.Lock()
	defer s.keptMu.Unlock()
	if s.kept == nil {
		s.kept = map[string]bool{}
	}
	if len(s.kept) < 100000 {
		s.kept[uid] = true
	}
}

func (s *Store) isKept(uid string) bool {
	s.keptMu.Lock()
	defer s.keptMu.Unlock()
	return s.kept[uid]
}

// Poll reads the mailbox every interval until ctx ends (crier serve). A failed read is
// logged and tried again at the next tick: a mailbox down for a while loses nothing.
func (s *Store) Poll(ctx context.Context, cfg MailboxConfig, interval time.Duration) error {
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.Fetch(ctx, cfg)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.logger.WarnContext(ctx, "bounce mailbox not read", slog.String("error", Scrub(err.Error())))
		case res.Reports > 0 || len(res.Kept) > 0:
			s.logger.InfoContext(ctx, "bounce mailbox read", slog.Int("reports", res.Reports), slog.Int("recorded", res.Recorded),
				slog.Int("duplicates", res.Duplicates), slog.Int("suppressed", res.Suppressed),
				slog.Int("withdrawn", res.Withdrawn), slog.Int("kept", len(res.Kept)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
