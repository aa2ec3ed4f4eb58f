package mta

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"esash/mtasts"
	"esash/tlsrpt"
)

// TLS reporting (RFC 8460) on delivery, over esash/tlsrpt.
//
// open (deliver.go) reports each TLS session of an MX delivery (one whose
// destination setting, or policy, negotiates TLS: a delivery under TLS
// "No" has no TLS session to report) through
// tlsReport: a success once the policy's checks passed, else the failure
// by the RFC's result types; applySTS reports a policy that could not be
// fetched and an MX outside an enforced policy. Every
// MTASTSOptions.ReportInterval (a day) the period's counts go, per domain
// that publishes a _smtp._tls record, to each rua: mailto: through our
// own queue (SubmitMessage, like any message the appliance writes),
// https: by POST from the delivery interface through dnsconfig's resolver.
// The loop starts with the policy cache (with delivery). The
// counts of a period in progress are saved at shutdown in
// DATA/tlsrpt/pending.json and merged back at the next start.
//
// mail_logs, one line per report and address:
//
//	TLS-RPT report 20261205T200000Z.1.example.net for example.net (3 successful, 1 failed sessions) queued as MID 12 for tlsrpt@example.net
//	TLS-RPT report ... for example.net (...) posted to https://report.example.net/v1
//	TLS-RPT report ... for example.net not sent to https://...: <why>

// rptSession describes one session for tlsReport.
type rptSession struct {
	dom, ifIP string
	t         target
	dn        dane
}

// tlsReport records the outcome of one TLS session; result "" is a
// success. Deliveries by SMTP route are not the domain's MX: not counted.
func (s *Server) tlsReport(oc *outCache, x rptSession, result, info string) {
	if _, err := s.stsCache(); err != nil { // the recorder starts with it
		return
	}
	rec := s.sts.rec
	if r, ok := oc.routes.RouteFor(x.dom); ok && !r.UsesDNS() {
		return
	}
	rec.Record(tlsrpt.Session{Policy: s.rptPolicy(oc, x.dom, x.dn), Result: result, SendingIP: x.ifIP,
		MXHost: x.t.host, ReceivingIP: x.t.ip, Info: info})
}

// rptPolicy is the policy a session to dom ran under: DANE's, MTA-STS's
// or none.
func (s *Server) rptPolicy(oc *outCache, dom string, dn dane) tlsrpt.Policy {
	if dn.active() {
		var recs []string
		for _, r := range dn.records {
			recs = append(recs, fmt.Sprintf("%d %d %d %x", r.Usage, r.Selector, r.MatchingType, r.Data))
		}
		return tlsrpt.Policy{Type: tlsrpt.PolicyTLSA, Domain: dom, String: recs}
	}
	if c, err := s.stsCache(); err == nil && stsWhyNot(oc, oc.dest.Lookup(dom), dom) == "" {
		if r, _ := c.Peek(dom); r.Policy != nil && r.Policy.Mode != mtasts.ModeNone {
			return tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: dom, String: policyLines(r.Policy), MX: r.Policy.MX}
		}
	}
	return tlsrpt.Policy{Type: tlsrpt.PolicyNotFound, Domain: dom}
}

// policyLines is the policy as the report's policy-string: its lines.
func policyLines(p *mtasts.Policy) []string {
	out := []string{"version: STSv1", "mode: " + string(p.Mode)}
	for _, mx := range p.MX {
		out = append(out, "mx: "+mx)
	}
	return append(out, fmt.Sprintf("max_age: %d", p.MaxAge))
}

// Result types open reports without importing tlsrpt.
const (
	rptNoStartTLS = tlsrpt.StartTLSNotSupported
	rptBroken     = tlsrpt.ValidationFailure
)

// verifyResult maps a verification error of open to a result type.
func verifyResult(dn dane, verr error) string {
	msg := verr.Error()
	switch {
	case dn.active():
		return tlsrpt.TLSAInvalid
	case strings.Contains(msg, "name mismatch"):
		return tlsrpt.CertificateHostMismatch
	case strings.Contains(msg, "expired") || strings.Contains(msg, "not yet valid"):
		return tlsrpt.CertificateExpired
	case strings.Contains(msg, "chain not verified"):
		return tlsrpt.CertificateNotTrusted
	}
	return tlsrpt.ValidationFailure
}

// stsFetchResult maps why a policy could not be had to a result type.
func stsFetchResult(err error) string {
	if errors.Is(err, mtasts.ErrPolicy) {
		return tlsrpt.STSPolicyInvalid
	}
	if strings.Contains(err.Error(), "certificate") {
		return tlsrpt.STSWebPKIInvalid
	}
	return tlsrpt.STSPolicyFetchError
}

func (s *Server) rptDir() string { return filepath.Join(s.opts.DataDir, "tlsrpt") }

