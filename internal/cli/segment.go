package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier/internal/segment"
)

func (a *App) runSegment(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, "Usage: crier segment create NAME --rules JSON|@FILE | list | show NAME | count NAME|--rules JSON")
		if len(args) == 0 {
			return usagef("segment needs create, list, show or count")
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	fs := a.flags("segment "+sub, "[NAME] [flags]", `Segments pick residents by rules combined with all/any/not, stored as JSON, e.g.
  {"all": [{"field": "ward", "op": "eq", "value": "Millbrook"},
           {"not": {"field": "tag", "op": "has", "value": "business"}}]}
Fields: ward, postcode_sector, postcode, street, language, large_print, accessibility,
tag, attr.KEY, first_name, last_name, topic, reachable, campaign.`)
	a.Config.RegisterFlags(fs)
	rules := fs.String("rules", "", "rules as JSON, or @FILE to read them from a file")
	desc := fs.String("description", "", "what the segment is for")
	topic := fs.String("topic", "general", "topic whose consent counts (count)")
	purpose := fs.String("purpose", "marketing", "service or marketing: which consent rules apply (count)")
	if err := parse(fs, reorder(rest)); err != nil {
		return err
	}
	readRules := func() (segment.Rule, error) {
		src := *rules
		if strings.HasPrefix(src, "@") {
			b, err := os.ReadFile(src[1:])
			if err != nil {
				return segment.Rule{}, fmt.Errorf("rules file: %w", err)
			}
			src = string(b)
		}
		if strings.TrimSpace(src) == "" {
			return segment.Rule{}, usagef("--rules is required (JSON, or @FILE)")
		}
		r, err := segment.Parse([]byte(src))
		if err != nil {
			return segment.Rule{}, exitError{code: ExitData, err: err}
		}
		return r, nil
	}
	switch sub {
	case "create", "list", "show", "count":
	default:
		return usagef("unknown segment command %q: use create, list, show or count", sub)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	store := segment.NewStore(d.DB)
	switch sub {
	case "create":
		if fs.NArg() != 1 {
			return usagef("segment create needs a NAME")
		}
		r, err := readRules()
		if err != nil {
			return err
		}
		seg, err := store.Create(ctx, fs.Arg(0), *desc, r, actor())
		if errors.Is(err, segment.ErrInvalid) || errors.Is(err, segment.ErrExists) {
			return exitError{code: ExitData, err: err}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "segment %d %q created\n", seg.ID, seg.Name)
		if err := a.printUnmatched(ctx, store, seg.Rules); err != nil {
			return err
		}
		return a.printCount(ctx, store, seg.Rules, *topic, *purpose)
	case "list":
		segs, err := store.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDESCRIPTION\tUPDATED")
		for _, s := range segs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.ID, s.Name, s.Description, s.UpdatedAt.In(london()).Format("2 Jan 2006 15:04"))
		}
		return tw.Flush()
	case "show", "count":
		var r segment.Rule
		if fs.NArg() == 1 {
			seg, err := store.Get(ctx, fs.Arg(0))
			if err != nil {
				return err
			}
			r = seg.Rules
			if sub == "show" {
				fmt.Fprintf(a.Stdout, "segment %d %q: %s\n", seg.ID, seg.Name, seg.Description)
				q, err := segment.Compile(r)
				if err == nil {
					fmt.Fprintf(a.Stdout, "rules compile to: %s\n", q.SQL)
				}
			}
		} else if r, err = readRules(); err != nil {
			return err
		}
		if err := a.printUnmatched(ctx, store, r); err != nil {
			return err
		}
		return a.printCount(ctx, store, r, *topic, *purpose)
	}
	return nil
}

func (a *App) printCount(ctx context.Context, store *segment.Store, r segment.Rule, topic, purpose string) error {
	t0 := time.Now()
	c, err := store.Count(ctx, r, topic, purpose)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "%d residents match (%s, topic %s; counted in %d ms)\n", c.Total, purpose, topic, time.Since(t0).Milliseconds())
	fmt.Fprintf(a.Stdout, "  by email %d, by text %d, by post %d; post only %d; unreachable %d\n", c.Email, c.SMS, c.Post, c.PostOnly, c.Unreachable)
	for _, e := range c.Excluded {
		fmt.Fprintf(a.Stdout, "  excluded: %s: %d\n", e.Reason, e.Contacts)
	}
	return nil
}

// printUnmatched warns of each value in r that no resident has, with the nearest that
// exist: most often a typo, which would otherwise show only as a count of 0.
func (a *App) printUnmatched(ctx context.Context, store *segment.Store, r segment.Rule) error {
	ws, err := store.Unmatched(ctx, r)
	if err != nil {
		return err
	}
	for _, w := range ws {
		where := ""
		if w.Path != "rules" {
			where = " (" + w.Path + ")"
		}
		fmt.Fprintf(a.Stdout, "warning%s: %s\n", where, w)
	}
	return nil
}

func london() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}
