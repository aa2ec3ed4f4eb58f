package acme

import (
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"esash/config"
	"esash/pki"
	"esash/store"
)

// SystemUser is the user the manager's revisions are committed by.
const SystemUser = "acme"

// Options configure a Manager.
type Options struct {
	// Store is the configuration store the manager reads profiles from
	// and commits certificates to; Prepare readies the services.
	Store   store.Backend
	Prepare store.PrepareFunc
	Now     func() time.Time
	// HTTPPort is where HTTP-01 challenges are answered while pending:
	// 80 (the CA always connects to port 80); tests pick a free port.
	HTTPPort int
	// RenewFraction of the lifetime after which a certificate is renewed
	// (2/3).
	RenewFraction float64
	// RetryMin and RetryMax bound the back-off after a failure (1 minute,
	// doubling to 6 hours).
	RetryMin, RetryMax time.Duration
	// Timeout bounds one issuance (2 minutes).
	Timeout time.Duration
	// Log records attempts and failures (never key material).
	Log func(format string, args ...any)
	// Failed is called when an issuance or renewal fails (the alert),
	// with the time of the next attempt.
	Failed func(profile string, err error, next time.Time)
	// StateFile keeps each profile's failures, last error and retry time
	// across restarts (none when empty).
	StateFile string
	// Lease, when set, is asked before each order (issue 15: in a cluster
	// only one member orders a cluster- or group-level profile at a
	// time). A profile whose lease another holder has (held false) is
	// skipped this round and asked again after LeaseRetry: no back-off,
	// no alert, since nothing failed. release is called when the order
	// is committed or has failed. acme does not know etcd (deps_test.go):
	// cmd/esash implements it, and answers held for machine-level
	// profiles.
	// CommitTo, when set and not nil, is the store a certificate is
	// committed through instead of Store: in a cluster, the cluster store
	// at the level the profile's certificates section comes from, so every
	// member applies it through its watch. It is asked at each commit, so
	// a machine that joins or leaves a cluster needs no new manager.
	CommitTo func() (store.Backend, error)
	Lease    func(ctx context.Context, profile string) (release func(), held bool, err error)
	// LeaseRetry is how soon a profile whose lease was held elsewhere is
	// looked at again (1 minute).
	LeaseRetry time.Duration
}

// Status is what PRINT and the status page show of one profile.
type Status struct {
	Profile     string
	State       string // pending, valid, failing
	NotAfter    time.Time
	LastError   string
	NextAttempt time.Time
	Failures    int
	// FailedAt is when the last attempt failed (zero after a success, and
	// when a state file of an older version did not keep it): NextAttempt
	// is its back-off after it.
	FailedAt time.Time
}

// Manager runs the ACME profiles of the committed configuration.
type Manager struct {
	opts  Options
	chal  *challenges
	kick  chan struct{}
	mu    sync.Mutex
	state map[string]*profileState
	// saveMu orders the writes of the state file.
	saveMu sync.Mutex
	// changed is closed and replaced whenever a status changes (tests and
	// waiters select on it instead of sleeping).
	changed chan struct{}
}

// profileState is the manager's memory of one profile between attempts.
type profileState struct {
	failures  int
	lastError string
	retryAt   time.Time
	failedAt  time.Time // when the last attempt failed
	ariAt     time.Time // the CA's suggested renewal time, zero when none
	ariFor    string    // the certificate ariAt was asked for
	// ariCheckAt is when ARI is asked again for ariFor (the CA's
	// Retry-After): the CA may move the window earlier meanwhile.
	ariCheckAt time.Time
	// leaseAt is when a profile whose lease another member held is asked
	// again (not persisted: a restart may ask at once).
	leaseAt time.Time
}

// New returns a manager; Run starts it.
func New(o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = 80
	}
	if o.RenewFraction <= 0 || o.RenewFraction >= 1 {
		o.RenewFraction = 2.0 / 3
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Minute
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(6*time.Hour, o.RetryMin)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.LeaseRetry <= 0 {
		o.LeaseRetry = time.Minute
	}
	m := &Manager{opts: o, chal: newChallenges(o.HTTPPort), kick: make(chan struct{}, 1),
		state: map[string]*profileState{}, changed: make(chan struct{})}
	m.loadState()
	return m
}

