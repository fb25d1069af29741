package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
)

// fileContentError restates checkContent's problems with a campaign file's own lines, so
// that an officer opens the file at the right place: "bins.md:10 (body): unknown merge
// field …" where the body's line 3 is the file's line 10. Other problems are kept as
// they are.
func fileContentError(name string, def *campaign.Definition, err error) error {
	lines := def.Lines
	var ee exitError
	if !errors.As(err, &ee) {
		return err
	}
	var out []error
	for _, e := range splitJoined(ee.err) {
		lines, part := lines, ""
		var le *languageError
		if errors.As(e, &le) {
			lines, part = def.LinesFor(le.lang), ", "+le.lang
		}
		var ce *email.ContentError
		if !errors.As(e, &ce) {
			out = append(out, e)
			continue
		}
		start := map[string]int{"body": lines.Body, "subject": lines.Subject, "sms": lines.SMS, "leaflet": lines.LeafletBody}[ce.Part]
		if start == 0 {
			out = append(out, e)
			continue
		}
		out = append(out, fmt.Errorf("%s:%d (%s%s): %w", name, lines.Line(start, ce.Line), ce.Part, part, ce.Err))
	}
	return exitError{code: ee.code, err: errors.Join(out...)}
}

// languageError is a problem with a campaign's text in one of its languages.
type languageError struct {
	lang string
	err  error
}

func (e *languageError) Error() string { return campaign.LanguageName(e.lang) + ": " + e.err.Error() }
func (e *languageError) Unwrap() error { return e.err }

// splitJoined lists the errors an errors.Join holds, or err itself.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// attributeWarnings warns of each {{attr.KEY}} in c's texts that no resident has an
// attribute KEY for, naming the nearest that exist: it would be blank for everyone. It
// warns and never blocks.
func (a *App) attributeWarnings(ctx context.Context, d *database, c *campaign.Campaign) error {
	if !c.MayUseAttributes() {
		return nil
	}
	keys, err := segment.NewStore(d.DB).AttributeKeys(ctx)
	if err != nil {
		return err
	}
	for _, t := range c.Texts() {
		for _, w := range email.UnknownAttributes(t.Part, t.Text, keys) {
			fmt.Fprintf(a.Stdout, "warning: %s\n", w)
		}
	}
	return nil
}
