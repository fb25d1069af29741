package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/segment"
)

// benchSendWard is the ward whose residents the send benchmark mails. Every one of them
// has an active address and a granted consent, so the run sends exactly --send messages;
// the suppression paths (withdrawn, bounced, no consent, no email) are spread over the
// other wards, which the one-million snapshot covers.
const benchSendWard = "Millbrook"

const benchBulletin = `# Your bin collection day is changing

Dear {{first_name}},

From **Monday 4 January**, we will collect bins in {{ward}} on a **Tuesday** instead of a Monday.

## What you need to do

- Put your bins out by 7am on Tuesday.
- Keep using the same bins. Nothing else changes.
- Garden waste is still collected every other week.

If you need help moving your bin, or a bigger bin, [tell us online](https://crier.example/bins) or call 020 7946 0000.

## Christmas and New Year

Collections move by one day in the week after a bank holiday. The [full calendar](https://crier.example/bins/calendar) shows your dates.

Thank you for recycling, {{first_name | "neighbour"}}.`

// benchSetupSQL creates the residents set-based: contact ids are 1..$1 in a fresh
// database, the first $2 live in the send ward, and among the others one in 50 has
// withdrawn consent, one has a bounced address, one never gave consent and one has no
// email at all, so the snapshot exercises every suppression path.
var benchSetupSQL = []string{
	`INSERT INTO contacts (first_name, last_name, ward)
	 SELECT (ARRAY['Amira','Ben','Chloé','Dev','Eilidh','Femi','Grace','Hamza','Iwona','Jack',
	               'Kofi','Leah','Mohammed','Niamh','Olu','Priya','Rhys','Siobhan','Tomasz','Zara'])[1 + n % 20],
	        (ARRAY['Adebayo','Brown','Chen','Davies','Evans','Fraser','Green','Hughes','Islam','Jones',
	               'Khan','Lewis','Murphy','Nowak','O''Brien','Patel','Roberts','Smith','Taylor','Walsh'])[1 + (n / 20) % 20],
	        CASE WHEN n <= $2 THEN 'Millbrook'
	             ELSE (ARRAY['Ashgrove','Brookside','Castle','Dene','Eastfield','Fairmead','Greenhill','Highcross','Ivybridge'])[1 + n % 9]
	        END
	   FROM generate_series(1, $1::bigint) n`,
	`INSERT INTO contact_points (contact_id, kind, value, status, status_reason)
	 SELECT n, 'email', 'resident' || n || '@example.org',
	        CASE WHEN n > $2 AND n % 50 = 1 THEN 'bounced' ELSE 'active' END,
	        CASE WHEN n > $2 AND n % 50 = 1 THEN 'bench: hard bounce' ELSE '' END
	   FROM generate_series(1, $1::bigint) n
	  WHERE NOT (n > $2 AND n % 50 = 3)`,
	`INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
	 SELECT cp.id, t.id, 'granted', 'bench setup', now() - interval '30 days'
	   FROM contact_points cp, topics t
	  WHERE t.slug = 'general' AND NOT (cp.contact_id > $1 AND cp.contact_id % 50 = 2)`,
	`INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
	 SELECT cp.id, t.id, 'withdrawn', 'bench setup', now() - interval '1 day'
	   FROM contact_points cp, topics t
	  WHERE t.slug = 'general' AND cp.contact_id > $1 AND cp.contact_id % 50 = 0`,
}

