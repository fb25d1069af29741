package email

import (
	"errors"

	"github.com/crierhq/crier/internal/campaign"
)

// LanguageError is a problem with a campaign's text in one of its languages.
type LanguageError struct {
	Lang string
	Err  error
}

func (e *LanguageError) Error() string { return campaign.LanguageName(e.Lang) + ": " + e.Err.Error() }
func (e *LanguageError) Unwrap() error { return e.Err }

// CheckCampaign compiles c's e-bulletin, text and leaflet text — in each of its
// languages — so that a bad merge field or template is refused when the campaign is
// made or scheduled rather than failing mid-send. The CLI, the web editor's API and the
// HTTP API all check with it. Every problem is returned (errors.Join); a multilingual
// campaign's each wrapped in a LanguageError, and each text's in a ContentError naming
// the part and its line.
func CheckCampaign(c *campaign.Campaign) error {
	if c.Multilingual() {
		var errs []error
		for _, code := range c.Languages {
			for _, e := range Unjoin(CheckCampaign(c.In(code))) {
				errs = append(errs, &LanguageError{Lang: code, Err: e})
			}
		}
		return errors.Join(errs...)
	}
	var errs []error
	if c.EmailBody != "" {
		_, err := Compile(Bulletin{CampaignName: c.Name, Subject: c.EmailSubject, Markdown: c.EmailBody, Topic: c.Topic,
			Lang: c.DefaultLanguage()}, Branding{})
		errs = append(errs, Unjoin(err)...)
	}
	if c.SMSBody != "" {
		_, err := CompileText(c.Name, "sms", c.SMSText())
		errs = append(errs, Unjoin(err)...)
	}
	if c.LeafletBody != "" && c.LeafletBody != c.EmailBody { // (the e-bulletin's, checked above)
		_, err := CompileText(c.Name, "leaflet", c.LeafletBody)
		errs = append(errs, Unjoin(err)...)
	}
	return errors.Join(errs...)
}

// FileLine is the line of def's campaign file that a problem CheckCampaign found is on
// (a ContentError's line counts from the start of its part), and its part ("body",
// "sms", …); ok is false for a problem without a line.
func FileLine(def *campaign.Definition, e error) (line int, part string, ok bool) {
	lines := def.Lines
	var le *LanguageError
	if errors.As(e, &le) {
		lines = def.LinesFor(le.Lang)
	}
	var ce *ContentError
	if !errors.As(e, &ce) {
		return 0, "", false
	}
	start := map[string]int{"body": lines.Body, "subject": lines.Subject, "sms": lines.SMS, "leaflet": lines.LeafletBody}[ce.Part]
	if start == 0 {
		return 0, "", false
	}
	return lines.Line(start, ce.Line), ce.Part, true
}

// Unjoin lists the errors an errors.Join holds, or err itself (none for nil).
func Unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
