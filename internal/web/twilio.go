package web

import (
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twilio/twilio-go/client"

	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sms"
)

// TwilioHooks receives Twilio's webhooks: status callbacks for sent texts and residents'
// inbound texts. Every request must carry a valid X-Twilio-Signature.
type TwilioHooks struct {
	AuthToken string // signs the webhooks (twilio-go's RequestValidator checks them)
	// PublicURL is the scheme and host Twilio calls, e.g. "https://crier.example.gov.uk":
	// behind a proxy the signature covers the public URL, not the one crier listens on.
	PublicURL string
	Inbox     *inbox.Store
	Outbox    *outbox.Store
	// OnStatus, if set, is told of each delivery report stored: Twilio's status and its
	// ErrorCode (0 for none). For metrics; it must be quick.
	OnStatus func(status string, errorCode int)
}

// The webhook paths, relative to the public URL.
const (
	InboundPath = "/twilio/sms"
	StatusPath  = "/twilio/status"
)

// twMaxBody bounds a webhook's form: Twilio's are a few hundred bytes (a 1,600-character
// body percent-encoded is under 15 KB).
const twMaxBody = 32 << 10

// twilioForm reads and checks a webhook: the form must parse (else 400) and be signed
// with the auth token for the public URL it was sent to (else 403). Nothing is recorded
// for a request that fails either check.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, twMaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
		}
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "the body is not form data", http.StatusBadRequest)
		return nil, false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	sig := r.Header.Get("X-Twilio-Signature")
	full := s.twilio.PublicURL + r.URL.RequestURI()
	if sig == "" || !s.validator.Validate(full, params, sig) {
		s.log.WarnContext(r.Context(), "twilio webhook refused: bad or missing signature", "path", r.URL.Path)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return nil, false
	}
	return params, true
}

// handleInbound takes a resident's text and answers with TwiML.
func (s *Server) handleInbound(w http.ResponseWriter, r *http.Request) {
	p, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	// A signed webhook is stored whatever it carries: text PostgreSQL can't hold (a NUL
	// byte, bytes that are not UTF-8) gets replacement characters, and the body is kept
	// as it arrived besides. Refusing it would only make Twilio retry it for ever.
	in := inbox.Inbound{SID: storableText(p["MessageSid"]), From: storableText(p["From"]), To: storableText(p["To"]),
		Body: storableText(p["Body"]), OptOutType: storableText(p["OptOutType"])}
	if in.Body != p["Body"] {
		in.RawBody = []byte(p["Body"])
	}
	if in.SID == "" {
		in.SID = p["SmsMessageSid"]
	}
	if in.SID == "" || in.From == "" {
		http.Error(w, "MessageSid and From are required", http.StatusBadRequest)
		return
	}
	got, err := s.twilio.Inbox.Receive(r.Context(), in)
	if err != nil {
		// 500 makes Twilio retry; the SID keeps the retry from being stored twice.
		s.log.ErrorContext(r.Context(), "inbound text not stored", "err", err)
		http.Error(w, "not stored, try again", http.StatusInternalServerError)
		return
	}
	s.log.InfoContext(r.Context(), "inbound text", slog.Int64("message", got.MessageID),
		slog.Int64("conversation", got.ConversationID), slog.Bool("duplicate", got.Duplicate),
		slog.String("keyword", string(got.Keyword)))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, twiml(got.Reply))
}

// twiml is a TwiML response that sends reply back, or says nothing when reply is "".
func twiml(reply string) string {
	if reply == "" {
		return `<?xml version="1.0" encoding="UTF-8"?><Response/>`
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>`)
	_ = xml.EscapeText(&b, []byte(reply))
	b.WriteString(`</Message></Response>`)
	return b.String()
}

// handleStatus records a status callback for a sent text. It is idempotent and safe in
// any order: a status is applied only when it raises the message's rank.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	p, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	sid := p["MessageSid"]
	status := p["MessageStatus"]
	if status == "" {
		status = p["SmsStatus"]
	}
	if sid == "" || status == "" {
		http.Error(w, "MessageSid and MessageStatus are required", http.StatusBadRequest)
		return
	}
	// An ErrorCode that is not one of Twilio's (not a number, or out of their range) is
	// recorded as an unknown error, not refused: the callback is signed, and a refusal
	// would only be retried.
	code := 0
	if c := p["ErrorCode"]; c != "" {
		if n, err := strconv.Atoi(c); err == nil && n >= 0 && n <= maxTwilioErrorCode {
			code = n
		} else {
			code = unknownTwilioErrorCode
		}
	}
	rank := sms.StatusRank(status)
	if rank == 0 {
		// A status Crier doesn't track (Twilio adds them now and then): nothing to do.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	state, reason, _ := sms.CallbackOutcome(status, code)
	ps := outbox.ProviderStatus{ProviderID: sid, Status: status, Rank: rank, State: state, Reason: reason, ErrorCode: code}
	if ec, ok := sms.LookupCode(code); ok {
		ps.PointStatus = ec.PointStatus
		if ec.Kind == dispatch.ErrOptedOut {
			// With a Messaging Service, Twilio can take a text and refuse it later (21610).
			ps.PointStatus = "opted_out"
		}
	}
	if _, err := s.twilio.Outbox.RecordProviderStatus(r.Context(), ps); err != nil {
		s.log.ErrorContext(r.Context(), "status callback not stored", "err", err)
		http.Error(w, "not stored, try again", http.StatusInternalServerError)
		return
	}
	if s.twilio.OnStatus != nil {
		s.twilio.OnStatus(status, code)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Twilio's error codes are five digits; unknownTwilioErrorCode stands for one that isn't.
const (
	maxTwilioErrorCode     = 99999
	unknownTwilioErrorCode = 99999
)

// storableText is s as PostgreSQL text can hold it: invalid UTF-8 and NUL bytes become
// U+FFFD.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func newValidator(token string) client.RequestValidator { return client.NewRequestValidator(token) }
