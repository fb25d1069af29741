package web

// A campaign's content rendered for the sample resident, as each channel will carry it:
// the editor's previews and the checks before it is saved or scheduled.

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/segment"
)

// leafletContent is what c's leaflet prints, as a print run prints it: the
// organisation, its address, a call to action and QR code for the campaign's page (when
// the public address is known), and the text with merge fields read as for a resident
// we know nothing about.
func (s *Server) leafletContent(c *campaign.Campaign) (leaflet.Content, error) {
	content := leaflet.Content{CampaignName: c.Name, Title: c.LeafletTitle, OrgName: s.brand.OrgName, Lang: c.DefaultLanguage()}
	publicURL := ""
	if s.app != nil { // (the HTTP API can run without the officers' app)
		content.LogoPNG, publicURL = s.app.LeafletLogo, s.app.PublicURL
	}
	if content.Title == "" {
		content.Title = c.Name
	}
	if addr := strings.TrimSpace(s.brand.FooterAddress); addr != "" || s.brand.OrgName != "" {
		content.Contact = strings.TrimSpace(s.brand.OrgName + "\n" + strings.ReplaceAll(addr, ", ", "\n"))
	}
	if base := strings.TrimRight(publicURL, "/"); base != "" {
		page := fmt.Sprintf("%s/c/%d", base, max(c.ID, 1)) // (a campaign being checked has no id yet)
		content.CallToAction, content.QRURL = "Read it online and tell us what you think: "+page, page
	}
	t, err := email.CompileText(c.Name, "leaflet", c.LeafletBody)
	if err != nil {
		return content, err
	}
	content.Body = t.Render(email.Recipient{})
	return content, nil
}

// renderLeaflet prints c's leaflet for the sample resident, as an A4 PDF.
func (s *Server) renderLeaflet(c *campaign.Campaign, w io.Writer) error {
	content, err := s.leafletContent(c)
	if err != nil {
		return err
	}
	return leaflet.Render(w, content, []leaflet.Recipient{sampleAddress},
		leaflet.Options{Format: leaflet.A4, Personalised: true})
}

// checkLeaflet reports what stops c's leaflet printing, by field: "leaflet_title",
// "body" (the leaflet's text, or the e-bulletin's when it prints that), or "org" for the
// organisation's own details, which the officer cannot change here. err is for failures
// to check.
func (s *Server) checkLeaflet(c *campaign.Campaign, report func(field, msg string)) error {
	err := s.renderLeaflet(c, io.Discard)
	if err == nil {
		return nil
	}
	var ce *email.ContentError
	if errors.As(err, &ce) {
		return contentErrors(err, func(_ string, msg string) { report("body", "The leaflet: "+msg) })
	}
	if !errors.Is(err, leaflet.ErrInvalid) {
		return err
	}
	_, detail, _ := strings.Cut(err.Error(), leaflet.ErrInvalid.Error()+": ")
	for _, line := range strings.Split(detail, "\n") {
		name, msg, _ := strings.Cut(line, ": ")
		switch name {
		case "Title":
			report("leaflet_title", "The leaflet's title: "+msg)
		case "Body":
			report("body", "The leaflet: "+msg)
		default:
			report("org", line)
		}
	}
	return nil
}

// renderEmail renders c's e-bulletin for the sample resident, as the composer
// renders it for each resident.
func (s *Server) renderEmail(c *campaign.Campaign, topicName string) (email.Rendered, error) {
	return s.renderEmailFor(c, topicName, sampleResident)
}

// renderEmailFor renders c's e-bulletin for rec, with links that lead nowhere: in its
// default language (both, for a bilingual campaign; see previewIn for another).
func (s *Server) renderEmailFor(c *campaign.Campaign, topicName string, rec email.Recipient) (email.Rendered, error) {
	b := email.BulletinFor(c, c.DefaultLanguage())
	b.Topic, b.Service = topicName, c.Purpose == segment.PurposeService
	compiled, err := email.Compile(b, s.brand)
	if err != nil {
		return email.Rendered{}, err
	}
	return compiled.Render(rec, previewLinks)
}

// previewIn is c as the previews show it in language code (a "lang" query parameter):
// that language's texts, first in a bilingual message; c itself for a language it is
// not written in.
func previewIn(c *campaign.Campaign, code string) *campaign.Campaign {
	if !slices.Contains(c.Languages, code) || code == c.DefaultLanguage() {
		return c
	}
	if c.Bilingual {
		cp := *c
		cp.Languages = []string{c.Languages[1], c.Languages[0]}
		cp.Variants = map[string]campaign.Content{c.Languages[0]: c.In(c.Languages[0]).Own()}
		v := c.In(code)
		cp.EmailSubject, cp.EmailBody, cp.SMSBody, cp.LeafletTitle, cp.LeafletBody = v.EmailSubject, v.EmailBody, v.SMSBody, v.LeafletTitle, v.LeafletBody
		return &cp
	}
	return c.In(code)
}
