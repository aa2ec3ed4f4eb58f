package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"esash/acme"
	"esash/commands/certconfig"
	"esash/config"
	"esash/lifecycle"
	"esash/web"
)

// The ACME manager's and the expiry alerts' wiring (issue 15): both run
// where SSH and HTTPS run (the daemon, an interactive console), follow
// each commit through a prepare hook that kicks them when it is
// activated, and raise alerts through the MTA.
//
// Test knobs (environment): ESASH_ACME_HTTP_PORT is the port HTTP-01 is
// answered on (80: the CA always connects to 80), ESASH_ACME_RETRY the
// first back-off after a failure (1m), ESASH_ACME_RENEW the fraction of
// the lifetime after which a certificate is renewed (2/3),
// ESASH_EXPIRY_EVERY how often expiry is checked (1h).

// expiryStateFile remembers the expiry alerts sent, in the data directory.
const expiryStateFile = "expiry_alerts.json"

// acmeStateFile remembers the ACME failures and back-off, in the data
// directory, so a restart does not ask a failing CA again at once.
const acmeStateFile = "acme_state.json"

// acmeHook is the appliance's ACME manager and expiry watcher.
type acmeHook struct {
	mgr    *acme.Manager
	expiry *acme.Expiry
	kick   chan struct{} // the expiry watcher's
	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
}

// prepare kicks both after a commit is activated.
func (h *acmeHook) prepare(context.Context, *config.Config) (activate, abort func(), err error) {
	return func() {
		if h.mgr != nil {
			h.mgr.Kick()
		}
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}, func() {}, nil
}

// newACME builds the manager and the watcher (not running yet).
func (a *appliance) newACME(now func() time.Time) error {
	port, renew := 80, 0.0
	if v := os.Getenv("ESASH_ACME_HTTP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("ESASH_ACME_HTTP_PORT: %w", err)
		}
		port = p
	}
	if v := os.Getenv("ESASH_ACME_RENEW"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("ESASH_ACME_RENEW: %w", err)
		}
		renew = f
	}
	retry, err := envDuration("ESASH_ACME_RETRY")
	if err != nil {
		return err
	}
	a.acme.kick = make(chan struct{}, 1)
	a.acme.mgr = acme.New(acme.Options{Store: a.db, Prepare: a.prepare, Now: now, HTTPPort: port,
		RenewFraction: renew, RetryMin: retry, StateFile: filepath.Join(a.dir, acmeStateFile),
		Lease: a.acmeLease, CommitTo: a.acmeCommitTo,
		Log: func(format string, args ...any) { a.logs.system.Infof(format, args...) },
		Failed: func(profile string, err error, next time.Time) {
			cfg := a.db.Head().Config
			subject, text := acme.FailureAlert(cfg.Hostname, profile, err, next)
			a.systemAlert(config.SeverityWarning, subject, text)
		},
	})
	a.acme.expiry, err = acme.NewExpiry(acme.ExpiryOptions{Head: a.db, Now: now,
		StateFile: filepath.Join(a.dir, expiryStateFile),
		Alert: func(severity, subject, text string) error {
			return a.mtaH.SendSystemAlert(a.db.Head().Config, severity, subject, text)
		}})
	return err
}

func (a *appliance) systemAlert(severity, subject, text string) {
	if err := a.mtaH.SendSystemAlert(a.db.Head().Config, severity, subject, text); err != nil {
		a.cliLog.Warningf("alert: %v", err)
	}
}

// startACME runs the manager and the expiry watcher until Close.
func (a *appliance) startACME() error {
	every, err := envDuration("ESASH_EXPIRY_EVERY")
	if err != nil {
		return err
	}
	if every <= 0 {
		every = time.Hour
	}
	h := &a.acme
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.mgr.Run(ctx) }()
	go func() {
		defer wg.Done()
		h.expiry.Run(ctx, every, h.kick, func(f string, args ...any) { a.cliLog.Warningf(f, args...) })
	}()
	go func() { wg.Wait(); close(h.done) }()
	return a.services.Started("acme", lifecycle.CloserFunc(func(ctx context.Context) error {
		cancel()
		select {
		case <-h.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("acme: %w", ctx.Err())
		}
	}))
}

// acmeStatus is the manager's state of a profile for certconfig PRINT.
func (a *appliance) acmeStatus(profile string) (certconfig.ACMEStatus, bool) {
	st, ok := a.acmeState(profile)
	return certconfig.ACMEStatus(st), ok
}

// acmeState is the manager's state of a profile for the status page; not
// found while the manager does not run (scripts, -c).
func (a *appliance) acmeState(profile string) (web.ACMEState, bool) {
	a.acme.mu.Lock()
	running := a.acme.stop != nil
	a.acme.mu.Unlock()
	if !running {
		return web.ACMEState{}, false
	}
	for _, st := range a.acme.mgr.Status() {
		if st.Profile == profile {
			return web.ACMEState{State: st.State, NotAfter: st.NotAfter, LastError: st.LastError, NextAttempt: st.NextAttempt, FailedAt: st.FailedAt}, true
		}
	}
	return web.ACMEState{}, false
}

// webACME are the HTTPS service's hooks into the manager.
func (a *appliance) webACME() web.ACMEHooks {
	return web.ACMEHooks{
		Challenge: func(h *tls.ClientHelloInfo) (*tls.Certificate, bool) { return a.acme.mgr.TLSALPNCertificate(h) },
		HTTP:      a.acme.mgr.HTTPChallenge(),
		Status:    a.acmeState,
	}
}
