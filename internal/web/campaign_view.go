package web

// The view models of the campaign's pages: what campaign_new.go and campaign_edit.go
// hand the templates editor_new.html and editor.html.

import (
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
)

// choice is one option of a select or radio group.
type choice struct {
	Value, Label string
	Selected     bool
}

// campaignFormView is editor_new.html's: the form as typed, its choices and problems.
type campaignFormView struct {
	Form     campaignForm
	Topics   []choice
	Segments []choice
	Orders   []choice
	Fields   map[string]formField
	Errors   []formError
}

// fact is one row of the campaign's summary list.
type fact struct{ Label, Value string }

// emailPreviewView is the e-bulletin preview's heading: its subject, or its problem.
type emailPreviewView struct {
	Subject string
	Problem string
}

// smsPreviewView is the text message as the sample resident gets it, measured, and what
// the audience's texts cost.
type smsPreviewView struct {
	Text       string
	Characters int
	Encoding   string
	Segments   int
	PerSegment int
	Remaining  int
	// Estimate and Worst are the real audience's texts (sms.Estimate's Summary and
	// WorstCase); without them, Fallback says why, and Reach and Cost are the sample's.
	Estimate string
	Worst    string
	Fallback string
	Reach    string // "up to 4 residents"
	Cost     string // "up to £0.37, at £0.0463 a segment"; "" without a price or a count
	NoPrice  bool
	Warnings []string
	Problem  string
}

// leafletPreviewView is the leaflet preview's image, or why there is none.
type leafletPreviewView struct {
	Src         string
	Alt         string
	Unavailable string // no preview, and why
}

// plainLanguageView is the plain-language check of the e-bulletin's (or leaflet's) text.
type plainLanguageView struct {
	Of        string // "the e-bulletin" or "the leaflet"
	Ease      string
	Easy      bool // 60 or more
	Words     int
	Sentences int
	Jargon    []email.Finding
	Long      []email.Finding
	Nothing   bool // no words to check
}

// campaignReachView is who the audience is and who each channel reaches.
type campaignReachView struct {
	Audience    string // "Everyone" or the segment's name
	Total       int
	Rows        []campaignReachRow
	PostOnly    int
	Unreachable int
	Excluded    []segment.Exclusion
	Marketing   bool
	Topic       string
	Problem     string
	Empty       string // when nobody can be reached on the campaign's channels: why scheduling is refused
}

// campaignReachRow is one channel's reach; Used when the campaign sends on it.
type campaignReachRow struct {
	Channel string
	N       int
	Used    bool
}

// historyRow is one change of the campaign's state.
type historyRow struct {
	When, ISO, Change, By, Note string
}

// campaignPageView is editor.html's: the campaign's page.
// languageView is one language of a campaign written in several: its previews, beside
// the others'.
type languageView struct {
	Code, Name, Endonym, Dir string
	Subject                  string // the e-bulletin's subject for the sample resident; "" without one
	SMS                      string // the text for the sample resident; "" without one
	Email, Leaflet           bool   // it sends an e-bulletin, prints a leaflet
	LeafletV                 string // the campaign's version, for the leaflet image's address
	Residents                string // "1,204 residents", or "" when not counted
	Note                     string // who falls back to it, or that the plain-language check is English only
}

type campaignPageView struct {
	ID int64
	// Languages are the campaign's languages side by side, when it has several; Bilingual
	// says each message carries both.
	Languages  []languageView
	Bilingual  bool
	PlainNote  string // why there is no plain-language check
	Name       string
	Post       bool   // it has the post channel: leaflets to print and rounds to walk
	State      string // campaign.State
	StateLabel string
	Facts      []fact
	Notice     string
	Errors     []formError
	Fields     map[string]formField

	// MergeWarnings are merge fields that are blank for everyone: {{attr.KEY}} for an
	// attribute no resident has.
	MergeWarnings []string

	Email   *emailPreviewView
	SMS     *smsPreviewView
	Leaflet *leafletPreviewView
	Plain   *plainLanguageView
	Reach   *campaignReachView
	History []historyRow

	// Progress is shown once the campaign is scheduled; Live, when it can still change
	// and the officer has not turned the updates off, makes static/live.js follow it.
	Progress *progressView
	Live     bool
	LiveOff  bool // the officer turned the updates off (?live=off)

	// The test send: whether email is set up, where it goes, and how many an hour.
	TestMail  bool
	TestTo    string
	TestLimit int

	// Edit is a draft's change form (nil for any other state, when NotEditable says
	// why and what to do instead); Version is when the copy it shows was read, and
	// Stale, when someone else has saved it since, says so.
	Edit        *campaignFormView
	Version     string
	Stale       string
	NotEditable string
	CanDelete   bool // a draft that nothing was ever sent or printed for

	// DroppedHTML is the HTML in the campaign's texts that residents will not see as
	// written, by text.
	DroppedHTML []htmlWarning

	CanSchedule, CanPause, CanResume, CanCancel bool
	Resend                                      *resendView // failed or unknown messages it can resend; nil: none
	When, SendAt                                string      // the schedule form, as typed
	Sample                                      string
}

// htmlWarning is the raw HTML in one of a campaign's texts, and what becomes of it.
type htmlWarning struct {
	Of     string // "the e-bulletin's text"
	Effect string // "is left out of the e-bulletin"
	Lines  []campaign.HTMLLine
}
