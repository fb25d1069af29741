package web

// "Send a test e-bulletin to me": the campaign's e-bulletin, rendered for the signed-in
// officer as the preview renders it for the sample resident (their own name in the merge
// fields, links that lead nowhere), "[Test]" before its subject, sent at once through the
// e-bulletins' SMTP sender. It is no outbox row: no resident gets it, and it counts in no
// results. Each officer may send a few an hour.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
)

// Test sends allowed per officer, and in how long.
const (
	testSendLimit  = 10
	testSendWindow = time.Hour
	// testSendTimeout bounds one send: the officer waits for it.
	testSendTimeout = 30 * time.Second
)

// testSendKey is an officer of one Server (tests run several, on databases whose user
// ids repeat).
type testSendKey struct {
	srv  *Server
	user int64
}

// testSends counts each officer's recent test sends (see sendLimiter).
var testSends = newSendLimiter[testSendKey]()

// testRecipient is the officer as the merge fields see them: first word of their name
// the first name, the rest the last. The ward is the sample resident's: officers have
// none, and an empty one would read oddly.
func testRecipient(name string) email.Recipient {
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	return email.Recipient{FirstName: first, LastName: strings.TrimSpace(last), Ward: sampleResident.Ward}
}

// renderTestEmail renders c's e-bulletin for the officer called name, as the preview
// renders it for the sample resident, "[Test]" before its subject.
func (s *Server) renderTestEmail(c *campaign.Campaign, topicName, name string) (email.Rendered, error) {
	out, err := s.renderEmailFor(c, topicName, testRecipient(name))
	if err != nil {
		return email.Rendered{}, err
	}
	out.Subject = "[Test] " + out.Subject
	return out, nil
}

// handleCampaignTestSend sends the test, then shows the page again (303) saying it went;
// or shows it at once with why not.
func (s *Server) handleCampaignTestSend(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	user := sessionOf(r).User
	refuse := func(code int, msg string) {
		errs := &formErrors{}
		errs.add("test", msg)
		s.showCampaign(w, r, c, code, errs, "", "")
	}
	if s.app.Mail == nil {
		refuse(http.StatusServiceUnavailable, "Email isn't set up on this server, so a test can't be sent")
		return
	}
	if !slices.Contains(c.Channels(), "email") {
		refuse(http.StatusUnprocessableEntity, "This campaign sends no e-bulletin, so there is nothing to test by email")
		return
	}
	topicName, err := consent.TopicName(ctx, s.db, c.TopicID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.renderTestEmail(c, topicName, user.Name)
	if err != nil {
		refuse(http.StatusUnprocessableEntity, "The e-bulletin can't be sent as it is: "+err.Error())
		return
	}
	if !testSends.take(testSendKey{s, user.ID}, time.Now(), testSendLimit, testSendWindow) {
		s.log.WarnContext(ctx, "test e-bulletin refused: too many", "campaign_id", c.ID, "user_id", user.ID)
		refuse(http.StatusTooManyRequests, fmt.Sprintf("You have sent %d tests in the last hour, the most allowed. Try again later", testSendLimit))
		return
	}
	sctx, cancel := context.WithTimeout(ctx, testSendTimeout)
	defer cancel()
	receipt, err := s.app.Mail.Send(sctx, dispatch.Message{CampaignID: c.ID, Channel: dispatch.Email,
		To: user.Email, From: s.app.MailFrom, Subject: out.Subject, HTML: out.HTML, Text: out.Text})
	if err != nil {
		// The error itself may quote the address: log its class only.
		why := "no answer in time"
		var se *dispatch.SendError
		switch {
		case errors.As(err, &se):
			why = se.Error()
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return // the officer went away
		}
		s.log.WarnContext(ctx, "test e-bulletin not sent", "campaign_id", c.ID, "user_id", user.ID, "why", why)
		refuse(http.StatusBadGateway, "The email server did not take the test ("+why+"). Try again, or ask whoever looks after Crier to check its email settings")
		return
	}
	s.log.InfoContext(ctx, "test e-bulletin sent", "campaign_id", c.ID, "user_id", user.ID, "message_id", receipt.ProviderID)
	http.Redirect(w, r, campaignEditURL(c.ID)+"?done=tested", http.StatusSeeOther)
}
