package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

// The bench's fake Twilio account; it exists only in the sandbox on loopback.
const (
	benchTwAccount = "AC0000000000000000000000000000bec4"
	benchTwToken   = "benchtoken0123456789abcdef"
)

// writeSMSList writes a mailing list of n residents of ward with a mobile each
// (+447400000000 + first on: a mobile range, not Ofcom's drama numbers, and the sandbox
// never sends anything anywhere) and SMS consent, for the import.
func writeSMSList(path string, first, n int, ward string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	names := []string{"Amira", "Ben", "Chloé", "Dev", "Eilidh", "Femi", "Grace", "Hamza", "Iwona", "Jack"}
	last := []string{"Adebayo", "Brown", "Chen", "Davies", "Evans", "Fraser", "Green", "Hughes", "Islam", "Jones"}
	fmt.Fprint(w, "First name,Surname,Mobile,Ward,SMS consent\r\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(w, "%s,%s,07400 %06d,%s,Yes\r\n", names[i%len(names)], last[(i/len(names))%len(last)], i, ward)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SMSOptions are bench sms's settings.
type SMSOptions struct {
	Rate    float64       // configured texts per second (the sandbox allows exactly this many)
	Window  time.Duration // the window the rate is measured over (after a 2 s warm-up)
	Inbound int           // signed inbound texts to post
	Clients int           // concurrent inbound clients
	// Profile, if set, starts a CPU profile of the inbound phase and returns its stop.
	Profile func() (func(), error)
	Keep    bool // keep the scratch database
}

// SMS sends an SMS campaign through the real outbox, dispatcher and twilio-go sender to
// the Twilio-compatible sandbox (which answers 429 above the rate) with the web server
// taking its signed status callbacks, and measures the rate held over a window; then it
// texts a poll to as many more residents as there will be answers, and fires their
// signed answers (one each, and some from numbers crier doesn't know) at the webhook,
// measuring throughput and latency. Scratch database; prints a table.
func SMS(ctx context.Context, e *Env, o SMSOptions) error {
	warm := 2 * time.Second
	residents := int(math.Ceil(o.Rate*(o.Window.Seconds()+warm.Seconds()+3))) + 10
	sc, err := e.scratch(ctx, o.Keep)
	if err != nil {
		return err
	}
	defer sc.Done()
	pool := sc.Pool
	dir := sc.Dir
	list := filepath.Join(dir, "mobiles.csv")
	if err := writeSMSList(list, 1, residents, benchSendWard); err != nil {
		return err
	}
	// Imported as an officer imports them (the importer analyses what it wrote; nothing
	// is ANALYZEd by hand).
	if _, err := contact.NewStore(pool, e.logger()).Import(ctx, contact.ImportOptions{Path: list, Actor: "bench"}); err != nil {
		return fmt.Errorf("bench setup: import: %w", err)
	}

	tw, err := sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: benchTwAccount, AuthToken: benchTwToken, RatePerSec: o.Rate})
	if err != nil {
		return err
	}
	defer tw.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	sender, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: benchTwAccount, AuthToken: benchTwToken,
		From: "+447700900999", StatusCallback: base + web.StatusPath, APIURL: tw.URL()}, nil)
	if err != nil {
		return err
	}
	ob := outbox.NewStore(pool)
	ib := inbox.NewStore(pool, inbox.Config{OrgName: "Millbrook Council"}, sender)
	signer, err := email.NewSigner(bytes.Repeat([]byte("bench-link-key:"), 3))
	if err != nil {
		return err
	}
	ws, err := web.New(web.Config{DB: pool, Signer: signer, Twilio: &web.TwilioHooks{AuthToken: benchTwToken,
		PublicURL: base, Inbox: ib, Outbox: ob}})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	// 1. The send rate.
	cs := campaign.NewStore(pool, nil)
	c := &campaign.Campaign{Name: "Bin day poll (bench)", Purpose: "service", ChannelOrder: []string{"sms"},
		SMSBody: "Hi {{first_name}}, we're changing bin day in Millbrook.",
		Poll:    &reply.Poll{Question: "Which day?", Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}}
	runID, err := e.start(ctx, cs, c)
	if err != nil {
		return err
	}
	batch := max(1, min(50, int(o.Rate)))
	disp := dispatch.New(dispatch.Config{Instance: "bench", Poll: 100 * time.Millisecond,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{dispatch.SMS: {Sender: sender, Composer: sms.NewComposer(pool),
			Workers: 4, Batch: batch, Rate: o.Rate}}}, ob, cs)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	dispDone := make(chan error, 1)
	start := time.Now()
	go func() { dispDone <- disp.Run(rctx) }()
	ticks := int64((warm + o.Window + time.Second).Seconds() * 10)
	bar := e.Progress.Units(ticks, "bench sms: sending at a held rate", "texts accepted")
	for t := time.Now(); time.Since(start) < warm+o.Window+time.Second; t = time.Now() {
		select {
		case <-ctx.Done():
			stop()
			<-dispDone
			return ctx.Err()
		case <-time.After(100*time.Millisecond - time.Since(t)%(100*time.Millisecond)):
		}
		n := min(ticks, int64(time.Since(start)/(100*time.Millisecond)))
		bar.Set(n, ticks, int64(len(tw.Messages())), "")
	}
	bar.Finish()
	stop()
	if err := <-dispDone; err != nil {
		return err
	}
	from, to := start.Add(warm), start.Add(warm+o.Window)
	inWindow := 0
	for _, m := range tw.Messages() {
		if !m.At.Before(from) && m.At.Before(to) {
			inWindow++
		}
	}
	held := float64(inWindow) / o.Window.Seconds()
	var throttled int
	if err := pool.GetContext(ctx, &throttled, `SELECT count(*) FROM message_events e JOIN outbox o ON o.id = e.outbox_id
		WHERE o.run_id = $1 AND e.event = 'retry' AND e.detail LIKE '%20429%'`, runID); err != nil {
		return err
	}
	// Let the last status callbacks land, then wait for nothing: the rate table is done.
	time.Sleep(500 * time.Millisecond)

	// 2. Inbound texts from residents who have just been texted a poll, as after a real
	// campaign: a second campaign to as many residents as there will be answers, sent
	// through the same outbox, dispatcher and twilio-go sender to a sandbox without a
	// rate limit (and without status callbacks, which would land during the measurement).
	answering := o.Inbound - o.Inbound/20
	pollFirst := residents + 1
	if err := e.textPoll(ctx, pool, cs, dir, pollFirst, answering); err != nil {
		return err
	}
	// Each answers once (a poll answer, an unclear reply, a question); one text in
	// twenty is from a number crier doesn't know.
	if o.Profile != nil {
		stopProfile, err := o.Profile()
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	var cpu cpuMeter
	cpu.addProc("crier (server and clients)", os.Getpid())
	cpu.addPostgres(ctx, pool)
	cpu.begin()
	res, err := benchInbound(ctx, pool, base, o.Inbound, o.Clients, pollFirst)
	if err != nil {
		return err
	}
	used := cpu.end()

	fmt.Fprintf(e.Out, "crier bench sms: %d residents texted at %g/s over %s; %d more texted a poll, %d answers and %d texts from unknown numbers from %d clients\n\n",
		residents, o.Rate, o.Window, answering, answering, o.Inbound-answering, o.Clients)
	fmt.Fprintln(e.Out, "| measure | result | target | notes |")
	fmt.Fprintln(e.Out, "|---|---:|---|---|")
	fmt.Fprintf(e.Out, "| send rate held over %s | %.2f texts/s (%+.2f%%) | within 2%% of %g/s | %d accepted in the window |\n",
		o.Window, held, 100*(held-o.Rate)/o.Rate, o.Rate, inWindow)
	fmt.Fprintf(e.Out, "| 429s from the sandbox | %d | 0 | sandbox bucket = the configured rate |\n", throttled)
	fmt.Fprintf(e.Out, "| inbound webhook throughput | %.0f req/s | ≥ 2,000 req/s | %d signed requests validated and stored |\n",
		res.rate, res.stored)
	fmt.Fprintf(e.Out, "| inbound latency p50 / p99 | %.1f / %.1f ms | p99 ≤ 50 ms | max %.1f ms |\n",
		ms(res.p50), ms(res.p99), ms(res.max))
	fmt.Fprintf(e.Out, "| peak RSS | %.0f MB | | |\n", float64(peakRSS())/(1<<20))
	if line := cpuLine(used, res.stored, "request"); line != "" {
		fmt.Fprintf(e.Out, "\n%s (inbound)\n", line)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type benchInboundResult struct {
	rate          float64
	stored        int
	p50, p99, max time.Duration
}

// benchTextPoll imports n residents of another ward (mobiles from +447400000000 + first)
// and texts them a poll through the outbox and dispatcher, returning once every text is
// sent.
func (e *Env) textPoll(ctx context.Context, pool *sqlx.DB, cs *campaign.Store, dir string, first, n int) error {
	const ward = "Riverside"
	list := filepath.Join(dir, "poll.csv")
	if err := writeSMSList(list, first, n, ward); err != nil {
		return err
	}
	if _, err := contact.NewStore(pool, e.logger()).Import(ctx, contact.ImportOptions{Path: list, Actor: "bench"}); err != nil {
		return fmt.Errorf("bench setup: import: %w", err)
	}
	seg, err := segment.NewStore(pool).Create(ctx, ward+" ward", "", segment.Rule{Field: "ward", Op: "eq", Value: ward}, "bench")
	if err != nil {
		return err
	}
	tw, err := sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: benchTwAccount, AuthToken: benchTwToken})
	if err != nil {
		return err
	}
	defer tw.Close()
	sender, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: benchTwAccount, AuthToken: benchTwToken,
		From: "+447700900999", APIURL: tw.URL()}, nil)
	if err != nil {
		return err
	}
	c := &campaign.Campaign{Name: "Riverside bin day poll (bench)", Purpose: "service", ChannelOrder: []string{"sms"}, SegmentID: &seg.ID,
		SMSBody: "Hi {{first_name}}, which day suits you for bin collection?",
		Poll:    &reply.Poll{Question: "Which day?", Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}}
	runID, err := e.start(ctx, cs, c)
	if err != nil {
		return err
	}
	ob := outbox.NewStore(pool)
	disp := dispatch.New(dispatch.Config{Instance: "bench-poll", Poll: 100 * time.Millisecond,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{dispatch.SMS: {Sender: sender, Composer: sms.NewComposer(pool),
			Workers: 8, Batch: 50}}}, ob, cs)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- disp.Run(rctx) }()
	bar := e.Progress.Units(int64(n), "bench sms: texting the poll", "texts")
	for {
		var left, sent int
		if err := pool.GetContext(ctx, &left, `SELECT count(*) FROM outbox WHERE run_id = $1 AND state IN ('pending', 'sending')`, runID); err != nil {
			stop()
			<-done
			return err
		}
		sent = n - left
		bar.Set(int64(sent), int64(n), int64(sent), "sending")
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			stop()
			<-done
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	bar.Finish()
	stop()
	if err := <-done; err != nil {
		return err
	}
	var sent int
	if err := pool.GetContext(ctx, &sent, `SELECT count(*) FROM outbox WHERE run_id = $1 AND state = 'sent'`, runID); err != nil {
		return err
	}
	if sent != n {
		return fmt.Errorf("bench sms: the poll went to %d of %d residents", sent, n)
	}
	return nil
}

