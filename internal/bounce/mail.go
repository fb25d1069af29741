package bounce

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// maxPart bounds each MIME part read from a report: the machine-readable parts are a
// few hundred bytes, a returned message may be large but only its headers are needed.
const maxPart = 1 << 20

// ParseMail reads one mail from the bounce mailbox and returns its events: one per
// recipient of a delivery status notification (RFC 3464) that failed, or one for an
// abuse report (RFC 5965). Successful and delayed deliveries ("Action: delivered",
// "delayed", …) yield no events and no error: a delay is not a bounce, the relay is
// still trying. Anything else returns ErrNotReport.
func ParseMail(raw []byte) ([]Event, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReport, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" {
		return nil, ErrNotReport
	}
	reportType := strings.ToLower(params["report-type"])
	if reportType != "delivery-status" && reportType != "feedback-report" {
		return nil, ErrNotReport
	}
	ref := trimID(msg.Header.Get("Message-ID"))
	if ref == "" {
		sum := sha256.Sum256(raw)
		ref = "sha256:" + hex.EncodeToString(sum[:16])
	}
	at, _ := msg.Header.Date()

	var status, feedback []byte
	var original textproto.MIMEHeader
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotReport, err)
		}
		body, err := io.ReadAll(io.LimitReader(decodePart(p), maxPart))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotReport, err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			status = body
		case "message/feedback-report":
			feedback = body
		case "text/rfc822-headers", "message/rfc822", "message/rfc822-headers", "message/global", "message/global-headers":
			original = readHeaders(body)
		}
	}
	messageID := ""
	if original != nil {
		messageID = trimID(original.Get("Message-Id"))
	}
	switch {
	case reportType == "delivery-status" && status != nil:
		return parseDeliveryStatus(status, ref, messageID, at)
	case reportType == "feedback-report" && feedback != nil:
		return parseFeedback(feedback, original, ref, messageID, at)
	}
	return nil, ErrNotReport
}

// decodePart undoes a part's Content-Transfer-Encoding (NextRawPart leaves it).
func decodePart(p *multipart.Part) io.Reader {
	switch strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		return newQPReader(p)
	case "base64":
		return newBase64Reader(p)
	}
	return p
}

// readHeaders reads a header block (the returned message's headers, with or without
// its body); what it can't read is skipped.
func readHeaders(b []byte) textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(b), strings.NewReader("\r\n\r\n"))))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return textproto.MIMEHeader{}
	}
	return h
}

// blocks splits a message/delivery-status body into its header blocks: the
// per-message fields, then one block per recipient.
func blocks(b []byte) []textproto.MIMEHeader {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out []textproto.MIMEHeader
	for _, chunk := range bytes.Split(b, []byte("\n\n")) {
		if len(bytes.TrimSpace(chunk)) == 0 {
			continue
		}
		out = append(out, readHeaders(bytes.TrimLeft(chunk, "\n")))
	}
	return out
}

func parseDeliveryStatus(body []byte, ref, messageID string, at time.Time) ([]Event, error) {
	bs := blocks(body)
	if len(bs) < 2 {
		// A per-message block with no recipient block, or nothing readable.
		return nil, fmt.Errorf("%w: a delivery status with no recipient", ErrNotReport)
	}
	var events []Event
	for i, rb := range bs[1:] {
		action := strings.ToLower(strings.TrimSpace(rb.Get("Action")))
		statusCode := strings.TrimSpace(rb.Get("Status"))
		if f := strings.Fields(statusCode); len(f) > 0 {
			statusCode = f[0]
		}
		if action != "failed" {
			continue // delivered, relayed, expanded, delayed: not a bounce
		}
		kind := kindOfStatus(statusCode)
		if kind == "" {
			kind = Hard // "failed" without a usable status: the relay gave up
		}
		// Original-Recipient is the address crier sent to, before any forwarding.
		rcpt := trimAddr(rb.Get("Original-Recipient"))
		if rcpt == "" {
			rcpt = trimAddr(rb.Get("Final-Recipient"))
		}
		when := at
		if d := rb.Get("Last-Attempt-Date"); d != "" {
			if t, err := mail.ParseDate(d); err == nil {
				when = t
			}
		}
		events = append(events, Event{Kind: kind, Source: SourceDSN, Ref: ref + "#" + strconv.Itoa(i+1),
			Recipient: rcpt, MessageID: messageID, Status: statusCode,
			Diagnostic: diagnostic(rb.Get("Diagnostic-Code")), At: when})
	}
	return events, nil
}

// diagnostic drops the "smtp;" type of a Diagnostic-Code.
func diagnostic(s string) string {
	if t, v, ok := strings.Cut(s, ";"); ok && !strings.ContainsAny(t, " @") {
		s = v
	}
	return strings.TrimSpace(s)
}

func parseFeedback(body []byte, original textproto.MIMEHeader, ref, messageID string, at time.Time) ([]Event, error) {
	bs := blocks(body)
	if len(bs) == 0 {
		return nil, fmt.Errorf("%w: an empty feedback report", ErrNotReport)
	}
	fb := bs[0]
	ft := strings.ToLower(strings.TrimSpace(fb.Get("Feedback-Type")))
	switch ft {
	case "abuse", "fraud":
	case "":
		return nil, fmt.Errorf("%w: a feedback report with no Feedback-Type", ErrNotReport)
	default:
		return nil, nil // not-spam, virus, auth-failure, other: nothing the resident said
	}
	rcpt := trimAddr(fb.Get("Original-Rcpt-To"))
	if rcpt == "" && original != nil {
		if a, err := mail.ParseAddress(original.Get("To")); err == nil {
			rcpt = a.Address
		}
	}
	when := at
	if d := fb.Get("Arrival-Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			when = t
		}
	}
	return []Event{{Kind: Complaint, Source: SourceARF, Ref: ref, Recipient: rcpt, MessageID: messageID,
		Status: ft, Diagnostic: "feedback report: " + ft, At: when}}, nil
}
