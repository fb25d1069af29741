// Package printrun makes the post channel real: a print run takes a campaign's post
// audience (or every household in chosen sectors and streets, for an unaddressed drop),
// plans delivery rounds in walking order, renders each round's leaflets and round sheet
// as PDFs, and records it all; volunteers then mark rounds and doors delivered or not,
// which settles the campaign's post messages so its status shows paper next to email
// and SMS.
//
// A print run is all or nothing: the PDFs are rendered into a temporary directory while
// the post messages are locked, the database records the run, the rounds and the
// messages as printed in one transaction, and only then is the directory moved into
// place. A failure anywhere leaves no half-written run and no message marked printed.
package printrun

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/rounds"
)

// Errors for callers to tell apart.
var (
	ErrNothingToPrint = errors.New("nothing to print")
	ErrNotFound       = errors.New("not found")
	ErrInvalid        = errors.New("invalid")
)

// Request asks for a print run.
type Request struct {
	CampaignID int64
	Format     leaflet.Format // a4, a5 or large
	RoundSize  int            // deliverable doors per round (default 150)
	OutDir     string         // the run's directory is created inside it
	// Sectors and Streets make it an unaddressed drop to every household there
	// ("SW2 1"; "Acre Lane"); empty: the campaign's post audience, addressed.
	Sectors, Streets []string
	Actor            string
	Content          leaflet.Content       // organisation, contact block, call to action, QR URL
	Progress         func(done, total int) // called one at a time, from the rendering goroutines
}

// Result describes a finished print run.
type Result struct {
	ID       int64
	Dir      string
	Rounds   int
	Leaflets int
	Skipped  int // doors not to deliver to (do not deliver, no junk mail on a drop)
	Files    []string
}

// Store creates print runs and records deliveries.
type Store struct {
	db *sqlx.DB
}

// NewStore returns a Store.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// door is one address with the post messages (and people) it takes.
type door struct {
	addr       rounds.Address
	names      []string
	outboxIDs  []int64
	largePrint bool
	lang       string // the language of its leaflet: its first message's ("" for a campaign in one)
}

// addressedReadSQL reads the run's post messages still to be printed, with where they
// go; addressedSQL also locks them for the print run's transaction.
const addressedReadSQL = `
SELECT o.id AS outbox_id, trim(c.first_name || ' ' || c.last_name) AS name, c.large_print, o.lang,
       a.id AS address_id, a.flat, a.house_number, a.street, a.town, a.postcode, a.postcode_sector,
       a.delivery_notes, a.do_not_deliver
  FROM outbox o
  JOIN contact_points cp ON cp.id = o.contact_point_id
  JOIN addresses a ON a.id = cp.address_id
  JOIN contacts c ON c.id = o.contact_id
 WHERE o.run_id = $1 AND o.channel = 'post' AND o.state = 'pending'
 ORDER BY a.id, o.id`

const addressedSQL = addressedReadSQL + `
   FOR UPDATE OF o`

// unaddressedSQL reads every address in the chosen sectors or streets.
const unaddressedSQL = `
SELECT a.id AS address_id, a.flat, a.house_number, a.street, a.town, a.postcode, a.postcode_sector,
       a.delivery_notes, a.do_not_deliver,
       coalesce((SELECT bool_or(c.large_print) FROM households h JOIN contacts c ON c.household_id = h.id
                  WHERE h.address_id = a.id), false) AS large_print
  FROM addresses a
 WHERE a.postcode_sector = ANY($1) OR lower(a.street) = ANY($2)
 ORDER BY a.id`

type addrRow struct {
	OutboxID     int64  `db:"outbox_id"`
	Lang         string `db:"lang"`
	Name         string `db:"name"`
	LargePrint   bool   `db:"large_print"`
	AddressID    int64  `db:"address_id"`
	Flat         string `db:"flat"`
	HouseNumber  string `db:"house_number"`
	Street       string `db:"street"`
	Town         string `db:"town"`
	Postcode     string `db:"postcode"`
	Sector       string `db:"postcode_sector"`
	Notes        string `db:"delivery_notes"`
	DoNotDeliver bool   `db:"do_not_deliver"`
}