// benchInbound posts n signed inbound texts to the webhook from clients goroutines and
// checks that every one was stored.
func benchInbound(ctx context.Context, pool *sqlx.DB, base string, n, clients, first int) (benchInboundResult, error) {
	var res benchInboundResult
	bodies := []string{"1", " 2.", "One please", "maybe", "Is this about the brown bin?", "yes!", "2"}
	target := base + web.InboundPath
	type req struct {
		body, sig string
	}
	reqs := make([]req, n)
	known := 0
	for i := range reqs {
		from := fmt.Sprintf("+447400%06d", first+known)
		if i%20 == 19 {
			from = fmt.Sprintf("+447409%06d", i) // not a resident
		} else {
			known++
		}
		p := map[string]string{"MessageSid": fmt.Sprintf("SM%032x", i+1), "AccountSid": benchTwAccount, "From": from,
			"To": "+447700900999", "Body": bodies[i%len(bodies)], "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
		form := url.Values{}
		for k, v := range p {
			form.Set(k, v)
		}
		reqs[i] = req{form.Encode(), sandbox.Sign(benchTwToken, target, p)}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(reqs[i].body))
				hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				hr.Header.Set("X-Twilio-Signature", reqs[i].sig)
				t0 := time.Now()
				resp, err := client.Do(hr)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("inbound %d: HTTP %d", i, resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return res, firstErr
	}
	if err := pool.GetContext(ctx, &res.stored, `SELECT count(*) FROM sms_messages WHERE direction = 'in'`); err != nil {
		return res, err
	}
	if res.stored != n {
		return res, errors.New("bench inbound: not every text was stored")
	}
	slices.Sort(lat)
	res.rate = float64(n) / elapsed.Seconds()
	res.p50, res.p99, res.max = lat[n/2], lat[n*99/100], lat[n-1]
	return res, nil
}
