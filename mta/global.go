package mta

import (
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

// listenerconfig SETUP's global settings that the listeners share:
// "the global limit for concurrent connections to be allowed across all
// listeners" (a connection over it gets 421 4.4.5), the same for TLS
// connections (STARTTLS over it gets 454 4.7.0, RFC 3207), "the maximum
// number of message header lines" (a message over it gets 552 5.3.4, as
// one over the size limit; Postfix truncates instead, but an appliance
// that relays must not change the header it scans), and "the rate at which
// injection control counters are reset" (the window of "rate limiting per
// host").

// globalLimits are those of the configuration in force: activate stores
// them, every connection reads them.
type globalLimits struct {
	maxConns       atomic.Int64
	maxTLS         atomic.Int64
	maxHeaderLines atomic.Int64
	resetPeriod    atomic.Int64 // nanoseconds
	conns          atomic.Int64 // inbound connections counted now
	tls            atomic.Int64 // of them, with STARTTLS accepted
}

func (g *globalLimits) set(cfg *config.Config) {
	e := cfg.ListenSetup.Effective()
	g.maxConns.Store(int64(e.MaxConcurrency))
	g.maxTLS.Store(int64(e.MaxTLSConcurrency))
	g.maxHeaderLines.Store(int64(e.MaxHeaderLines))
	g.resetPeriod.Store(int64(time.Duration(e.CounterReset) * time.Second))
}

// period is the rate limits' window (an hour until a configuration is
// active).
func (g *globalLimits) period() time.Duration {
	if g == nil {
		return time.Hour
	}
	if p := g.resetPeriod.Load(); p > 0 {
		return time.Duration(p)
	}
	return time.Hour
}

// take counts one more of n against max (0 or less: no limit); false when
// the limit is reached.
func take(n, max *atomic.Int64) bool {
	limit := max.Load()
	if v := n.Add(1); limit > 0 && v > limit {
		n.Add(-1)
		return false
	}
	return true
}

// takeGlobal counts m against the global connection limit, once.
func (m *mconn) takeGlobal() bool {
	g := &m.srv.global
	if m.global.Load() {
		return true
	}
	if !take(&g.conns, &g.maxConns) {
		return false
	}
	m.global.Store(true)
	return true
}

// releaseGlobal gives back m's global connection and TLS slots.
func (m *mconn) releaseGlobal() {
	if m.global.CompareAndSwap(true, false) {
		m.srv.global.conns.Add(-1)
	}
	if m.tlsSlot.CompareAndSwap(true, false) {
		m.srv.global.tls.Add(-1)
	}
}

// errTLSBusy answers STARTTLS when the global limit of TLS connections is
// reached (RFC 3207: 454, try again later).
var errTLSBusy = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
	Message: "TLS not available due to temporary reason"}

// takeTLS counts m against the global TLS limit when it asks for
// STARTTLS; the slot is held until the connection closes.
func (m *mconn) takeTLS() bool {
	if m.tlsSlot.Load() {
		return true
	}
	if !take(&m.srv.global.tls, &m.srv.global.maxTLS) {
		return false
	}
	m.tlsSlot.Store(true)
	return true
}

// errTooManyHeaderLines refuses a message whose header has more lines
// than SETUP's "maximum number of message header lines".
func errTooManyHeaderLines(max int64) error {
	return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: "Message header has more than " + strconv.FormatInt(max, 10) + " lines"}
}

// headerLimit passes a message through, counting the lines of its header
// (up to the first empty line; a folded line counts as one line each) and
// failing the read that finds one too many.
type headerLimit struct {
	r       io.Reader
	max     int64
	lines   int64
	lineLen int
	done    bool
}

// limitHeaderLines wraps a message body reader with SETUP's header lines
// limit.
func (m *mconn) limitHeaderLines(r io.Reader) io.Reader {
	max := m.srv.global.maxHeaderLines.Load()
	if max <= 0 {
		return r
	}
	return &headerLimit{r: r, max: max}
}

func (h *headerLimit) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.done {
		return n, err
	}
	for _, b := range p[:n] {
		switch b {
		case '\r':
		case '\n':
			if h.lineLen == 0 {
				h.done = true
				return n, err
			}
			if h.lines++; h.lines > h.max {
				return 0, errTooManyHeaderLines(h.max)
			}
			h.lineLen = 0
		default:
			h.lineLen++
		}
	}
	return n, err
}
