package web

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/lang"
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
	p := page{OrgName: s.brand.OrgName, Lang: c.DefaultLanguage()}
	if l, ok := lang.Lookup(p.Lang); ok && l.RTL {
		p.Dir = "rtl"
	}
	if !c.Multilingual() {
		title, body, err := campaignPageText(c)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.Title, p.Body = title, body
		if c.Poll != nil {
			p.Prompt = c.Poll.Question + " " + c.Poll.PromptIn(c.DefaultLanguage())
		}
	} else {
		// Every language on one page, the campaign's default first: the QR code on every
		// leaflet leads here, whichever language the leaflet is in.
		var titles []string
		for _, code := range c.Languages {
			v := c.In(code)
			title, body, err := campaignPageText(v)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			l, _ := lang.Lookup(code)
			part := pagePart{Lang: code, Endonym: l.Endonym, Title: title, Body: body}
			if l.RTL {
				part.Dir = "rtl"
			}
			if c.Poll != nil {
				part.Prompt = c.Poll.Question + " " + c.Poll.PromptIn(code)
			}
			p.Parts, titles = append(p.Parts, part), append(titles, title)
		}
		p.Title = strings.Join(titles, " / ")
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

// campaignPageText is c's title and text as its public page shows them: the leaflet's
// (or, without one, the e-bulletin's), merge fields read as for a resident we know
// nothing about ("Dear resident"), rendered from Markdown without raw HTML.
func campaignPageText(c *campaign.Campaign) (string, template.HTML, error) {
	title, body := c.LeafletTitle, c.LeafletBody
	if body == "" {
		title, body = c.Name, c.EmailBody
	}
	if title == "" {
		title = c.Name
	}
	if t, err := email.CompileText(c.Name, "body", body); err == nil {
		body = t.Render(email.Recipient{})
	}
	var html bytes.Buffer
	// goldmark's default renderer leaves raw HTML out ("<!-- raw HTML omitted -->").
	if err := goldmark.Convert([]byte(body), &html); err != nil {
		return "", "", err
	}
	return title, template.HTML(html.String()), nil
}
