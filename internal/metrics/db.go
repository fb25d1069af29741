package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
)

// dbCollector reads, at each scrape, what only the database knows: the outbox's depth,
// the channels' health and the imports. Each query is cheap (the outbox's is answered
// from its partial index of pending rows) and the scrape's queries share one timeout.
type dbCollector struct {
	db      *sqlx.DB
	timeout time.Duration

	pending, oldest, up, checked, importRows, importContacts, queryErrors *prometheus.Desc
	errors                                                                atomic.Uint64
}

func newDBCollector(db *sqlx.DB, timeout time.Duration) *dbCollector {
	return &dbCollector{db: db, timeout: timeout,
		pending: prometheus.NewDesc("crier_outbox_pending",
			"Messages of running campaigns due to be sent now and waiting in the outbox, by channel (post: waiting to be printed).",
			[]string{"channel"}, nil),
		oldest: prometheus.NewDesc("crier_outbox_oldest_pending_seconds",
			"How long the outbox's longest-waiting due message of a running campaign has been due, by channel (0 when none waits).",
			[]string{"channel"}, nil),
		up: prometheus.NewDesc("crier_channel_up",
			"Whether a channel's relay or API answered the last send (1) or could not be reached (0), as any crier process last recorded it.",
			[]string{"channel"}, nil),
		checked: prometheus.NewDesc("crier_channel_checked_timestamp_seconds",
			"When a channel's health was last recorded (Unix time): an old value means no process has sent on it lately.",
			[]string{"channel"}, nil),
		importRows: prometheus.NewDesc("crier_import_rows_total",
			"Rows read by contact imports that have finished (CLI and web), by result: read (every row), rejected (invalid rows, skipped or refusing the import).",
			[]string{"result"}, nil),
		importContacts: prometheus.NewDesc("crier_import_contacts_total",
			"Contacts created or updated by completed imports.",
			[]string{"change"}, nil),
		queryErrors: prometheus.NewDesc("crier_metrics_query_errors_total",
			"Database queries of scrapes that failed or timed out (their metrics were left out).", nil, nil),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.oldest, c.up, c.checked, c.importRows, c.importContacts, c.queryErrors} {
		ch <- d
	}
}

// The channels the outbox knows: each is shown, at 0 when nothing waits.
var outboxChannels = []string{"email", "sms", "post"}

const outboxSQL = `
SELECT o.channel, count(*) AS pending, COALESCE(EXTRACT(EPOCH FROM now() - min(o.run_at)), 0)::float8 AS oldest
  FROM outbox o
 WHERE o.state = 'pending' AND o.run_at <= now()
   AND o.run_id IN (SELECT id FROM campaign_runs WHERE state = 'sending')
 GROUP BY o.channel`

const healthSQL = `SELECT channel, state = 'up' AS up, EXTRACT(EPOCH FROM checked_at)::float8 AS checked FROM channel_health`

const importsSQL = `
SELECT COALESCE(sum(rows_total), 0) AS read, COALESCE(sum(rows_rejected), 0) AS rejected,
       COALESCE(sum(contacts_created) FILTER (WHERE status = 'completed'), 0) AS created,
       COALESCE(sum(contacts_updated) FILTER (WHERE status = 'completed'), 0) AS updated
  FROM imports WHERE status <> 'running'`

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	defer func() {
		ch <- prometheus.MustNewConstMetric(c.queryErrors, prometheus.CounterValue, float64(c.errors.Load()))
	}()

	var rows []struct {
		Channel string  `db:"channel"`
		Pending float64 `db:"pending"`
		Oldest  float64 `db:"oldest"`
	}
	if err := c.db.SelectContext(ctx, &rows, outboxSQL); err != nil {
		c.errors.Add(1)
	} else {
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r.Channel] = true
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, r.Pending, r.Channel)
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, max(r.Oldest, 0), r.Channel)
		}
		for _, name := range outboxChannels {
			if !seen[name] {
				ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, 0, name)
				ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, 0, name)
			}
		}
	}

	var health []struct {
		Channel string  `db:"channel"`
		Up      bool    `db:"up"`
		Checked float64 `db:"checked"`
	}
	if err := c.db.SelectContext(ctx, &health, healthSQL); err != nil {
		c.errors.Add(1)
	} else {
		for _, h := range health {
			v := 0.0
			if h.Up {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, h.Channel)
			ch <- prometheus.MustNewConstMetric(c.checked, prometheus.GaugeValue, h.Checked, h.Channel)
		}
	}

	var imp struct {
		Read     float64 `db:"read"`
		Rejected float64 `db:"rejected"`
		Created  float64 `db:"created"`
		Updated  float64 `db:"updated"`
	}
	if err := c.db.GetContext(ctx, &imp, importsSQL); err != nil {
		c.errors.Add(1)
	} else {
		ch <- prometheus.MustNewConstMetric(c.importRows, prometheus.CounterValue, imp.Read, "read")
		ch <- prometheus.MustNewConstMetric(c.importRows, prometheus.CounterValue, imp.Rejected, "rejected")
		ch <- prometheus.MustNewConstMetric(c.importContacts, prometheus.CounterValue, imp.Created, "created")
		ch <- prometheus.MustNewConstMetric(c.importContacts, prometheus.CounterValue, imp.Updated, "updated")
	}
}