// Print makes a print run.
func (s *Store) Print(ctx context.Context, req Request) (*Result, error) {
	if req.RoundSize <= 0 {
		req.RoundSize = 150
	}
	switch req.Format {
	case leaflet.A4, leaflet.A5, leaflet.Large:
	default:
		return nil, fmt.Errorf("%w: format %q: use a4, a5 or large", ErrInvalid, req.Format)
	}
	c, err := campaign.NewStore(s.db, nil).Get(ctx, fmt.Sprint(req.CampaignID))
	if err != nil {
		return nil, fmt.Errorf("%w: campaign %d", ErrNotFound, req.CampaignID)
	}
	content, err := leafletContents(c, req.Content)
	if err != nil {
		return nil, err
	}

	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	unaddressed := len(req.Sectors)+len(req.Streets) > 0
	var runID sql.NullInt64
	var rows []addrRow
	if unaddressed {
		streets := make([]string, len(req.Streets))
		for i, st := range req.Streets {
			streets[i] = strings.ToLower(strings.TrimSpace(st))
		}
		if err := tx.SelectContext(ctx, &rows, unaddressedSQL, pq.Array(req.Sectors), pq.Array(streets)); err != nil {
			return nil, fmt.Errorf("print run: %w", err)
		}
	} else {
		if err := tx.GetContext(ctx, &runID, `SELECT max(id) FROM campaign_runs WHERE campaign_id = $1`, c.ID); err != nil {
			return nil, fmt.Errorf("print run: %w", err)
		}
		if !runID.Valid {
			return nil, fmt.Errorf("%w: campaign %d has not been sent yet: send it first (crier campaign send %d), and the post audience waits for printing", ErrNothingToPrint, c.ID, c.ID)
		}
		if err := tx.SelectContext(ctx, &rows, addressedSQL, runID.Int64); err != nil {
			return nil, fmt.Errorf("print run: %w", err)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: campaign %d has no post messages waiting to be printed", ErrNothingToPrint, c.ID)
	}
	doors := groupDoors(rows)
	if err := checkPrintable(doors); err != nil {
		return nil, err
	}
	addrs := make([]rounds.Address, len(doors))
	byID := make(map[int64]*door, len(doors))
	for i := range doors {
		addrs[i] = doors[i].addr
		byID[doors[i].addr.ID] = &doors[i]
	}
	plan := rounds.Plan(addrs, rounds.Options{Size: req.RoundSize, Unaddressed: unaddressed})

	// Render every round into a temporary directory next to the destination.
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	tmp, err := os.MkdirTemp(req.OutDir, ".print-run-")
	if err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	res := &Result{Rounds: len(plan)}
	for _, r := range plan {
		for _, st := range r.Stops {
			if st.Skip {
				res.Skipped++
			} else {
				res.Leaflets++
			}
		}
	}
	files, err := renderRounds(ctx, tmp, plan, byID, content, contentOrder(c), req, unaddressed, res.Leaflets)
	if err != nil {
		return nil, err
	}

	// Record it all in the transaction that holds the messages.
	kind := "addressed"
	if unaddressed {
		kind = "unaddressed"
	}
	if err := tx.GetContext(ctx, &res.ID, `INSERT INTO print_runs (campaign_id, run_id, kind, format, round_size, leaflets, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.ID, runID, kind, string(req.Format), req.RoundSize, res.Leaflets, req.Actor); err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	res.Dir = freeDir(filepath.Join(req.OutDir, fmt.Sprintf("print-run-%d", res.ID)))
	if _, err := tx.ExecContext(ctx, `UPDATE print_runs SET out_dir = $2 WHERE id = $1`, res.ID, res.Dir); err != nil {
		return nil, err
	}
	var printed, skipped []int64
	var skipWhy []string
	for i, r := range plan {
		var roundID int64
		if err := tx.GetContext(ctx, &roundID, `INSERT INTO rounds (print_run_id, name, sector, streets, files) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			res.ID, r.Name, r.Sector, pq.Array(r.Streets), pq.Array(files[i])); err != nil {
			return nil, fmt.Errorf("print run: round %d: %w", i+1, err)
		}
		var seq []int
		var addrIDs []int64
		var leaflets []int
		var large []bool
		var outbox []string
		var states, reasons []string
		for j, st := range r.Stops {
			d := byID[st.Address.ID]
			seq, addrIDs = append(seq, j+1), append(addrIDs, st.Address.ID)
			leaflets, large = append(leaflets, max(1, st.Address.Households)), append(large, d.largePrint)
			outbox = append(outbox, int64sLiteral(d.outboxIDs))
			if st.Skip {
				states, reasons = append(states, "skipped"), append(reasons, st.SkipReason)
				for _, id := range d.outboxIDs {
					skipped, skipWhy = append(skipped, id), append(skipWhy, "not delivered by hand: "+st.SkipReason)
				}
			} else {
				states, reasons = append(states, "pending"), append(reasons, "")
				printed = append(printed, d.outboxIDs...)
			}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO round_stops (round_id, seq, address_id, leaflets, large_print, outbox_ids, state, reason)
			SELECT $1, s, a, l, lp, o::bigint[], st, why
			  FROM unnest($2::int[], $3::bigint[], $4::int[], $5::bool[], $6::text[], $7::text[], $8::text[]) AS v(s, a, l, lp, o, st, why)`,
			roundID, pq.Array(seq), pq.Array(addrIDs), pq.Array(leaflets), pq.Array(large), pq.Array(outbox), pq.Array(states), pq.Array(reasons)); err != nil {
			return nil, fmt.Errorf("print run: round %d stops: %w", i+1, err)
		}
	}
	provider := fmt.Sprintf("print-run-%d", res.ID)
	if len(printed) > 0 {
		if _, err := tx.ExecContext(ctx, `
			WITH p AS (UPDATE outbox SET state = 'sent', provider_id = $2, sent_at = now(), reason = '', updated_at = now()
			            WHERE id = ANY($1) AND state = 'pending' RETURNING id)
			INSERT INTO message_events (outbox_id, event, detail) SELECT id, 'printed', $2 FROM p`,
			pq.Array(printed), provider); err != nil {
			return nil, fmt.Errorf("print run: %w", err)
		}
	}
	if len(skipped) > 0 {
		if _, err := tx.ExecContext(ctx, `
			WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS v(id, why)),
			p AS (UPDATE outbox o SET state = 'suppressed', reason = v.why, updated_at = now()
			        FROM v WHERE o.id = v.id AND o.state = 'pending' RETURNING o.id, v.why)
			INSERT INTO message_events (outbox_id, event, detail) SELECT id, 'suppressed', why FROM p`,
			pq.Array(skipped), pq.Array(skipWhy)); err != nil {
			return nil, fmt.Errorf("print run: %w", err)
		}
	}
	if err := audit.Pending(ctx, tx, audit.ID(res.ID), map[string]any{"leaflets": res.Leaflets, "rounds": res.Rounds}); err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	if err := os.Rename(tmp, res.Dir); err != nil {
		// The run is recorded; say where its files are rather than lose them.
		keep = true
		return res, fmt.Errorf("print run %d recorded, but its files are in %s (moving them to %s failed: %w)", res.ID, tmp, res.Dir, err)
	}
	keep = true
	for _, round := range files {
		for _, f := range round {
			res.Files = append(res.Files, filepath.Join(res.Dir, f))
		}
	}
	return res, nil
}

// freeDir returns dir, or dir-2, dir-3… when a folder of that name is already there: a
// print run left by an earlier database (one reset, or the demo's) is never overwritten.
func freeDir(dir string) string {
	for n, try := 2, dir; ; n++ {
		if _, err := os.Lstat(try); err != nil {
			return try
		}
		try = fmt.Sprintf("%s-%d", dir, n)
	}
}

// groupDoors gathers rows by address, keeping the first-seen order.
func groupDoors(rows []addrRow) []door {
	var doors []door
	index := map[int64]int{}
	for _, r := range rows {
		i, ok := index[r.AddressID]
		if !ok {
			i = len(doors)
			index[r.AddressID] = i
			doors = append(doors, door{addr: rounds.Address{ID: r.AddressID, Flat: r.Flat, HouseNumber: r.HouseNumber,
				Street: r.Street, Town: r.Town, Postcode: r.Postcode, Sector: r.Sector, Notes: r.Notes,
				DoNotDeliver: r.DoNotDeliver, Households: 1}, lang: r.Lang})
		}
		d := &doors[i]
		if r.OutboxID != 0 {
			d.outboxIDs = append(d.outboxIDs, r.OutboxID)
		}
		if r.Name != "" {
			d.names = append(d.names, r.Name)
		}
		d.largePrint = d.largePrint || r.LargePrint
	}
	return doors
}

// prepareContent makes c's leaflet text from base (the organisation's part).
func prepareContent(c *campaign.Campaign, base leaflet.Content) (leaflet.Content, error) {
	if strings.TrimSpace(c.LeafletBody) == "" {
		return base, fmt.Errorf("%w: campaign %d %q has no leaflet: give it leaflet_title and a body", ErrInvalid, c.ID, c.Name)
	}
	content := base
	content.CampaignName, content.Title, content.Body = c.Name, c.LeafletTitle, c.LeafletBody
	// A leaflet is personalised only by its address panel: merge fields in its text read
	// as they would for a resident we know nothing about ("Dear resident").
	t, err := email.CompileText(c.Name, "leaflet", content.Body)
	if err != nil {
		return content, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	content.Body = t.Render(email.Recipient{})
	if content.Title == "" {
		content.Title = c.Name
	}
	return content, nil
}

// CheckContent lays out c's leaflet once (in each of its languages), as a print run
// would, and returns what stops it printing (characters the font lacks, merge fields, a
// missing title) before the campaign is scheduled rather than at print time, after it
// has started sending.
func CheckContent(c *campaign.Campaign, base leaflet.Content) error {
	contents, err := leafletContents(c, base)
	if err != nil {
		return err
	}
	sample := leaflet.Recipient{Name: "Sample Resident", Lines: []string{"1 High Street", "SW2 1RW"}}
	for _, code := range contentOrder(c) {
		if err := leaflet.Render(io.Discard, contents[code], []leaflet.Recipient{sample}, leaflet.Options{Format: leaflet.A5, Personalised: true}); err != nil {
			name := fmt.Sprintf("campaign %q", c.Name)
			if c.ID != 0 {
				name = fmt.Sprintf("campaign %d %q", c.ID, c.Name)
			}
			if code == "" {
				return fmt.Errorf("%s: the leaflet: %w", name, err)
			}
			if errors.Is(err, leaflet.ErrUnprintable) {
				return fmt.Errorf("%s: leaflets can't be printed in %s yet: the leaflet font has no letters for its script, and a leaflet never prints \"?\" instead. "+
					"Send the %s text by email and text message only (leave post out of channels), or print that language's leaflet elsewhere: %w",
					name, campaign.LanguageName(code), campaign.LanguageName(code), err)
			}
			return fmt.Errorf("%s: the leaflet in %s: %w", name, campaign.LanguageName(code), err)
		}
	}
	return nil
}

// contentOrder lists the keys of leafletContents(c): c's languages, or "" for a campaign
// in one.
func contentOrder(c *campaign.Campaign) []string {
	if c.Multilingual() {
		return c.Languages
	}
	return []string{""}
}

// leafletContents makes c's leaflet in each language its post messages can be in (by
// outbox lang): "" alone for a campaign in one language. A bilingual campaign's leaflet
// carries both languages, the resident's own on the front and the other on the back;
// its /Lang is the front's.
func leafletContents(c *campaign.Campaign, base leaflet.Content) (map[string]leaflet.Content, error) {
	out := map[string]leaflet.Content{}
	if !c.Multilingual() {
		base.Lang = c.DefaultLanguage()
		content, err := prepareContent(c, base)
		out[""] = content
		return out, err
	}
	for _, code := range c.Languages {
		b := base
		b.Lang = code
		if code == "cy" && b.Addressee == "" {
			b.Addressee = "At y preswylydd" // "To the resident"
		}
		b.CallToAction = callToActionIn(c, code, b.CallToAction)
		content, err := prepareContent(c.In(code), b)
		if err != nil {
			return nil, fmt.Errorf("the leaflet in %s: %w", campaign.LanguageName(code), err)
		}
		out[code] = content
	}
	if c.Bilingual {
		a, b := out[c.Languages[0]], out[c.Languages[1]]
		out[c.Languages[0]], out[c.Languages[1]] = bilingualLeaflet(a, b), bilingualLeaflet(b, a)
	}
	return out, nil
}

// ctaWelsh puts the words of crier's own calls to action (see cli's and web's
// leafletContent) into Welsh; an officer's own words are left as written.
var ctaWelsh = strings.NewReplacer(
	"Read it online and tell us what you think: ", "Darllenwch hwn ar-lein a dywedwch wrthym beth yw eich barn: ",
	" Text your answer to ", " Anfonwch eich ateb mewn neges destun at ",
)

// callToActionIn is a leaflet's call to action in the language code: its poll prompt in
// that language, and crier's own words in Welsh for a Welsh leaflet.
func callToActionIn(c *campaign.Campaign, code, cta string) string {
	if c.Poll != nil {
		cta = strings.Replace(cta, c.Poll.Prompt(), c.Poll.PromptIn(code), 1)
	}
	if code == "cy" {
		cta = ctaWelsh.Replace(cta)
	}
	return cta
}

// bilingualLeaflet is one leaflet with a on the front and b on the back.
func bilingualLeaflet(a, b leaflet.Content) leaflet.Content {
	a.Back = &b
	return a
}

// CheckDoors runs c's snapshot as if it started now (and rolls it back) and returns an
// *UnprintableError listing every door whose leaflet or round sheet the font could not
// print truly, so scheduling can refuse before anything is sent.
func (s *Store) CheckDoors(ctx context.Context, cs *campaign.Store, c *campaign.Campaign) error {
	if !slices.Contains(c.Channels(), "post") {
		return nil
	}
	return cs.DryRun(ctx, c, func(tx *sqlx.Tx, runID int64) error {
		var rows []addrRow
		if err := tx.SelectContext(ctx, &rows, addressedSQL, runID); err != nil {
			return fmt.Errorf("check leaflets: %w", err)
		}
		return checkPrintable(groupDoors(rows))
	})
}

// ErrUnprintable: some doors' names or addresses have characters the leaflet font
// cannot print; the error lists every one (UnprintableError), and nothing is printed.
var ErrUnprintable = errors.New("doors the leaflets cannot print")

// UnprintableDoor is one door a leaflet or round sheet could not print truly.
type UnprintableDoor struct {
	Address string // as the round sheet writes it
	What    string // "name", "address" or "delivery notes"
	Chars   string // the characters the font lacks
}

// UnprintableError lists the doors that stop a print run.
type UnprintableError struct{ Doors []UnprintableDoor }

func (e *UnprintableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d doors have characters the leaflet font cannot print (it would print \"?\" instead); "+
		"correct or transliterate them, or leave these residents out of the post, then print again:", len(e.Doors))
	for _, d := range e.Doors {
		fmt.Fprintf(&b, "\n  %s: the %s has %s", d.Address, d.What, quoteChars(d.Chars))
	}
	return b.String()
}

func (e *UnprintableError) Unwrap() error { return ErrUnprintable }

func quoteChars(s string) string {
	var parts []string
	for _, r := range s {
		parts = append(parts, fmt.Sprintf("%q (%U)", r, r))
	}
	return strings.Join(parts, ", ")
}

// checkPrintable refuses doors whose printed name, address or notes the font cannot
// print. (A name prints only when one resident lives at the door.)
func checkPrintable(doors []door) error {
	var bad []UnprintableDoor
	for _, d := range doors {
		addr := strings.Join(addressLines(d.addr), ", ")
		check := func(what, s string) error {
			chars, err := leaflet.Unprintable(s)
			if err != nil {
				return err
			}
			if chars != "" {
				bad = append(bad, UnprintableDoor{Address: addr, What: what, Chars: chars})
			}
			return nil
		}
		if len(d.names) == 1 {
			if err := check("name", d.names[0]); err != nil {
				return err
			}
		}
		if err := check("address", addr); err != nil {
			return err
		}
		if err := check("delivery notes", d.addr.Notes); err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		return &UnprintableError{Doors: bad}
	}
	return nil
}

// addressLines is how an address is written on a leaflet's panel: a house name has a
// line of its own ("The Old Rectory", then "Church Lane"), as Royal Mail writes it; a
// number goes before the street ("14A High Street").
func addressLines(a rounds.Address) []string {
	var lines []string
	if a.Flat != "" {
		lines = append(lines, a.Flat)
	}
	if a.HouseNumber != "" && (a.HouseNumber[0] < '0' || a.HouseNumber[0] > '9') {
		lines = append(lines, a.HouseNumber, a.Street)
	} else {
		lines = append(lines, strings.TrimSpace(a.HouseNumber+" "+a.Street))
	}
	if a.Town != "" {
		lines = append(lines, a.Town)
	}
	return append(lines, a.Postcode)
}

// renderRounds writes each round's leaflets (and its large-print ones, if any door needs
// them) and its round sheet into dir, rounds in parallel, and returns the file names.
//
// contents are the leaflet in each language, order their keys, the default first ("" alone
// for a campaign in one language): a door gets its messages' language, the default when
// it has none (an unaddressed drop).
func renderRounds(ctx context.Context, dir string, plan []rounds.Round, byID map[int64]*door, contents map[string]leaflet.Content,
	order []string, req Request, unaddressed bool, total int) ([][]string, error) {
	content := contents[order[0]]
	multi := len(contents) > 1
	files := make([][]string, len(plan))
	// Rounds render in parallel; Progress is called under mu, so callers need no locking
	// of their own and see done only rise.
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, r := range plan {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			base := fmt.Sprintf("round-%03d", i+1)
			std, large := map[string][]leaflet.Recipient{}, map[string][]leaflet.Recipient{}
			sheet := leaflet.RoundSheet{Round: r.Name, Campaign: content.CampaignName, Streets: r.Streets}
			for _, st := range r.Stops {
				d := byID[st.Address.ID]
				stop := leaflet.Stop{Address: strings.Join(addressLines(st.Address), ", "), Notes: st.Address.Notes, DoNotDeliver: st.Skip}
				if st.Skip {
					stop.Notes = strings.TrimSpace(st.SkipReason + ". " + st.Address.Notes)
				}
				lang := d.lang
				if _, ok := contents[lang]; !ok {
					lang = order[0]
				}
				if multi && !st.Skip {
					stop.Notes = strings.TrimSpace(campaign.LanguageName(lang) + " leaflet. " + stop.Notes)
				}
				if d.largePrint && !st.Skip {
					stop.Notes = strings.TrimSpace("LARGE PRINT leaflet. " + stop.Notes)
				}
				sheet.Stops = append(sheet.Stops, stop)
				if st.Skip {
					continue
				}
				rc := leaflet.Recipient{Lines: addressLines(st.Address)}
				if len(d.names) == 1 {
					rc.Name = d.names[0]
				}
				if d.largePrint && req.Format != leaflet.Large {
					large[lang] = append(large[lang], rc)
				} else {
					std[lang] = append(std[lang], rc)
				}
			}
			var out []string
			write := func(name string, render func(f *os.File) error) error {
				f, err := os.Create(filepath.Join(dir, name))
				if err != nil {
					return err
				}
				if err := render(f); err != nil {
					f.Close()
					return fmt.Errorf("%s: %w", name, err)
				}
				out = append(out, name)
				return f.Close()
			}
			progress := func(n int) {
				if req.Progress != nil {
					mu.Lock()
					done += n
					req.Progress(done, total)
					mu.Unlock()
				}
			}
			leaflets := func(rcpts []leaflet.Recipient, format leaflet.Format, suffix, lang string) error {
				if len(rcpts) == 0 {
					return nil
				}
				if multi {
					suffix += "-" + lang
				}
				return write(base+suffix+".pdf", func(f *os.File) error {
					last := 0
					err := leaflet.Render(f, contents[lang], rcpts, leaflet.Options{Format: format, Personalised: !unaddressed,
						Progress: func(d, _ int) { progress(d - last); last = d }})
					progress(len(rcpts) - last)
					return err
				})
			}
			for _, lang := range order {
				if err := leaflets(std[lang], req.Format, "-leaflets", lang); err != nil {
					return err
				}
				if err := leaflets(large[lang], leaflet.Large, "-large-print", lang); err != nil {
					return err
				}
			}
			if err := write(base+"-round-sheet.pdf", func(f *os.File) error { return leaflet.RenderRoundSheet(f, sheet) }); err != nil {
				return err
			}
			files[i] = out
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("print run: %w", err)
	}
	return files, nil
}

// int64sLiteral writes ids as a PostgreSQL array literal, for an array of arrays passed
// through unnest as text.
func int64sLiteral(ids []int64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, id)
	}
	b.WriteByte('}')
	return b.String()
}
