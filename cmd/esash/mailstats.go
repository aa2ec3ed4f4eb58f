package main

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"esash/commands/hoststatus"
	"esash/commands/status"
	"esash/maillog"
	"esash/mta/queue"
)

// mailStats counts the MTA's events for status and hoststatus. The MTA
// logs every event to mail_logs in AsyncOS's format (package maillog
// writes them and its tests fix their shape); following those lines, as
// `tail` does, gives the counters without a second bookkeeping inside the
// MTA. A line a slow reader missed is counted by maillog.Log.Dropped; the
// 1024-line buffer is far above what a consumer this small lets build up.
type mailStats struct {
	mu      sync.Mutex
	since   time.Time
	running bool
	ct      status.Counters
	hosts   map[string]*hoststatus.Events
	dcids   map[int64]string // DCID -> the domain it delivers to
	queue   func() (*queue.Queue, error)
}

// follow counts the events of log from now on, until log closes.
func (m *mailStats) follow(log *maillog.Log, now func() time.Time) {
	lines, _ := log.Subscribe()
	m.mu.Lock()
	m.since, m.running = now(), true
	m.hosts, m.dcids = map[string]*hoststatus.Events{}, map[int64]string{}
	m.mu.Unlock()
	go func() {
		for line := range lines {
			m.count(line, now())
		}
	}()
}

// maxHostStats bounds the domains hoststatus keeps counters for; past
// it, the domain idle longest is forgotten. The domains come from mail
// (bounces go to whatever domain a sender claimed).
const maxHostStats = 10000

var (
	reStart   = regexp.MustCompile(`^Delivery start DCID (\d+) MID (\d+) to RID \[([\d, ]*)\]`)
	reDone    = regexp.MustCompile(`^Message done DCID (\d+) MID \d+ to RID \[([\d, ]*)\]`)
	reBounced = regexp.MustCompile(`^(Bounced|Delayed): DCID (\d+) MID (\d+) to RID \[([\d, ]*)\] - \S+ - (.*)$`)
	reConnErr = regexp.MustCompile(`^Connection Error: DCID (\d+) domain: (\S+) .* reason: (.*)$`)
	reClose   = regexp.MustCompile(`^DCID (\d+) close$`)
)

// count applies one mail_logs line. Every message makes four to six
// lines: each is told apart by its first words before any regular
// expression runs (eight of them on every line were 2 % of the daemon's
// CPU under load, issue 17).
func (m *mailStats) count(line string, now time.Time) {
	_, msg, ok := strings.Cut(line, " Info: ")
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strings.HasPrefix(msg, "MID "):
		m.countReceived(msg)
	case strings.HasPrefix(msg, "Delivery start "), strings.HasPrefix(msg, "Message done "),
		strings.HasPrefix(msg, "Bounced: "), strings.HasPrefix(msg, "Delayed: "),
		strings.HasPrefix(msg, "Connection Error: "), strings.HasPrefix(msg, "DCID "):
		m.countDelivery(msg, now)
	}
}

// countReceived counts a "MID n ..." line: "MID n ready ...", "MID n ICID
// n RID n To: ...", "MID n ICID n To: ... Rejected by ...". m.mu held.
func (m *mailStats) countReceived(msg string) {
	rest, ok := afterNumber(msg, "MID ")
	switch {
	case !ok:
	case strings.HasPrefix(rest, " ready "):
		m.ct.MessagesReceived++
	case strings.HasPrefix(rest, " ICID "):
		rest, ok = afterNumber(rest, " ICID ")
		switch {
		case !ok:
		case strings.HasPrefix(rest, " RID "):
			if rest, ok = afterNumber(rest, " RID "); ok && strings.HasPrefix(rest, " To: ") {
				m.ct.RecipientsReceived++
			}
		case strings.HasPrefix(rest, " To: ") && strings.Contains(rest, " Rejected by "):
			m.ct.RejectedRecipients++
		}
	}
}

// afterNumber is what follows prefix and the digits after it in s; ok is
// false when s does not start so.
func afterNumber(s, prefix string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(s, prefix)
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	return rest[n:], ok && n > 0
}