func (a *App) runBenchSend(ctx context.Context, args []string) error {
	fs := a.flags("bench send", "[flags]", "Snapshot a campaign to a million residents into the outbox, then send a personalised\n"+
		"e-bulletin to one ward through the real outbox, composer and go-mail sender to a discarding\n"+
		"sandbox SMTP server on loopback, in a scratch database, and print a table.")
	a.Config.RegisterFlags(fs)
	contacts := fs.Int("contacts", 1_000_000, "residents in the scratch database (all in the snapshot)")
	send := fs.Int("send", 100_000, "residents of the ward the e-bulletin is sent to")
	workers := fs.Int("workers", 12, "email workers")
	batch := fs.Int("batch", 200, "rows claimed at once per worker")
	conns := fs.Int("conns", 12, "pooled SMTP connections")
	skipSnapshot := fs.Bool("skip-snapshot", false, "skip the one-million snapshot (send only)")
	keep := fs.Bool("keep", false, "keep the scratch database (its URL is printed) for inspection")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the send to this file")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *send > *contacts {
		return usagef("--send (%d) must not exceed --contacts (%d)", *send, *contacts)
	}
	pool, done, err := a.scratchDB(ctx, *keep)
	if err != nil {
		return err
	}
	defer done()

	t0 := time.Now()
	for i, q := range benchSetupSQL {
		args := []any{*contacts, *send}
		if i >= 2 {
			args = args[1:] // the consents take only the send ward's size
		}
		if _, err := pool.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("bench setup: %w", err)
		}
	}
	if _, err := pool.ExecContext(ctx, `ANALYZE`); err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr, "setup: %d residents in %.1fs\n", *contacts, time.Since(t0).Seconds())

	type row struct {
		step    string
		rows    int
		secs    float64
		rate    string
		rss     int64
		target  string
		comment string
	}
	var table []row
	cs := campaign.NewStore(pool, nil)

	if !*skipSnapshot {
		c := &campaign.Campaign{Name: "Winter newsletter (bench)", Purpose: "marketing", Strategy: "best",
			ChannelOrder: []string{"email"}, EmailSubject: "{{first_name}}, your winter newsletter", EmailBody: benchBulletin,
			SenderName: "Millbrook Council", SenderEmail: "news@council.example"}
		runID, dur, tally, err := benchStart(ctx, cs, c)
		if err != nil {
			return err
		}
		rows := 0
		for _, n := range tally {
			rows += n
		}
		table = append(table, row{"snapshot: StartDue → outbox.Enqueue", rows, dur.Seconds(),
			fmt.Sprintf("%.0f rows/s", float64(rows)/dur.Seconds()), peakRSS(), "1M ≤ 20 s",
			fmt.Sprintf("pending %d, suppressed %d", tally["pending"], rows-tally["pending"])})
		// Take the snapshot's rows out of the queue (as an officer would by cancelling), so
		// the send below works on an outbox holding a million settled rows of history.
		t1 := time.Now()
		if err := cs.Cancel(ctx, c.ID, "bench"); err != nil {
			return err
		}
		if _, err := pool.ExecContext(ctx, `VACUUM ANALYZE outbox`); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "snapshot run %d cancelled and vacuumed in %.1fs\n", runID, time.Since(t1).Seconds())
	}

	// The send: a service e-bulletin to one ward.
	seg, err := segment.NewStore(pool).Create(ctx, benchSendWard+" ward", "", segment.Rule{Field: "ward", Op: "eq", Value: benchSendWard}, "bench")
	if err != nil {
		return err
	}
	c := &campaign.Campaign{Name: "Bin day (bench)", Purpose: "service", Strategy: "best", SegmentID: &seg.ID,
		ChannelOrder: []string{"email"}, EmailSubject: "{{first_name}}, your bin day is changing", EmailBody: benchBulletin,
		SenderName: "Millbrook Neighbourhood Services", SenderEmail: "bins@council.example"}
	runID, dur, tally, err := benchStart(ctx, cs, c)
	if err != nil {
		return err
	}
	want := tally["pending"]
	fmt.Fprintf(a.Stderr, "send run %d: %d pending (snapshot %.1fs)\n", runID, want, dur.Seconds())

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res, err := a.benchDispatch(ctx, pool, runID, want, *workers, *batch, *conns)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	table = append(table, row{"send: claim → compose → handed → SMTP → complete", res.settled, res.dur.Seconds(),
		fmt.Sprintf("%.0f msgs/s", float64(res.settled)/res.dur.Seconds()), peakRSS(), "≥ 7,000 msgs/s, ≤ 200 MB",
		fmt.Sprintf("sent %d, sink received %d; SMTP sink in-process", res.sent, res.received)})

	fmt.Fprintf(a.Stdout, "crier bench send: %d residents; e-bulletin to %d (workers %d, batch %d, SMTP connections %d)\n\n",
		*contacts, *send, *workers, *batch, *conns)
	fmt.Fprintln(a.Stdout, "| step | rows | seconds | rate | peak RSS (MB) | target | notes |")
	fmt.Fprintln(a.Stdout, "|---|---:|---:|---:|---:|---|---|")
	for _, r := range table {
		fmt.Fprintf(a.Stdout, "| %s | %d | %.1f | %s | %.0f | %s | %s |\n",
			r.step, r.rows, r.secs, r.rate, float64(r.rss)/(1<<20), r.target, r.comment)
	}
	return nil
}

