package acme

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"esash/config"
	"esash/pki"
	"esash/store"
)

// Expiry alerts (issue 15): every certificate profile, ACME or not, is
// watched; alertconfig's System class is warned when the days left reach
// each threshold, once per threshold and certificate, and the
// memory of what was sent survives restarts (a small JSON file in the data
// directory). Days left are counted as certconfig's "Remaining" counts
// them (pki.CertInfo.DaysLeft), so an alert at "7 days" meets a list that
// says "7 days".
//
// The thresholds are alertconfig WARNDAYS' N (default 30), then 7 and 1
// where they are below N (config.Alerts.CertExpiryThresholds), read from
// the running configuration at every check, so a commit changes them
// without a restart. A threshold already alerted for a certificate is not
// sent again when N changes: raising N above the days left after the 7
// day alert sends nothing more until 1.

// ExpiryOptions configure an Expiry watcher.
type ExpiryOptions struct {
	Head interface{ Head() store.Snapshot }
	Now  func() time.Time
	// StateFile remembers the alerts sent.
	StateFile string
	// Thresholds in days overrides the configuration's (tests).
	Thresholds []int
	// Alert sends one System alert.
	Alert func(severity, subject, text string) error
}

// Expiry watches certificate expiry.
type Expiry struct {
	opts ExpiryOptions
	mu   sync.Mutex
	// sent maps a certificate's SHA-256 fingerprint to the lowest
	// threshold alerted for it.
	sent map[string]int
	// dirty is sent changed since the state file was last written: every
	// commit runs Check, and rewriting (and fsyncing) an unchanged file
	// each time was part of the commit cost (issue 13's benchmark).
	dirty bool

	// leaves caches each certificate's facts by fingerprint, the
	// certificates of the last list only: parsing every certificate at
	// every commit was most of Check's cost.
	leafMu sync.Mutex
	leaves map[string]leafFacts
}

// leafFacts is what the list needs of one certificate PEM; ok is false
// for a PEM that does not parse (left out of the list).
type leafFacts struct {
	info pki.CertInfo
	ok   bool
}

// CertExpiry is one certificate of the status page's list.
type CertExpiry struct {
	Profile, CommonName string
	NotAfter            time.Time
	DaysLeft            int
	Expired             bool
}

// NewExpiry loads what was already sent.
func NewExpiry(o ExpiryOptions) (*Expiry, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Thresholds = append([]int(nil), o.Thresholds...)
	e := &Expiry{opts: o, sent: map[string]int{}, leaves: map[string]leafFacts{}}
	b, err := os.ReadFile(o.StateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("expiry alerts: %w", err)
	default:
		if err := json.Unmarshal(b, &e.sent); err != nil {
			return nil, fmt.Errorf("expiry alerts: %s: %w", o.StateFile, err)
		}
	}
	return e, nil
}

// List is every certificate profile by days left, fewest first.
func (e *Expiry) List() []CertExpiry {
	listed := e.list(e.opts.Head.Head().Config)
	out := make([]CertExpiry, len(listed))
	for i, l := range listed {
		out[i] = l.CertExpiry
	}
	return out
}

// listedCert is one entry of the list with its certificate's fingerprint.
type listedCert struct {
	CertExpiry
	fp string
}

// list is cfg's certificate profiles by days left, fewest first; a
// certificate is parsed only the first time it is seen.
func (e *Expiry) list(cfg *config.Config) []listedCert {
	now := e.opts.Now()
	e.leafMu.Lock()
	seen := make(map[string]leafFacts, len(cfg.Certificates))
	var out []listedCert
	for _, ct := range cfg.Certificates {
		fp := fingerprint(ct.CertPEM)
		f, ok := e.leaves[fp]
		if !ok {
			leaf, err := leafOf(ct)
			f = leafFacts{ok: err == nil}
			if err == nil {
				f.info = pki.Info(leaf)
			}
		}
		seen[fp] = f
		if !f.ok {
			continue
		}
		out = append(out, listedCert{fp: fp, CertExpiry: CertExpiry{Profile: ct.Name, CommonName: f.info.CommonName,
			NotAfter: f.info.NotAfter, DaysLeft: f.info.DaysLeft(now), Expired: f.info.Status(now) == pki.StatusExpired}})
	}
	e.leaves = seen
	e.leafMu.Unlock()
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].NotAfter.Equal(out[j].NotAfter) {
			return out[i].NotAfter.Before(out[j].NotAfter)
		}
		return out[i].Profile < out[j].Profile
	})
	return out
}

