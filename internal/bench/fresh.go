package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/segment"
)

// Fresh measures what an officer does right after an import, on the path they
// take: a council's mailing list imported into a scratch database whose tables
// autovacuum never analyses (as on any server in the minutes after a bulk load), then at
// once an export, a segment count and a campaign's snapshot. Nothing is ANALYZEd by
// hand: only what the importer does itself.
func Fresh(ctx context.Context, e *Env, rows int, keep bool) error {
	sc, err := e.scratch(ctx, keep)
	if err != nil {
		return err
	}
	defer sc.Done()
	pool := sc.Pool
	for _, tbl := range []string{"contacts", "contact_points", "consents", "addresses", "households", "outbox", "message_events"} {
		if _, err := pool.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s SET (autovacuum_enabled = false)`, tbl)); err != nil {
			return err
		}
	}
	dir := sc.Dir
	path := filepath.Join(dir, "mailing-list.csv")
	if err := writeMailingList(path, rows); err != nil {
		return err
	}

	type step struct {
		name   string
		n      int
		secs   float64
		target string
	}
	var steps []step
	timed := func(name, target string, f func() (int, error)) error {
		t0 := time.Now()
		n, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		steps = append(steps, step{name, n, time.Since(t0).Seconds(), target})
		return nil
	}
	store := contact.NewStore(pool, e.logger())
	if err := timed("import (email, name, first and last name, email consent)", "", func() (int, error) {
		res, err := store.Import(ctx, contact.ImportOptions{Path: path, Actor: "bench"})
		if err != nil {
			return 0, err
		}
		return res.Rows, nil
	}); err != nil {
		return err
	}
	if err := timed("export, at once", "≤ 10 s", func() (int, error) {
		return store.Export(ctx, io.Discard, contact.ExportOptions{})
	}); err != nil {
		return err
	}
	rule := segment.Rule{Field: "reachable", Op: "by", Value: "email"}
	if err := timed("segment count: reachable by email, marketing", "≤ 1 s", func() (int, error) {
		c, err := segment.NewStore(pool).Count(ctx, rule, "general", segment.PurposeMarketing)
		return c.Email, err
	}); err != nil {
		return err
	}
	segs := segment.NewStore(pool)
	seg, err := segs.Create(ctx, "Reachable by email", "", rule, "bench")
	if err != nil {
		return err
	}
	cs := campaign.NewStore(pool, e.logger())
	c := &campaign.Campaign{Name: "Newsletter", Purpose: "marketing", SegmentID: &seg.ID, ChannelOrder: []string{"email"},
		EmailSubject: "News", EmailBody: "Hello {{first_name}}."}
	if err := cs.Create(ctx, c, "general", "bench"); err != nil {
		return err
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "bench", nil); err != nil {
		return err
	}
	if err := timed("campaign snapshot into the outbox", "≤ 5 s", func() (int, error) {
		if _, err := cs.StartDue(ctx, time.Now()); err != nil {
			return 0, err
		}
		var n int
		err := pool.GetContext(ctx, &n, `SELECT count(*) FROM outbox WHERE campaign_id = $1`, c.ID)
		return n, err
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "crier bench fresh: %d residents imported, autovacuum off, nothing analysed by hand\n\n", rows)
	fmt.Fprintln(e.Out, "| step | rows | seconds | target |")
	fmt.Fprintln(e.Out, "|---|---:|---:|---|")
	for _, s := range steps {
		fmt.Fprintf(e.Out, "| %s | %d | %.2f | %s |\n", s.name, s.n, s.secs, s.target)
	}
	fmt.Fprintf(e.Out, "\npeak RSS %.0f MB\n", float64(peakRSS())/(1<<20))
	return nil
}

// writeMailingList writes a council mailing list's shape: email, a full name column and
// split names, an email consent column in mixed spellings (three rows in five say yes).
func writeMailingList(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	first := []string{"Siân", "Zoë", "Renée", "Mohammed", "Łukasz", "Aoife", "Jo", "Priya", "Tomasz", "Grace"}
	last := []string{"O'Brien", "Kavanagh", "Nowak", "Patel", "Huws", "Adebayo", "Smith", "Chen"}
	fmt.Fprint(w, "email,name,first_name,last_name,email_consent\r\n")
	for i := range rows {
		fn, ln := first[i%len(first)], last[(i/len(first))%len(last)]
		consent := []string{"Yes", "no", "Y", "", "TRUE"}[i%5]
		fmt.Fprintf(w, "resident%d@example.org,\"%s %s\",%s,%s,%s\r\n", i, fn, ln, fn, ln, consent)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
