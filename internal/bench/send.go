package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/progress"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/segment"
)

// benchSendWard is the ward of the send benchmark's mailing list.
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

// SendOptions are bench send's settings.
type SendOptions struct {
	Residents int    // on the mailing list; every one gets the e-bulletin
	Workers   int    // CRIER_EMAIL_WORKERS for crier serve (0: crier's default)
	Conns     int    // CRIER_SMTP_CONNECTIONS for crier serve (0: crier's default)
	Keep      bool   // keep the scratch database
	Profile   string // write crier serve's CPU profile here
}

// Send sends a personalised e-bulletin the way an officer does, into a scratch database:
// import a mailing list, make a segment and a campaign, start `crier serve` as its own
// process with an SMTP sink in another (`crier bench sink`), then `campaign send`, time it
// to the last message recorded, and print a table. Nothing is ANALYZEd by hand.
func Send(ctx context.Context, e *Env, o SendOptions) error {
	sc, err := e.scratch(ctx, o.Keep)
	if err != nil {
		return err
	}
	defer sc.Done()
	pool := sc.Pool
	dir := sc.Dir

	// The mailing list, imported as an officer imports it.
	path := filepath.Join(dir, "mailing-list.csv")
	if err := writeSendList(path, o.Residents); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	bar := e.Progress.Bytes(st.Size(), "import", "rows")
	imp, err := contact.NewStore(pool, e.logger()).Import(ctx, contact.ImportOptions{Path: path, Actor: "bench",
		Progress: func(p contact.Progress) { bar.Set(p.Bytes, p.TotalBytes, p.Rows, p.Phase) }})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}

	seg, err := segment.NewStore(pool).Create(ctx, benchSendWard+" ward", "", segment.Rule{Field: "ward", Op: "eq", Value: benchSendWard}, "bench")
	if err != nil {
		return err
	}
	cs := campaign.NewStore(pool, nil)
	c := &campaign.Campaign{Name: "Bin day (bench)", Purpose: "service", Strategy: "best", SegmentID: &seg.ID,
		ChannelOrder: []string{"email"}, EmailSubject: "{{first_name}}, your bin day is changing", EmailBody: benchBulletin,
		SenderName: "Millbrook Neighbourhood Services", SenderEmail: "bins@council.example"}
	if err := cs.Create(ctx, c, "general", "bench"); err != nil {
		return err
	}

	sink, err := e.startSink(ctx)
	if err != nil {
		return err
	}
	defer sink.stop()
	env := []string{"DATABASE_URL=" + sc.URL, "CRIER_SMTP_URL=smtp://" + sink.addr + "?tls=none",
		"CRIER_HTTP_ADDR=127.0.0.1:0", "CRIER_DATA_DIR=" + dir, "CRIER_INSTANCE=bench", "CRIER_LOG_LEVEL=warn",
		"CRIER_PUBLIC_URL=https://crier.council.example", "CRIER_ORG_NAME=Millbrook Council",
		"CRIER_ORG_ADDRESS=Town Hall, High Street, Millbrook MB1 1AA", "CRIER_FROM=Millbrook Council <news@council.example>",
		"CRIER_LIST_DOMAIN=news.council.example", "CRIER_LINK_KEY=" + strings.Repeat("6b", 32)}
	if o.Workers > 0 {
		env = append(env, "CRIER_EMAIL_WORKERS="+strconv.Itoa(o.Workers))
	}
	if o.Conns > 0 {
		env = append(env, "CRIER_SMTP_CONNECTIONS="+strconv.Itoa(o.Conns))
	}
	if o.Profile != "" {
		p, err := filepath.Abs(o.Profile)
		if err != nil {
			return err
		}
		env = append(env, "CRIER_CPU_PROFILE="+p)
	}
	srv, err := e.startServe(ctx, env)
	if err != nil {
		return err
	}
	defer srv.stop()

	// campaign send, then watch the outbox until the last message is recorded.
	fmt.Fprintf(e.Err, "crier serve (pid %d) and the SMTP sink (pid %d) are running; sending\n", srv.cmd.Process.Pid, sink.cmd.Process.Pid)
	var cpu cpuMeter
	cpu.addProc("crier serve", srv.cmd.Process.Pid)
	cpu.addProc("SMTP sink", sink.cmd.Process.Pid)
	cpu.addPostgres(ctx, pool)
	cpu.begin()
	t0 := time.Now()
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "bench", e.Check); err != nil {
		return err
	}
	run, err := watchSend(ctx, pool, c.ID, t0, e.Progress.Units(int64(imp.ContactsCreated), "send", "messages"), srv)
	if err != nil {
		return err
	}
	used := cpu.end()
	rss := srv.peakRSS()
	srv.stop()
	received, err := sink.stop()
	if err != nil {
		return err
	}

	total := run.last.Sub(t0).Seconds()
	fmt.Fprintf(e.Out, "crier bench send: %d residents imported, an e-bulletin to each; crier serve and the SMTP sink each in their own process\n\n", o.Residents)
	fmt.Fprintln(e.Out, "| step | messages | seconds | rate | peak RSS (MB) | target |")
	fmt.Fprintln(e.Out, "|---|---:|---:|---:|---:|---|")
	fmt.Fprintf(e.Out, "| import the mailing list | %d | %.1f | %.0f rows/s | %.0f | |\n", imp.Rows, imp.Duration.Seconds(),
		float64(imp.Rows)/imp.Duration.Seconds(), float64(peakRSS())/(1<<20))
	fmt.Fprintf(e.Out, "| campaign send → snapshot in the outbox | %d | %.1f | | | |\n", run.total, run.snapshot.Sub(t0).Seconds())
	for i, q := range run.quarters {
		fmt.Fprintf(e.Out, "| sending, %s quarter | %d | %.1f | %.0f msgs/s | | no decay |\n", []string{"first", "second", "third", "last"}[i],
			q.n, q.secs, float64(q.n)/q.secs)
	}
	fmt.Fprintf(e.Out, "| **campaign send → last message recorded** | %d | %.1f | **%.0f msgs/s** | %.0f (crier serve) | ≥ 10,000 msgs/s, ≤ 150 MB |\n",
		run.sent, total, float64(run.sent)/total, float64(rss)/(1<<20))
	fmt.Fprintf(e.Out, "\nrecorded: %d sent, %d unknown, %d failed, %d other; the sink received %d\n", run.sent, run.unknown, run.failed,
		run.total-run.sent-run.unknown-run.failed, received)
	if line := cpuLine(used, run.sent, "message"); line != "" {
		fmt.Fprintf(e.Out, "%s (from campaign send to the last message recorded, snapshot included)\n", line)
	}
	if run.sent != run.total || received != int64(run.sent) {
		return fmt.Errorf("bench send: %d messages, %d recorded sent, %d received: every message must be sent once and recorded", run.total, run.sent, received)
	}
	return nil
}

