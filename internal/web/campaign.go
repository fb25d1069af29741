package web

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"

	"github.com/yuin/goldmark"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
)

// handleCampaignPage is a campaign's public page, where a leaflet's QR code leads: its
// leaflet text (or, without one, its e-bulletin's), for campaigns that have gone out.
// Drafts and scheduled campaigns are not shown: nothing is public before it is sent.
func (s *Server) handleCampaignPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w)
		return
	}
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
	if err != nil || (c.State != campaign.Sending && c.State != campaign.Completed) {
		s.notFound(w)
		return
	}
	title, body := c.LeafletTitle, c.LeafletBody
	if body == "" {
		title, body = c.Name, c.EmailBody
	}
	if title == "" {
		title = c.Name
	}
	// Merge fields read as they would for a resident we know nothing about ("Dear resident").
	if t, err := email.CompileText(c.Name, "body", body); err == nil {
		body = t.Render(email.Recipient{})
	}
	var html bytes.Buffer
	// goldmark's default renderer leaves raw HTML out ("<!-- raw HTML omitted -->").
	if err := goldmark.Convert([]byte(body), &html); err != nil {
		s.fail(w, r, err)
		return
	}
	p := page{Title: title, OrgName: s.brand.OrgName, Body: template.HTML(html.String())}
	if c.Poll != nil {
		p.Prompt = c.Poll.Question + " " + c.Poll.Prompt()
	}
	if s.signUpOpen() {
		p.SignUp = "/signup"
	}
	s.render(w, http.StatusOK, "campaign.html", p)
}

func (s *Server) notFound(w http.ResponseWriter) {
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Page not found", OrgName: s.brand.OrgName,
		Message: "There is no campaign page here. It may not have been sent yet."})
}