// countDelivery counts a delivery's line. m.mu held.
func (m *mailStats) countDelivery(msg string, now time.Time) {
	host := func(dom string) *hoststatus.Events {
		if dom == "" {
			return &hoststatus.Events{}
		}
		h := m.hosts[dom]
		if h == nil {
			if len(m.hosts) >= maxHostStats {
				m.forgetIdlest()
			}
			h = &hoststatus.Events{}
			m.hosts[dom] = h
		}
		h.LastActivity = now
		return h
	}
	if g := reStart.FindStringSubmatch(msg); g != nil {
		dcid, _ := strconv.ParseInt(g[1], 10, 64)
		mid, _ := strconv.ParseInt(g[2], 10, 64)
		if dom := m.domainOf(mid, g[3]); dom != "" {
			m.dcids[dcid] = dom
		}
	}
	if g := reDone.FindStringSubmatch(msg); g != nil {
		dcid, _ := strconv.ParseInt(g[1], 10, 64)
		n := int64(len(strings.Split(g[2], ",")))
		m.ct.DeliveredRecipients += n
		h := host(m.dcids[dcid])
		h.Delivered += n
		h.Up = "up"
	}
	if g := reBounced.FindStringSubmatch(msg); g != nil {
		dcid, _ := strconv.ParseInt(g[2], 10, 64)
		mid, _ := strconv.ParseInt(g[3], 10, 64)
		dom := m.dcids[dcid]
		if dom == "" {
			dom = m.domainOf(mid, g[4])
		}
		h := host(dom)
		h.LastError = g[5]
		if g[1] == "Bounced" {
			n := int64(len(strings.Split(g[4], ",")))
			m.ct.HardBouncedRecipients += n
			h.HardBounced += n
		} else {
			m.ct.SoftBouncedEvents++
			h.SoftBounced++
		}
	}
	if g := reConnErr.FindStringSubmatch(msg); g != nil {
		h := host(strings.ToLower(g[2]))
		h.Up, h.LastError = "down", g[3]
	}
	if g := reClose.FindStringSubmatch(msg); g != nil {
		// The connection is over: a daemon would otherwise keep one
		// entry per connection it ever made.
		dcid, _ := strconv.ParseInt(g[1], 10, 64)
		delete(m.dcids, dcid)
	}
}

// forgetIdlest drops the domain whose last activity is oldest; m.mu held.
func (m *mailStats) forgetIdlest() {
	oldest := ""
	for dom, h := range m.hosts {
		if oldest == "" || h.LastActivity.Before(m.hosts[oldest].LastActivity) {
			oldest = dom
		}
	}
	delete(m.hosts, oldest)
}

// domainOf is the domain of the first of rids of a queued message.
func (m *mailStats) domainOf(mid int64, rids string) string {
	if m.queue == nil {
		return ""
	}
	q, err := m.queue()
	if err != nil {
		return ""
	}
	meta, ok := q.Get(mid)
	if !ok {
		return ""
	}
	first, err := strconv.Atoi(strings.TrimSpace(strings.Split(rids, ",")[0]))
	if err != nil {
		return ""
	}
	for i, to := range meta.To {
		rid := i
		if len(meta.RIDs) == len(meta.To) {
			rid = meta.RIDs[i]
		}
		if rid == first {
			return domainPart(to)
		}
	}
	return ""
}

func domainPart(addr string) string {
	_, dom, _ := strings.Cut(addr, "@")
	return strings.ToLower(strings.TrimSuffix(dom, "."))
}

// statusSource is status's view of the appliance.
type statusSource struct {
	st *mailStats
	h  *mtaHandle
}

func (s statusSource) Status() status.Snapshot {
	s.st.mu.Lock()
	sn := status.Snapshot{Running: s.st.running, Since: s.st.since, Counters: s.st.ct}
	s.st.mu.Unlock()
	if q, err := s.h.queue(); err == nil {
		for _, m := range q.List() {
			sn.Queue = append(sn.Queue, status.Message{Time: m.Time, Recipients: len(m.To), Attempted: m.Attempts > 0, Size: m.Size})
		}
	}
	return sn
}

func (s statusSource) HostStatus(domain string) hoststatus.Host {
	s.st.mu.Lock()
	h := hoststatus.Host{Running: s.st.running}
	if e := s.st.hosts[domain]; e != nil {
		h.Events = *e
	}
	s.st.mu.Unlock()
	if q, err := s.h.queue(); err == nil {
		for _, m := range q.List() {
			n := 0
			for _, to := range m.To {
				if domainPart(to) == domain {
					n++
				}
			}
			if n > 0 {
				h.Queue = append(h.Queue, hoststatus.Queued{Time: m.Time, Recipients: n, Attempts: m.Attempts, NextTry: m.NextTry})
			}
		}
	}
	return h
}