// benchStart creates and schedules c and times the scheduler starting its run; it
// returns the run, how long StartDue took and the outbox rows by state.
func benchStart(ctx context.Context, cs *campaign.Store, c *campaign.Campaign) (int64, time.Duration, map[string]int, error) {
	if err := cs.Create(ctx, c, "general", "bench"); err != nil {
		return 0, 0, nil, err
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "bench", checkContent); err != nil {
		return 0, 0, nil, err
	}
	t0 := time.Now()
	runs, err := cs.StartDue(ctx, time.Now())
	dur := time.Since(t0)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(runs) != 1 {
		return 0, 0, nil, fmt.Errorf("bench: started %d runs, want 1", len(runs))
	}
	counts, err := cs.Status(ctx, c.ID)
	if err != nil {
		return 0, 0, nil, err
	}
	tally := map[string]int{}
	for _, n := range counts {
		tally[n.State] += n.N
	}
	return runs[0], dur, tally, nil
}

type benchSendResult struct {
	settled, sent int
	received      int64
	dur           time.Duration
}

// benchDispatch runs the real dispatcher against a discarding sandbox SMTP server until
// every row of the run is settled. The time runs from the dispatcher's start (its first
// claim) to the last settled row's updated_at.
func (a *App) benchDispatch(ctx context.Context, pool *sqlx.DB, runID int64, want, workers, batch, conns int) (benchSendResult, error) {
	var res benchSendResult
	sink, err := sandbox.StartSink(ctx, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.Addr())
	portN, err := strconv.Atoi(port)
	if err != nil {
		return res, err
	}
	sender, err := email.NewSMTPSender(email.SMTPConfig{Host: host, Port: portN, TLS: email.TLSNone, Connections: conns}, nil)
	if err != nil {
		return res, err
	}
	defer sender.Close()
	signer, err := email.NewSigner(bytes.Repeat([]byte("bench-link-key:"), 3))
	if err != nil {
		return res, err
	}
	composer := email.NewComposer(pool, email.ComposerConfig{PublicURL: "https://crier.council.example",
		FromName: "Millbrook Council", FromAddress: "news@council.example", ListDomain: "news.council.example",
		Branding: email.Branding{OrgName: "Millbrook Council", FooterAddress: "Town Hall, High Street, Millbrook MB1 1AA",
			WebsiteURL: "https://council.example"}, Signer: signer})
	disp := dispatch.New(dispatch.Config{Instance: "bench", Poll: 100 * time.Millisecond,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: sender, Composer: composer, Workers: workers, Batch: batch},
		}}, outbox.NewStore(pool), campaign.NewStore(pool, nil))

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- disp.Run(rctx) }()

	// Wait cheaply on the sink first, then on the database for the last settlements.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			<-done
			return res, ctx.Err()
		case err := <-done:
			return res, fmt.Errorf("dispatcher stopped: %w", err)
		case <-tick.C:
		}
		if sink.Count() < int64(want) {
			continue
		}
		var open int
		if err := pool.GetContext(ctx, &open, `SELECT count(*) FROM outbox WHERE run_id = $1 AND state IN ('pending', 'sending')`, runID); err != nil {
			return res, err
		}
		if open == 0 {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		return res, err
	}
	var last time.Time
	if err := pool.QueryRowxContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'sent'), max(updated_at)
		FROM outbox WHERE run_id = $1 AND state <> 'suppressed'`, runID).Scan(&res.settled, &res.sent, &last); err != nil {
		return res, err
	}
	res.dur = last.Sub(start)
	res.received = sink.Count()
	return res, nil
}