// startReports creates the recorder, merges the saved period and starts
// the report loop (from stsCache's once).
func (s *Server) startReports() {
	st := &s.sts
	st.rec = tlsrpt.NewRecorder(s.opts.Now())
	if b, err := os.ReadFile(filepath.Join(s.rptDir(), "pending.json")); err == nil {
		var p tlsrpt.Period
		if json.Unmarshal(b, &p) == nil {
			st.rec.Restore(p)
		}
		os.Remove(filepath.Join(s.rptDir(), "pending.json"))
	}
	interval := s.opts.MTASTS.ReportInterval
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	st.rptCtx, st.rptCancel = context.WithCancel(context.Background())
	st.rptStop = make(chan struct{})
	st.rptDone = make(chan struct{})
	go func() {
		defer close(st.rptDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-st.rptStop:
				return
			case <-t.C:
				s.sendReports()
			}
		}
	}()
}

// stopReports ends the loop and saves the period in progress.
func (s *Server) stopReports() {
	st := &s.sts
	if st.rec == nil {
		return
	}
	st.rptCancel()
	close(st.rptStop)
	<-st.rptDone
	p := st.rec.Take(s.opts.Now())
	if len(p.Domains) == 0 {
		return
	}
	b, err := json.Marshal(p)
	if err == nil {
		if err = os.MkdirAll(s.rptDir(), 0o700); err == nil {
			err = os.WriteFile(filepath.Join(s.rptDir(), "pending.json"), b, 0o600)
		}
	}
	if err != nil {
		s.errorf("TLS-RPT: the counts of the period in progress are lost: %v", err)
	}
}

// sendReports ends the period and sends each domain's report.
func (s *Server) sendReports() {
	oc := s.outConfig()
	if oc == nil {
		return
	}
	now := s.opts.Now()
	p := s.sts.rec.Take(now)
	doms := make([]string, 0, len(p.Domains))
	for d := range p.Domains {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for n, dom := range doms {
		if s.sts.rptCtx.Err() != nil {
			// Stopping: the domains not reported yet go back to the
			// period, which stopReports saves.
			rest := tlsrpt.Period{Start: p.Start, Domains: map[string][]tlsrpt.PolicyReport{}}
			for _, d := range doms[n:] {
				rest.Domains[d] = p.Domains[d]
			}
			s.sts.rec.Restore(rest)
			return
		}
		ctx, cancel := context.WithTimeout(s.sts.rptCtx, s.opts.Delivery.Timeout)
		txt, err := resolverFor(oc.cfg).LookupTXT(ctx, "_smtp._tls."+dom)
		var rua []string
		if err == nil {
			rua, err = tlsrpt.ParseRecord(txt)
		}
		if err == nil {
			s.sendReport(ctx, oc, dom, fmt.Sprintf("%s.%d.%s", now.UTC().Format("20060102T150405Z"), n+1, dom), p, rua)
		}
		cancel()
	}
}

// sendReport sends one domain's report to its addresses.
func (s *Server) sendReport(ctx context.Context, oc *outCache, dom, id string, p tlsrpt.Period, rua []string) {
	host := oc.cfg.Hostname
	rep := tlsrpt.Build(host, "postmaster@"+host, id, p, p.Domains[dom])
	gz, err := rep.Gzip()
	if err != nil {
		s.errorf("TLS-RPT report %s: %v", id, err)
		return
	}
	var ok, failed int
	for _, pr := range rep.Policies {
		ok, failed = ok+pr.Summary.Successful, failed+pr.Summary.Failed
	}
	what := fmt.Sprintf("TLS-RPT report %s for %s (%d successful, %d failed sessions)", id, dom, ok, failed)
	for _, u := range rua {
		if addr := tlsrpt.MailtoAddress(u); addr != "" {
			from := "postmaster@" + host
			mid, err := s.SubmitMessage(from, []string{addr}, tlsrpt.Mail(from, addr, dom, rep, gz, s.opts.Now()))
			if err != nil {
				s.log.Infof("%s not sent to %s: %v", what, u, err)
				continue
			}
			s.log.Infof("%s queued as MID %d for %s", what, mid, addr)
			continue
		}
		if !strings.HasPrefix(u, "https://") {
			continue
		}
		src := s.stsSourceFor(oc)
		client := &http.Client{Timeout: s.opts.Delivery.Timeout, Transport: &http.Transport{DialContext: src.dial,
			TLSClientConfig: &tls.Config{RootCAs: stsRoots(oc), MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
		if err := tlsrpt.Post(ctx, client, u, gz); err != nil {
			s.log.Infof("%s not sent to %s: %v", what, u, err)
			continue
		}
		s.log.Infof("%s posted to %s", what, u)
	}
}

// rptPolicyFailure records a policy that could not be had (no session).
func (s *Server) rptPolicyFailure(oc *outCache, dom, result, info string) {
	if _, err := s.stsCache(); err != nil {
		return
	}
	s.sts.rec.Record(tlsrpt.Session{Policy: tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: dom}, Result: result, Info: info})
}