// writeSendList writes a mailing list of n residents of the send ward, each with an email
// address and email consent.
func writeSendList(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	first := []string{"Amira", "Ben", "Chloé", "Dev", "Eilidh", "Femi", "Grace", "Hamza", "Iwona", "Jack",
		"Kofi", "Leah", "Mohammed", "Niamh", "Olu", "Priya", "Rhys", "Siobhan", "Tomasz", "Zara"}
	last := []string{"Adebayo", "Brown", "Chen", "Davies", "Evans", "Fraser", "Green", "Hughes", "Islam", "Jones",
		"Khan", "Lewis", "Murphy", "Nowak", "O'Brien", "Patel", "Roberts", "Smith", "Taylor", "Walsh"}
	fmt.Fprint(w, "Email,First name,Surname,Ward,Email consent\r\n")
	for i := range n {
		fmt.Fprintf(w, "resident%d@example.org,%s,%s,%s,Yes\r\n", i+1, first[i%len(first)], last[(i/len(first))%len(last)], benchSendWard)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sendRun is what the outbox said while a campaign was sent.
type sendRun struct {
	total, sent, unknown, failed int
	snapshot, last               time.Time
	quarters                     []quarter
}

type quarter struct {
	n    int
	secs float64
}

// watchSend polls the campaign's outbox rows until none is waiting, and works out when
// the snapshot landed, how fast each quarter of the messages went, and when the last one
// was recorded. It polls every 100 ms until the snapshot lands (an empty count), then
// once a second: a count reads every row of the campaign, and ten a second cost the
// database about a tenth of its work during a send — more than an officer's status page
// does. The quarters and the last message come from the rows' own record times
// (updated_at, set when each is settled), not from the polls.
func watchSend(ctx context.Context, pool *sqlx.DB, campaignID int64, t0 time.Time, bar progress.Reporter, srv *benchProc) (sendRun, error) {
	var run sendRun
	every := 100 * time.Millisecond
	tick := time.NewTimer(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-srv.exited:
			return run, fmt.Errorf("crier serve stopped: %s", srv.tail())
		case <-tick.C:
		}
		var total, open int
		if err := pool.QueryRowxContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state IN ('pending', 'sending'))
			FROM outbox WHERE campaign_id = $1`, campaignID).Scan(&total, &open); err != nil {
			return run, err
		}
		now := time.Now()
		if total > 0 && run.snapshot.IsZero() {
			run.snapshot = now
			every = time.Second
		}
		bar.Set(int64(total-open), int64(max(total, 1)), int64(total-open), "sending")
		if total > 0 && open == 0 {
			break
		}
		if now.Sub(t0) > 30*time.Minute {
			return run, fmt.Errorf("bench send: %d of %d messages still waiting after 30 minutes", open, total)
		}
		tick.Reset(every)
	}
	bar.Finish()
	if err := pool.QueryRowxContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'sent'),
		count(*) FILTER (WHERE state = 'unknown'), count(*) FILTER (WHERE state = 'failed'), max(updated_at)
		FROM outbox WHERE campaign_id = $1`, campaignID).Scan(&run.total, &run.sent, &run.unknown, &run.failed, &run.last); err != nil {
		return run, err
	}
	// Quarters of the messages, from the snapshot: when the rows that end each quarter
	// were recorded.
	var ends []time.Time
	if err := pool.SelectContext(ctx, &ends, `SELECT unnest(percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY updated_at))
		FROM outbox WHERE campaign_id = $1`, campaignID); err != nil {
		return run, err
	}
	ends = append(ends, run.last)
	prev, prevDone := run.snapshot, 0
	for q, at := range ends {
		target := run.total * (q + 1) / 4
		run.quarters = append(run.quarters, quarter{n: target - prevDone, secs: max(at.Sub(prev).Seconds(), 0.001)})
		prev, prevDone = at, target
	}
	return run, nil
}

