package demoapp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/progress"
	"github.com/crierhq/crier/internal/segment"
)

const (
	demoLeafletName  = "Bin day leaflet (demo)"
	demoPaperSegment = "Millbrook on paper"
)

// demoLogins are the demo's accounts: an officer and a volunteer.
var demoLogins = []struct{ email, name, role string }{
	{"officer@crier.example", "Olu Officer", auth.Officer},
	{"volunteer@crier.example", "Val Volunteer", auth.Volunteer},
}

// people creates (once) the demo's officer and volunteer with random passwords,
// kept in DATA_DIR/demo-logins.txt (mode 0600) so a second run can show them again.
func (r *run) people(ctx context.Context) error {
	path := filepath.Join(r.cfg.DataDir, "demo-logins.txt")
	st := auth.NewStore(r.DB)
	saved, _ := os.ReadFile(path)
	var lines []string
	for _, l := range demoLogins {
		if _, err := st.Get(ctx, l.email); err == nil {
			continue
		} else if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		pw := strings.ReplaceAll(auth.NewCSRF()[:20], "_", "x")
		if _, err := st.Add(ctx, l.email, l.name, l.role, pw); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%-9s %s  password: %s", l.role, l.email, pw))
	}
	if len(lines) > 0 {
		saved = []byte(strings.Join(lines, "\n") + "\n")
		if err := os.MkdirAll(r.cfg.DataDir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, saved, 0o600); err != nil {
			return err
		}
	}
	how := " (run crier serve --sandbox)"
	if r.Serving {
		how = ""
	}
	fmt.Fprintf(r.Out, "\nSign in at %s/login%s:\n", r.WebBase, how)
	if len(saved) == 0 {
		fmt.Fprintln(r.Out, "  the demo accounts exist; set a password with crier user passwd officer@crier.example")
		return nil
	}
	for _, l := range strings.Split(strings.TrimSpace(string(saved)), "\n") {
		fmt.Fprintf(r.Out, "  %s\n", l)
	}
	return nil
}

// leaflets prints (once) a leaflet for Millbrook's residents on paper and gives the
// first round to the demo volunteer, so "My rounds" has something to walk.
func (r *run) leaflets(ctx context.Context) error {
	cs := campaign.NewStore(r.DB, r.logger())
	if c, err := cs.Get(ctx, demoLeafletName); err == nil {
		fmt.Fprintf(r.Out, "\nDemo leaflet: campaign %d %q is %s already (crier rounds list).\n", c.ID, c.Name, c.State)
		return nil
	} else if !errors.Is(err, campaign.ErrNotFound) {
		return err
	}
	// The e-bulletin and the poll have reached everyone in Millbrook we can email or
	// text: the leaflet goes to the others, on paper only, so nobody hears twice.
	ss := segment.NewStore(r.DB)
	seg, err := ss.Get(ctx, demoPaperSegment)
	if errors.Is(err, segment.ErrNotFound) {
		rules, perr := segment.Parse([]byte(`{"all": [{"field": "ward", "op": "eq", "value": "Millbrook"},
			{"not": {"field": "reachable", "op": "by", "value": "email"}},
			{"not": {"field": "reachable", "op": "by", "value": "sms"}}]}`))
		if perr != nil {
			return perr
		}
		seg, err = ss.Create(ctx, demoPaperSegment, "Millbrook residents we can't email or text", rules, "demo")
	}
	if err != nil {
		return err
	}
	c := &campaign.Campaign{Name: demoLeafletName, Purpose: "service", Strategy: "best", SegmentID: &seg.ID,
		ChannelOrder: []string{"post"}, LeafletTitle: "Your bin collection day is changing", LeafletBody: demoBulletin}
	if err := cs.Create(ctx, c, "general", "demo"); err != nil {
		return err
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "demo", r.Check); err != nil {
		return err
	}
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		return err
	}
	var bar progress.Reporter
	res, err := printrun.NewStore(r.DB).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, RoundSize: 60,
		OutDir: filepath.Join(r.cfg.DataDir, "leaflets"), Actor: "demo", Content: r.LeafletContent(c),
		Progress: func(done, total int) {
			if bar == nil {
				bar = r.Progress.Units(int64(total), "printing the demo leaflets", "leaflets")
			}
			bar.Set(int64(done), int64(total), int64(done), "")
		}})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	rounds, err := printrun.NewStore(r.DB).Rounds(ctx, c.ID)
	if err != nil {
		return err
	}
	if len(rounds) > 0 {
		if err := printrun.NewStore(r.DB).Assign(ctx, rounds[0].ID, demoLogins[1].email); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.Out, "\nPrinted %d leaflets for Millbrook's residents on paper in %d delivery rounds: %s\n", res.Leaflets, res.Rounds, res.Dir)
	if len(rounds) > 0 {
		fmt.Fprintf(r.Out, "Round %d (%s) is assigned to %s.\n", rounds[0].ID, rounds[0].Name, demoLogins[1].name)
	}
	return nil
}
