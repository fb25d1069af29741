package web

// The campaign editor for officers: write a campaign once (its audience, purpose,
// channels, e-bulletin, text message, leaflet and poll), see it side by side as residents
// will get it on each channel, with its plain-language check, its reach and what its
// texts cost, then schedule, pause, resume or cancel it and watch it go out.
//
// The e-bulletin preview is the one page crier lets itself be framed by: the editor's
// page embeds it in a sandboxed <iframe>, and secure() gives the two their own
// Content-Security-Policy (campaignEditPath, emailPreviewPath). Neither runs a script.
//
// One file per page or action: campaign_new.go (write one), campaign_edit.go (its page),
// campaign_update.go (change a draft, copy a campaign), campaign_delete.go (delete a draft),
// campaign_preview.go (the framed e-bulletin, the leaflet image), campaign_schedule.go,
// campaign_move.go (pause, resume, cancel), sendtome.go (test send), resend.go. The form
// and its checks are in campaign_form.go and campaign_build.go, the page's view models in
// campaign_view.go, rendering for the sample resident in campaign_content.go.

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
)

// registerCampaignEditor adds the campaign editor's pages to mux, all for officers.
func (s *Server) registerCampaignEditor(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /campaigns/new", s.withUser(officers, s.handleCampaignNew))
	mux.HandleFunc("POST /campaigns/new", s.withUser(officers, s.handleCampaignCreate))
	mux.HandleFunc("GET /campaigns/{id}/edit", s.withUser(officers, s.handleCampaignEdit))
	mux.HandleFunc("POST /campaigns/{id}/edit", s.withUser(officers, s.handleCampaignUpdate))
	mux.HandleFunc("POST /campaigns/{id}/duplicate", s.withUser(officers, s.handleCampaignDuplicate))
	mux.HandleFunc("GET /campaigns/{id}/delete", s.withUser(officers, s.handleCampaignDeleteConfirm))
	mux.HandleFunc("POST /campaigns/{id}/delete", s.withUser(officers, s.handleCampaignDelete))
	mux.HandleFunc("GET /campaigns/{id}/preview/email", s.withUser(officers, s.handleEmailPreview))
	mux.HandleFunc("GET /campaigns/{id}/preview/leaflet.png", s.withUser(officers, s.handleLeafletPreview))
	mux.HandleFunc("POST /campaigns/{id}/schedule", s.withUser(officers, s.handleCampaignSchedule))
	mux.HandleFunc("POST /campaigns/{id}/pause", s.withUser(officers, s.handleCampaignMove))
	mux.HandleFunc("POST /campaigns/{id}/resume", s.withUser(officers, s.handleCampaignMove))
	mux.HandleFunc("POST /campaigns/{id}/cancel", s.withUser(officers, s.handleCampaignMove))
	mux.HandleFunc("POST /campaigns/{id}/test", s.withUser(officers, s.handleCampaignTestSend))
	mux.HandleFunc("GET /campaigns/{id}/progress", s.progressSignedIn(s.withUser(officers, s.handleCampaignProgress)))
}

// The paths whose responses secure() gives their own Content-Security-Policy: the
// editor's page, which frames the e-bulletin preview and shows the leaflet preview (an
// image from this site), also as the actions re-show it with an error; and the
// e-bulletin preview, which only this site may frame.
var (
	campaignEditPath = regexp.MustCompile(`^/campaigns/[0-9]+/(?:edit|schedule|pause|resume|cancel|test|resend-failed|resend-unknown)$`)
	emailPreviewPath = regexp.MustCompile(`^/campaigns/[0-9]+/preview/email$`)
)

// sampleResident is the resident the previews are personalised for: a long name in a
// long-named ward, so that the text measured is as long as most residents' will be (as
// the CLI measures it).
var sampleResident = email.Recipient{FirstName: "Christopher", LastName: "Montgomery-Smith",
	Ward: "St Margaret's and North Twickenham"}

// sampleAddress is where the leaflet preview's address panel sends it.
var sampleAddress = leaflet.Recipient{Name: "Christopher Montgomery-Smith",
	Lines: []string{"Flat 2", "12 Acre Lane", "London", "SW2 1RW"}}

// previewLinks stand for a resident's own links in the e-bulletin preview: they lead
// nowhere, so nobody is unsubscribed by trying them.
var previewLinks = email.Links{Unsubscribe: "#unsubscribe", Preferences: "#preferences",
	ViewInBrowser: "#view-in-browser"}

// previewSlots bounds the pdftoppm processes the leaflet previews run at once.
var previewSlots = make(chan struct{}, 2)

// The channels, in the order the form and the pages list them.
var campaignChannels = []string{"email", "sms", "post"}

// channelName is how the pages name a channel.
func channelName(ch string) string {
	switch ch {
	case "email":
		return "E-bulletin"
	case "sms":
		return "Text message (SMS)"
	case "post":
		return "Printed leaflet"
	}
	return ch
}

// sampleResidentName names the sample resident, and their ward, for the page.
func sampleResidentName() string {
	return sampleResident.FirstName + " " + sampleResident.LastName + " of " + sampleResident.Ward
}

// actorOf is who the audit trail and the campaign history record as doing what r asks.
func actorOf(r *http.Request) string { return sessionOf(r).User.Email }

// campaignEditURL is the address of campaign id's page.
func campaignEditURL(id int64) string { return "/campaigns/" + strconv.FormatInt(id, 10) + "/edit" }

// campaignFromPath loads the campaign the path names, answering 404 when there is none.
func (s *Server) campaignFromPath(w http.ResponseWriter, r *http.Request) (*campaign.Campaign, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil && id > 0 {
		c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
		if err == nil {
			return c, true
		}
		if !errors.Is(err, campaign.ErrNotFound) {
			s.fail(w, r, err)
			return nil, false
		}
	}
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Campaign not found", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Message: "There is no such campaign. Go back to the campaigns and choose one."})
	return nil, false
}

// londonTime shows t as the pages show a time: London's, to the minute.
func londonTime(t time.Time) string { return t.In(campaign.London).Format("Mon 2 Jan 2006, 15:04") }
