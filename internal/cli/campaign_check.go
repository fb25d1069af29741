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
	var ee exitError
	if !errors.As(err, &ee) {
		return err
	}
	var out []error
	for _, e := range email.Unjoin(ee.err) {
		line, part, ok := email.FileLine(def, e)
		if !ok {
			out = append(out, e)
			continue
		}
		var le *email.LanguageError
		if errors.As(e, &le) {
			part += ", " + le.Lang
		}
		var ce *email.ContentError
		errors.As(e, &ce)
		out = append(out, fmt.Errorf("%s:%d (%s): %w", name, line, part, ce.Err))
	}
	return exitError{code: ee.code, err: errors.Join(out...)}
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