// Check sends the alerts that are due and records them. The state file
// is written only when what was sent changed.
func (e *Expiry) Check() error {
	cfg := e.opts.Head.Head().Config
	e.mu.Lock()
	defer e.mu.Unlock()
	thresholds := e.opts.Thresholds
	if len(thresholds) == 0 {
		thresholds = cfg.Alerts.CertExpiryThresholds()
	}
	live := map[string]bool{}
	var errs []error
	for _, c := range e.list(cfg) {
		live[c.fp] = true
		th, ok := e.due(thresholds, c.fp, c.DaysLeft)
		if !ok {
			continue
		}
		if err := e.send(cfg, c.CertExpiry, th); err != nil {
			errs = append(errs, err)
			continue
		}
		e.sent[c.fp], e.dirty = th, true
	}
	for fp := range e.sent {
		if !live[fp] {
			delete(e.sent, fp)
			e.dirty = true
		}
	}
	if e.dirty {
		if err := e.save(); err != nil {
			errs = append(errs, err)
		} else {
			e.dirty = false
		}
	}
	return errors.Join(errs...)
}

// due is the lowest threshold the days left have reached and that was
// not alerted yet for this certificate.
func (e *Expiry) due(thresholds []int, fp string, daysLeft int) (int, bool) {
	th, found := 0, false
	for _, t := range thresholds {
		if daysLeft <= t {
			th, found = t, true
		}
	}
	if !found {
		return 0, false
	}
	if last, ok := e.sent[fp]; ok && last <= th {
		return 0, false
	}
	return th, true
}

func (e *Expiry) send(cfg *config.Config, c CertExpiry, th int) error {
	severity := config.SeverityWarning
	if th <= 1 || c.Expired {
		severity = config.SeverityCritical
	}
	when := fmt.Sprintf("expires in %d days", c.DaysLeft)
	switch {
	case c.Expired:
		when = "has expired"
	case c.DaysLeft == 1:
		when = "expires in 1 day"
	case c.DaysLeft <= 0:
		when = "expires within a day"
	}
	subject := fmt.Sprintf("%s <System> %s: certificate profile %s %s", severity, cfg.Hostname, c.Profile, when)
	text := fmt.Sprintf("The %s message is:\r\n\r\nThe certificate of profile %s (%s) %s, on %s.\r\nRenew it, or let ACME renew it (certconfig), before services that use it fail.\r\n\r\nVersion: esash\r\nHostname: %s\r\n",
		severity, c.Profile, c.CommonName, when, c.NotAfter.UTC().Format("2006-01-02 15:04:05 UTC"), cfg.Hostname)
	return e.opts.Alert(severity, subject, text)
}

// save writes the memory atomically.
func (e *Expiry) save() error {
	b, err := json.Marshal(e.sent)
	if err != nil {
		return err
	}
	return writeFileAtomic(e.opts.StateFile, b)
}

// Run checks every interval and at each kick until ctx ends.
func (e *Expiry) Run(ctx context.Context, every time.Duration, kick <-chan struct{}, logf func(string, ...any)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.Check(); err != nil && logf != nil {
			logf("certificate expiry alerts: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

func fingerprint(certPEM string) string {
	s := sha256.Sum256([]byte(certPEM))
	return hex.EncodeToString(s[:])
}

// FailureAlert is the text of the alert a failed issuance or renewal
// raises.
func FailureAlert(host, profile string, err error, next time.Time) (subject, text string) {
	subject = fmt.Sprintf("Warning <System> %s: ACME renewal of certificate profile %s failed", host, profile)
	text = fmt.Sprintf("The Warning message is:\r\n\r\nThe appliance could not obtain a certificate for profile %s from its ACME certificate authority: %v\r\nThe current certificate stays in service; the next attempt is at %s.\r\n\r\nVersion: esash\r\nHostname: %s\r\n",
		profile, err, next.UTC().Format("2006-01-02 15:04:05 UTC"), host)
	return subject, text
}