// Kick makes the manager look at the configuration again (after a
// commit).
func (m *Manager) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Changed returns a channel closed at the next status change.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

func (m *Manager) notify() {
	m.mu.Lock()
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// Run obtains and renews until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	defer m.chal.stopHTTP()
	for {
		next := m.round(ctx)
		var wake <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(max(next.Sub(m.opts.Now()), 0))
			wake = t.C
		}
		select {
		case <-ctx.Done():
		case <-m.kick:
		case <-wake:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// round attempts every profile that is due and returns the next due time
// (zero: none).
func (m *Manager) round(ctx context.Context) time.Time {
	var next time.Time
	for _, ct := range m.opts.Store.Head().Config.Certificates {
		if !ct.ACME.Enabled() {
			continue
		}
		if m.ariDue(ct) && m.due(ct).After(m.opts.Now()) {
			m.pollARI(ctx, ct)
		}
		due := m.due(ct)
		if !due.After(m.opts.Now()) {
			m.leased(ctx, ct)
			due = m.due(ct)
			if head, ok := m.profile(ct.Name); ok {
				ct = head
				due = m.due(head)
			}
		}
		if at := m.ariCheckTime(ct); !at.IsZero() && at.Before(due) {
			due = at
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	m.forget()
	return next
}

func (m *Manager) profile(name string) (config.Certificate, bool) {
	for _, ct := range m.opts.Store.Head().Config.Certificates {
		if ct.Name == name && ct.ACME.Enabled() {
			return ct, true
		}
	}
	return config.Certificate{}, false
}

// forget drops the state of profiles no longer configured.
func (m *Manager) forget() {
	live := map[string]bool{}
	for _, ct := range m.opts.Store.Head().Config.Certificates {
		live[ct.Name] = ct.ACME.Enabled()
	}
	m.mu.Lock()
	gone := 0
	for n := range m.state {
		if !live[n] {
			delete(m.state, n)
			gone++
		}
	}
	m.mu.Unlock()
	if gone > 0 {
		if err := m.saveState(); err != nil {
			m.opts.Log("ACME: %v", err)
		}
	}
}

func (m *Manager) stateOf(name string) *profileState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state[name]
	if st == nil {
		st = &profileState{}
		m.state[name] = st
	}
	return st
}

// due is when the profile next needs an attempt.
func (m *Manager) due(ct config.Certificate) time.Time {
	return m.dueFrom(ct, m.snapshot(ct.Name))
}

// snapshot copies the profile's state at one moment: Status reports its
// failures and the next attempt from one copy, since an attempt may fail
// between two reads (the failure count from after it and the retry time
// from before it said the retry came before the failure).
func (m *Manager) snapshot(name string) profileState {
	st := m.stateOf(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	return *st
}

// dueFrom is when the profile next needs an attempt, by the state st.
func (m *Manager) dueFrom(ct config.Certificate, st profileState) time.Time {
	at := m.opts.Now()
	if !ct.ACME.Pending() {
		if leaf, err := leafOf(ct); err == nil && sameNames(leaf.DNSNames, ct.ACME.Names) {
			life := leaf.NotAfter.Sub(leaf.NotBefore)
			at = leaf.NotBefore.Add(time.Duration(float64(life) * m.opts.RenewFraction))
			if !st.ariAt.IsZero() && st.ariFor == ct.CertPEM && st.ariAt.Before(at) {
				at = st.ariAt
			}
		}
	}
	if st.retryAt.After(at) {
		at = st.retryAt
	}
	if st.leaseAt.After(at) {
		at = st.leaseAt
	}
	return at
}

// leased attempts ct under its lease. Without the lease the profile waits
// LeaseRetry; with it, the profile is read again first, since the member
// that held the lease may have just renewed it (its commit reached this
// machine through the cluster's watch).
func (m *Manager) leased(ctx context.Context, ct config.Certificate) {
	if m.opts.Lease == nil {
		m.attempt(ctx, ct)
		return
	}
	release, held, err := m.opts.Lease(ctx, ct.Name)
	st := m.stateOf(ct.Name)
	if err != nil || !held {
		if err != nil {
			m.opts.Log("ACME: profile %s: lease: %v", ct.Name, err)
		} else {
			m.opts.Log("ACME: profile %s: another member holds the lease; asking again in %v", ct.Name, m.opts.LeaseRetry)
		}
		m.mu.Lock()
		st.leaseAt = m.opts.Now().Add(m.opts.LeaseRetry)
		m.mu.Unlock()
		m.notify()
		return
	}
	defer release()
	m.mu.Lock()
	st.leaseAt = time.Time{}
	m.mu.Unlock()
	head, ok := m.profile(ct.Name)
	if !ok || m.due(head).After(m.opts.Now()) {
		return
	}
	m.attempt(ctx, head)
}

// attempt obtains a certificate for ct and commits it, or records the
// failure and its back-off.
func (m *Manager) attempt(ctx context.Context, ct config.Certificate) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	m.opts.Log("ACME: requesting a certificate for profile %s (%v) from %s", ct.Name, ct.ACME.Names, ct.ACME.DirectoryURL)
	err := m.obtainAndCommit(ctx, ct)
	st := m.stateOf(ct.Name)
	m.mu.Lock()
	if err != nil {
		st.failures++
		st.lastError = err.Error()
		wait := m.opts.RetryMin << min(st.failures-1, 20)
		if wait > m.opts.RetryMax || wait <= 0 {
			wait = m.opts.RetryMax
		}
		st.failedAt = m.opts.Now()
		st.retryAt = st.failedAt.Add(wait)
	} else {
		st.failures, st.lastError, st.retryAt, st.failedAt = 0, "", time.Time{}, time.Time{}
	}
	m.mu.Unlock()
	if serr := m.saveState(); serr != nil {
		m.opts.Log("ACME: %v", serr)
	}
	if err != nil {
		m.opts.Log("ACME: profile %s: %v", ct.Name, err)
		if m.opts.Failed != nil {
			m.opts.Failed(ct.Name, err, m.due(ct))
		}
	} else {
		m.opts.Log("ACME: profile %s: certificate installed", ct.Name)
	}
	m.notify()
}

// Status lists the ACME profiles of the committed configuration by name.
//
// Each row's certificate (the head) and failures (the manager's state)
// are of one moment: an attempt commits its certificate and then records
// its outcome, so a head read between two equal copies of the state is
// the head of that state. Read apart, a renewal in between showed the old
// certificate with the failures it had just cleared.
func (m *Manager) Status() []Status {
	var head store.Snapshot
	var states map[string]profileState
	for try := 0; try < 10; try++ {
		before := m.states()
		head = m.opts.Store.Head()
		states = m.states()
		if maps.Equal(before, states) {
			break
		}
	}
	var out []Status
	for _, ct := range head.Config.Certificates {
		if ct.ACME.Enabled() {
			out = append(out, m.statusOf(ct, states[ct.Name]))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Profile < out[j].Profile })
	return out
}

// states copies every profile's state at one moment.
func (m *Manager) states() map[string]profileState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]profileState, len(m.state))
	for name, st := range m.state {
		out[name] = *st
	}
	return out
}

// statusOf is the row of ct in state st.
func (m *Manager) statusOf(ct config.Certificate, st profileState) Status {
	s := Status{Profile: ct.Name, State: "valid", LastError: st.lastError, NextAttempt: m.dueFrom(ct, st),
		Failures: st.failures, FailedAt: st.failedAt}
	if ct.ACME.Pending() {
		s.State = "pending"
	} else if leaf, err := leafOf(ct); err == nil {
		s.NotAfter = leaf.NotAfter
	}
	if s.Failures > 0 {
		s.State = "failing"
	}
	return s
}

func leafOf(ct config.Certificate) (*x509.Certificate, error) {
	certs, err := pki.ParseCertificates([]byte(ct.CertPEM))
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate")
	}
	return certs[0], nil
}

// sameNames reports whether the certificate covers exactly the profile's
// names: an administrator who changed them gets a new order at once, not
// at the old certificate's renewal time.
func sameNames(have, want []string) bool {
	if len(have) != len(want) {
		return false
	}
	set := map[string]bool{}
	for _, n := range have {
		set[strings.ToLower(n)] = true
	}
	for _, n := range want {
		if !set[strings.ToLower(n)] {
			return false
		}
	}
	return true
}
