package main

import (
	"context"
	"errors"
	"path/filepath"
	"sync"

	"esash/config"
	"esash/maillog"
	"esash/mta"
	"esash/mta/queue"
)

// Script mode (issue 14): a script run with no daemon (`esash -c
// 'showconfig'`, `esash < file`) opens the store, runs and leaves. It
// starts no MTA, SSH or HTTPS for its few milliseconds and writes no
// `Queue opened` / `MTA stopped` line into mail_logs. The commands that
// act on mail bring up what they need, and only then:
//
//   - showqueue, status and hoststatus read the queue itself (opened
//     read-mostly: no listener, no delivery, no log line);
//   - dnsstatus shows the DNS counters once the MTA runs, and says
//     Offline before (it does not start the MTA to show empty counters);
//   - mailconfig, delivernow, dnsflush and tlsverify open the MTA as the
//     daemon does (queue, counters, mail_logs, listeners of the committed
//     configuration) for the rest of the script.
//
// A commit from such a script is validated like any other and written to
// the store; no service runs to apply it, so none is asked (the commit
// check refuses what no service could take, such as a listener naming a
// deleted certificate). The daemon, or the next interactive console,
// boots from the store and so runs the committed configuration: nothing
// is lost and nothing is applied twice. A port that turns out to be taken
// at that boot is reported by the boot warning, as for any boot.

// mtaHandle is the MTA as the commands reach it: opened at start by the
// daemon and the interactive console, on first use by a script.
type mtaHandle struct {
	mu   sync.Mutex
	open func() (*mta.Server, error) // New and Boot, as at a daemon's start
	// queueDir is where a script reads the queue when no MTA is open.
	queueDir string
	srv      *mta.Server
	err      error
	q        *queue.Queue // the queue opened alone, for reading
	// stats counts the MTA's events once it runs (mailstats.go).
	stats mailStats
}

// server opens the MTA on first use; the error is kept, and returned to
// every later caller.
func (h *mtaHandle) server() (*mta.Server, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil || h.err != nil {
		return h.srv, h.err
	}
	if h.q != nil {
		// The queue belongs to one owner at a time: the MTA takes it over.
		h.q.Close()
		h.q = nil
	}
	h.srv, h.err = h.open()
	return h.srv, h.err
}

// opened is the MTA if it runs, nil otherwise.
func (h *mtaHandle) opened() *mta.Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.srv
}

// queue is the MTA's queue, or the queue opened alone when no MTA runs.
func (h *mtaHandle) queue() (*queue.Queue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		return h.srv.Queue(), nil
	}
	if h.q == nil {
		q, err := queue.Open(h.queueDir, queue.Options{})
		if err != nil {
			return nil, err
		}
		h.q = q
	}
	return h.q, nil
}

// Close closes the queue opened alone; the MTA is the supervisor's.
func (h *mtaHandle) Close(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.q != nil {
		err := h.q.Close()
		h.q = nil
		return err
	}
	return nil
}

// errNoMTA is a command that needs the MTA when it cannot open.
var errNoMTA = errors.New("the MTA cannot start")

// DeliverNow implements delivernow.Rescheduler.
func (h *mtaHandle) DeliverNow(domain string) int {
	srv, err := h.server()
	if err != nil {
		return 0
	}
	return srv.DeliverNow(domain)
}

// SubmitMessage implements mailconfig.Mailer.
func (h *mtaHandle) SubmitMessage(from string, to []string, msg []byte) (int64, error) {
	srv, err := h.server()
	if err != nil {
		return 0, errors.Join(errNoMTA, err)
	}
	return srv.SubmitMessage(from, to, msg)
}

// FlushDNS implements dnsflush.Flusher.
func (h *mtaHandle) FlushDNS() {
	if srv, err := h.server(); err == nil {
		srv.FlushDNS()
	}
}

// TLSVerify implements tlsverify.Verifier.
func (h *mtaHandle) TLSVerify(ctx context.Context, domain, host string, emit func(string)) bool {
	srv, err := h.server()
	if err != nil {
		emit("Unable to verify: " + err.Error())
		return false
	}
	return srv.TLSVerify(ctx, domain, host, emit)
}

func queueDir(dataDir string) string { return filepath.Join(dataDir, "queue") }

// startMTA opens the MTA as the appliance starts: now for the daemon and
// the interactive console, on first use for a script (o.script).
func (a *appliance) startMTA(o options) error {
	a.mtaH = &mtaHandle{queueDir: queueDir(o.dataDir), open: func() (*mta.Server, error) {
		srv, err := mta.New(mta.Options{DataDir: o.dataDir, LogDir: filepath.Join(o.dataDir, "logs"), Now: o.now,
			Delivery: mta.DeliveryOptions{Enabled: true}})
		if err != nil {
			return nil, err
		}
		a.services.Started("mta", srv)
		a.mta = srv
		a.mtaH.stats.follow(srv.Log(), o.now)
		a.bootErr = srv.Boot(context.Background(), a.db.Head().Config)
		return srv, nil
	}}
	a.mtaH.stats.queue = a.mtaH.queue
	// Registered first so that it closes last: the queue a script read.
	a.services.Started("queue", a.mtaH)
	if o.script {
		return nil
	}
	_, err := a.mtaH.server()
	return err
}

// prepareMTA readies the MTA for a commit when it runs; a script that
// did not open it has nothing to prepare (see the top of this file).
func (a *appliance) prepareMTA(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	if srv := a.mtaH.opened(); srv != nil {
		return srv.Prepare(ctx, cfg)
	}
	return func() {}, func() {}, nil
}

// mailLog is mail_logs while the MTA runs (tail and grep follow it), nil
// in a script that did not open the MTA (they read the files).
func (a *appliance) mailLog() *maillog.Log {
	if srv := a.mtaH.opened(); srv != nil {
		return srv.Log()
	}
	return nil
}

// STSReport implements destconfig.PolicyReporter. A lookup (tlsverify's
// question) opens the MTA as tlsverify does; DETAIL alone reads the
// running MTA's cache, and a script with no MTA shows none (its DETAIL
// stays read-only: it starts no service for it).
func (h *mtaHandle) STSReport(ctx context.Context, domain string, lookup bool, emit func(string)) {
	srv := h.opened()
	if srv == nil && lookup {
		var err error
		if srv, err = h.server(); err != nil {
			emit("MTA-STS: unable to look up the policy: " + err.Error())
			return
		}
	}
	if srv == nil {
		return
	}
	srv.STSReport(ctx, domain, lookup, emit)
}

// FetchCRL implements certconfig.CRLFetcher: a distribution point is
// fetched as the MTA fetches it (source interface, dnsconfig resolver),
// so a script brings the MTA up for it.
func (h *mtaHandle) FetchCRL(ctx context.Context, url string) ([]byte, error) {
	srv, err := h.server()
	if err != nil {
		return nil, errors.Join(errNoMTA, err)
	}
	return srv.FetchCRL(ctx, url)
}

// SendSystemAlert sends an alert of the System class (certificate expiry,
// ACME renewal failures) through the MTA, opening it in a script.
func (h *mtaHandle) SendSystemAlert(cfg *config.Config, severity, subject, text string) error {
	srv, err := h.server()
	if err != nil {
		return errors.Join(errNoMTA, err)
	}
	return srv.SendSystemAlert(cfg, severity, subject, text)
}
