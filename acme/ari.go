package acme

import (
	"context"
	"time"

	"esash/config"
)

// ACME renewal information (ARI, RFC 9773): the CA suggests a renewal
// window per certificate and may move it earlier later on (a revoked
// certificate, an incident: Let's Encrypt's mass revocations are why ARI
// exists). So the window is asked right after issuance, again whenever the
// CA's Retry-After has passed (clamped to one minute .. one day, 6 hours
// when the CA gives none or does not answer), and once at start for each
// certificate the manager has not asked about yet (ARI is not kept across
// restarts). The profile is renewed at the middle of the window when that
// is before two thirds of the lifetime: within the window, as the RFC
// asks, and not at its very start, which for short-lived certificates is
// their issuance (a renewal loop). An ARI request that fails is not a
// renewal failure: no back-off, no alert; the two-thirds schedule holds.

const (
	ariMinPoll     = time.Minute
	ariMaxPoll     = 24 * time.Hour
	ariDefaultPoll = 6 * time.Hour
)

// ariPoll is when to ask again after a Retry-After of d.
func ariPoll(d time.Duration) time.Duration {
	if d <= 0 {
		return ariDefaultPoll
	}
	return min(max(d, ariMinPoll), ariMaxPoll)
}

// ariCheckTime is when ARI is next asked about the profile's certificate:
// zero for a pending profile (nothing to ask about) or one whose
// certificate no longer has its names (renewed at once anyway), now for a
// certificate not asked about yet.
func (m *Manager) ariCheckTime(ct config.Certificate) time.Time {
	if ct.ACME.Pending() {
		return time.Time{}
	}
	if leaf, err := leafOf(ct); err != nil || !sameNames(leaf.DNSNames, ct.ACME.Names) {
		return time.Time{}
	}
	st := m.stateOf(ct.Name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if st.ariFor != ct.CertPEM {
		return m.opts.Now()
	}
	return st.ariCheckAt
}

// ariDue reports that ARI should be asked about ct now.
func (m *Manager) ariDue(ct config.Certificate) bool {
	at := m.ariCheckTime(ct)
	return !at.IsZero() && !at.After(m.opts.Now())
}

// pollARI asks the CA's renewal window for the profile's certificate.
func (m *Manager) pollARI(ctx context.Context, ct config.Certificate) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	leaf, err := leafOf(ct)
	if err != nil {
		return
	}
	c, _, err := m.client(m.opts.Store.Head().Config, ct.ACME)
	if err != nil {
		m.opts.Log("ACME: profile %s: renewal information: %v", ct.Name, err)
		st := m.stateOf(ct.Name)
		m.mu.Lock()
		st.ariFor, st.ariAt, st.ariCheckAt = ct.CertPEM, time.Time{}, m.opts.Now().Add(ariDefaultPoll)
		m.mu.Unlock()
		return
	}
	m.askARI(ctx, c, ct.Name, leaf, ct.CertPEM)
	m.notify()
}