// benchProc is a child process of a benchmark: crier serve or the SMTP sink.
type benchProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	out    bytes.Buffer // its stderr, for when it fails
	once   sync.Once
}

func (p *benchProc) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.out.Bytes()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (p *benchProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// peakRSS is the process's peak resident set size (VmHWM), in bytes.
func (p *benchProc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// stop ends the process (SIGTERM, then SIGKILL after 30 s) and waits for it.
func (p *benchProc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// startBenchServe runs `crier serve` (this binary) with env added to the environment and
// waits until it serves.
func (e *Env) startServe(ctx context.Context, env []string) (*benchProc, error) {
	exe, err := e.exe()
	if err != nil {
		return nil, err
	}
	p := &benchProc{cmd: exec.Command(exe, "serve"), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start crier serve: %w", err)
	}
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(p, sc.Text())
			if !signalled && strings.HasPrefix(sc.Text(), "serving on ") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("crier serve stopped before serving: %s", p.tail())
	case <-time.After(2 * time.Minute):
		p.stop()
		return nil, fmt.Errorf("crier serve did not start within 2 minutes: %s", p.tail())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// benchSink is `crier bench sink` running as a child process.
type benchSink struct {
	*benchProc
	addr  string
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// startBenchSink runs the SMTP sink in its own process, as a mail server elsewhere is.
func (e *Env) startSink(ctx context.Context) (*benchSink, error) {
	exe, err := e.exe()
	if err != nil {
		return nil, err
	}
	s := &benchSink{benchProc: &benchProc{cmd: exec.Command(exe, "bench", "sink"), exited: make(chan struct{})}}
	s.cmd.Stderr = s.benchProc
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the SMTP sink: %w", err)
	}
	s.lines = bufio.NewScanner(out)
	if !s.lines.Scan() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		return nil, fmt.Errorf("the SMTP sink did not start: %s", s.tail())
	}
	s.addr, _ = strings.CutPrefix(s.lines.Text(), "listening on ")
	go func() {
		<-ctx.Done()
		s.stdin.Close()
	}()
	return s, nil
}

// stop asks the sink to stop (closing its stdin) and returns how many messages it took.
func (s *benchSink) stop() (int64, error) {
	var n int64
	var err error
	s.once.Do(func() {
		s.stdin.Close()
		if !s.lines.Scan() {
			err = fmt.Errorf("the SMTP sink said nothing when stopped: %s", s.tail())
		} else if _, e := fmt.Sscanf(s.lines.Text(), "received %d", &n); e != nil {
			err = fmt.Errorf("the SMTP sink said %q", s.lines.Text())
		}
		_ = s.cmd.Wait()
	})
	return n, err
}

// Sink is `crier bench sink`: an SMTP server on addr that takes every message and throws
// it away, counting, for bench send to send to from another process. It prints
// "listening on ADDR" to out, and "received N" when in closes.
func Sink(ctx context.Context, in io.Reader, out io.Writer, addr string) error {
	sink, err := sandbox.StartSink(ctx, addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on %s\n", sink.Addr())
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	sink.Close()
	fmt.Fprintf(out, "received %d\n", sink.Count())
	return nil
}
