package consent

// Model is the consent rules written once more, as plain Go over plain values, with no
// SQL: the tests drive the real code (imports, texts, web pages, provider reports) and
// this model with the same events and require that what Crier would send equals what
// the model allows. docs/consent.md's table of the rules is this file in words.
type Model struct {
	seq    int
	points map[int64]*modelPoint
}

type modelPoint struct {
	status  string // active, opted_out, invalid, bounced
	stopped bool
	topic   map[int64]modelDecision
	allSeq  int // the latest channel-wide withdrawal; 0 for none
}

type modelDecision struct {
	status string
	seq    int
}

// NewModel returns a model with no contact points.
func NewModel() *Model { return &Model{points: map[int64]*modelPoint{}} }

func (m *Model) point(p int64) *modelPoint {
	if m.points[p] == nil {
		m.points[p] = &modelPoint{status: "active", topic: map[int64]modelDecision{}}
	}
	return m.points[p]
}

func (m *Model) next() int { m.seq++; return m.seq }

// Current is the status of point p's consent for topic t: Granted, Withdrawn or "".
func (m *Model) Current(p, t int64) string {
	pt := m.point(p)
	if pt.stopped {
		return Withdrawn
	}
	d, ok := pt.topic[t]
	if pt.allSeq > 0 && (!ok || pt.allSeq > d.seq) {
		return Withdrawn
	}
	return d.status
}

// MaySend says whether a message of topic t may go to point p: the point must be usable,
// and consent not withdrawn; marketing also needs a recorded grant (PECR).
func (m *Model) MaySend(p, t int64, marketing bool) bool {
	if m.point(p).status != "active" {
		return false
	}
	switch m.Current(p, t) {
	case Withdrawn:
		return false
	case Granted:
		return true
	}
	return !marketing
}

// Choose is a resident's (or an officer's) own decision: the preference centre, an
// unsubscribe link, one-click unsubscribe, a confirmed sign-up. It is recorded when it
// changes what stands.
func (m *Model) Choose(p, t int64, status string) {
	if m.Current(p, t) != status {
		m.point(p).topic[t] = modelDecision{status, m.next()}
	}
}

// Import is a consent cell of an import: "yes" grants only where nothing is on record,
// "no" withdraws only a standing grant.
func (m *Model) Import(p, t int64, yes bool) {
	switch cur := m.Current(p, t); {
	case yes && cur == "":
		m.point(p).topic[t] = modelDecision{Granted, m.next()}
	case !yes && cur == Granted:
		m.point(p).topic[t] = modelDecision{Withdrawn, m.next()}
	}
}

// WithdrawAll is "unsubscribe from everything" on point p: every topic, and every topic
// created later, until the resident grants one again.
func (m *Model) WithdrawAll(p int64) { m.point(p).allSeq = m.next() }

// Stop is a STOP (a text, the provider's OptOutType, Twilio 21610): every topic is
// withdrawn while it stands, and the number is marked opted out.
func (m *Model) Stop(p int64) {
	pt := m.point(p)
	pt.stopped = true
	if pt.status == "active" {
		pt.status = "opted_out"
	}
}

// Start lifts a STOP: what stood before it stands again, and nothing more.
func (m *Model) Start(p int64) {
	pt := m.point(p)
	pt.stopped = false
	if pt.status == "opted_out" {
		pt.status = "active"
	}
}

// MarkPoint records what a provider says of the point itself: "invalid" (Twilio 21211)
// or "bounced" (SMTP 5xx). It changes no consent; the point can't be sent to.
func (m *Model) MarkPoint(p int64, status string) {
	if pt := m.point(p); pt.status == "active" {
		pt.status = status
	}
}
