package mta

import (
	"context"
	"errors"
	"net"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
)

// Opening a delivery connection, in the order it happens: the DANE
// verdict and the interface, the connection slots (limits.go), the TCP
// connection from the appliance interface, greeting and EHLO, then the
// destination's TLS policy (secure). Each step that ends the attempt sets
// the recipients' outcome and says whether the next target may be tried.

// opening is one attempt at a new connection to t for m's recipients rids.
type opening struct {
	oc      *outCache
	dc      config.DestControl
	m       queue.Meta
	dom     string
	t       target
	rids    []int
	results []outcome
	dn      dane
	oi      outIface
	ifErr   error
	mode    config.TLSOut // the TLS setting this connection runs under
	out     *outConn      // once connected
}

// open connects to t and applies the destination's TLS policy. It returns
// nil when the attempt ended there (ok as attempt's result).
func (s *Server) open(oc *outCache, dc config.DestControl, m queue.Meta, dom string, t target, rids []int, results []outcome) (*outConn, bool) {
	x := &opening{oc: oc, dc: dc, m: m, dom: dom, t: t, rids: rids, results: results}
	x.dn = s.daneFor(oc, dc, t) // dane.go: TLSA records make TLS mandatory
	if x.dn.refuse != "" {
		return s.daneRefused(x.dn, m, rids, results)
	}
	x.oi, x.ifErr = deliveryIface(oc.cfg, ifaceSetting(oc.cfg, m), t.ip)
	tlsSlot, ok := s.reserveSlots(x)
	if !ok {
		setAll(results, rids, outcome{res: rcptWaiting})
		return nil, true
	}
	if ok := s.dial(x, tlsSlot); !ok {
		return nil, false
	}
	if x.out == nil {
		return nil, true
	}
	if err := s.greet(x); err != nil {
		return nil, false
	}
	if x.mode.On() {
		return s.secure(x)
	}
	return x.out, true
}

// reserveSlots takes the connection slot for x's domain and, when TLS is
// on, a TLS slot. deliveryconfig's TLS concurrency: when it is used up, a
// destination that prefers TLS goes on in clear if fallback is on; others
// wait for a TLS slot, without connecting. false: the recipients wait.
func (s *Server) reserveSlots(x *opening) (tlsSlot, ok bool) {
	cfg := x.oc.cfg
	if !s.reserveConn(cfg, x.dc, x.dom) {
		return false, false
	}
	x.mode = x.dn.tlsMode(x.dc.TLS)
	if !x.mode.On() {
		return false, true
	}
	tlsSlot = s.reserveTLS(cfg)
	if !tlsSlot && (!cfg.Delivery.FallbackNoTLS || x.mode.Required()) {
		s.dlv.limits.unreserve(x.dom)
		return false, false
	}
	return tlsSlot, true
}

// dial connects to x.t from the appliance interface, never from an
// address the system would pick (outiface.go), and sets x.out. It returns
// false when the next target may be tried; x.out stays nil when the
// attempt ended otherwise. The slots are released on every failure.
func (s *Server) dial(x *opening, tlsSlot bool) bool {
	log, t := s.log, x.t
	release := func() {
		s.dlv.limits.release(x.dom)
		if tlsSlot {
			s.dlv.limits.releaseTLS()
		}
	}
	dcid, err := s.dlv.dcids.Next()
	if err != nil {
		s.errorf("DCID counter: %v", err)
		release()
		setAll(x.results, x.rids, outcome{rcptDeferred, "4.3.0", "internal error"})
		return true
	}
	if x.ifErr != nil {
		log.Infof("%s", maillog.ConnectionError(dcid, x.dom, t.ip, t.port, "connect", "0.0.0.0", x.ifErr.Error()))
		release()
		setAll(x.results, x.rids, outcome{rcptDeferred, "4.4.1", "unable to connect: " + x.ifErr.Error()})
		return false
	}
	timeout := s.opts.Delivery.Timeout
	dialer := net.Dialer{Timeout: timeout, LocalAddr: x.oi.local}
	ifIP := x.oi.ip()
	nc, err := dialer.DialContext(s.dlv.ctx, "tcp", hostPort(t))
	if err != nil {
		log.Infof("%s", maillog.ConnectionError(dcid, x.dom, t.ip, t.port, "connect", ifIP, connReason(err)))
		release()
		setAll(x.results, x.rids, outcome{rcptDeferred, "4.4.1", "unable to connect: " + connReason(err)})
		return false
	}
	log.Infof("%s", maillog.NewDCID(dcid, ifIP, t.ip, t.port))
	// Shutting down cuts the connection; the message stays queued.
	x.out = &outConn{c: newSMTPConn(nc, timeout), dcid: dcid, ifIP: ifIP, dom: x.dom, tlsSlot: tlsSlot,
		stopCut: context.AfterFunc(s.dlv.ctx, func() { nc.Close() })}
	return true
}

// connFailed ends x's connection after an error at stage: the recipients
// are deferred and the next target may be tried.
func (s *Server) connFailed(x *opening, stage string, err error) {
	out, t := x.out, x.t
	s.log.Infof("%s", maillog.ConnectionError(out.dcid, x.dom, t.ip, t.port, stage, out.ifIP, err.Error()))
	setAll(x.results, x.rids, outcome{rcptDeferred, "4.4.2", err.Error()})
	s.closeOut(out)
}

// deferOpen ends x's connection with the recipients deferred by the TLS
// policy (code, text): the attempt has its outcome.
func (s *Server) deferOpen(x *opening, code, text string) (*outConn, bool) {
	s.log.Infof("%s", maillog.Delayed(x.out.dcid, x.m.MID, ridsOf(x.m, x.rids), code, text))
	setAll(x.results, x.rids, outcome{rcptDeferred, code, text})
	s.closeOut(x.out)
	return nil, true
}

// greet reads the greeting and says EHLO; on an error the connection is
// closed (connFailed). Without the TLS slot it asked for, a connection
// that prefers TLS goes on in clear, and says so.
func (s *Server) greet(x *opening) error {
	c := x.out.c
	greeting, err := c.read()
	if err == nil && greeting.Code != 220 {
		c.quit()
		err = &replyError{greeting}
	}
	if err != nil {
		s.connFailed(x, "greeting", err)
		return err
	}
	if _, err := c.ehlo(x.oi.helo); err != nil {
		s.connFailed(x, "EHLO", err)
		return err
	}
	if x.mode.On() && !x.out.tlsSlot {
		s.log.Infof("%s", maillog.DCIDTLSFailed(x.out.dcid, "system-wide TLS concurrency limit reached; delivering without TLS"))
		x.mode = config.TLSOutNo
	}
	return nil
}

// secure applies the destination's TLS policy to x's connection:
// STARTTLS, the policy's verification, EHLO again. It returns open's
// result.
func (s *Server) secure(x *opening) (*outConn, bool) {
	out := x.out
	c := out.c
	res, reason, tlsErr := c.startTLS(x.oc.tls.config(x.t.host), s.opts.Delivery.Timeout)
	if res != tlsOK {
		s.dlv.limits.releaseTLS()
		out.tlsSlot = false
	}
	rx := rptSession{dom: x.dom, ifIP: out.ifIP, t: x.t, dn: x.dn} // tlsrpt.go
	switch res {
	case tlsOK:
		if verr := s.verifyOut(x, rx); verr != nil {
			return s.deferOpen(x, "4.7.5", "TLS verification failed: "+verr.Error())
		}
		if _, err := c.ehlo(x.oi.helo); err != nil {
			s.connFailed(x, "EHLO", err)
			return nil, false
		}
		return out, true
	case tlsNotOffered, tlsRefused:
		s.tlsReport(x.oc, rx, rptNoStartTLS, reason)
		s.logNoTLS(x, res, reason, tlsErr)
		if x.mode.Required() {
			s.log.Infof("%s", maillog.DCIDTLSRequired(out.dcid, x.t.ip))
			c.quit()
			s.tlsAlert(x.oc.cfg, x.dom, reason)
			return s.deferOpen(x, "4.7.0", "TLS was required but could not be successfully negotiated: "+reason)
		}
		// Preferred: go on in clear on this connection.
		return out, true
	default: // tlsBroken
		s.tlsReport(x.oc, rx, rptBroken, reason)
		s.log.Infof("%s", maillog.DCIDTLSFailed(out.dcid, reason))
		if x.mode.Required() {
			s.log.Infof("%s", maillog.DCIDTLSRequired(out.dcid, x.t.ip))
			s.tlsAlert(x.oc.cfg, x.dom, reason)
		}
		return s.deferOpen(x, "4.7.0", "TLS negotiation failed: "+reason)
	}
}

// verifyOut applies the policy's verification to a TLS session (DANE's
// TLSA records, else the CA lists and revocation) and logs its outcome.
// "TLS success" only once the policy's checks passed: the seed guide
// counts TLS deliveries by that line. It returns the verification error
// when the destination requires TLS, so the connection is refused (after
// QUIT); Preferred - Verify goes on unverified.
func (s *Server) verifyOut(x *opening, rx rptSession) error {
	out := x.out
	c, dcid := out.c, out.dcid
	proto, cipher := versionName(c.tls.Version), cipherName(c.tls.CipherSuite)
	var verr error
	if x.mode.Verify() {
		verr = x.oc.tls.rootsErr
		if x.dn.active() {
			verr = x.dn.verify(s, dcid, c.tls, x.dom) // dane.go: TLSA, not the CA lists
		} else if verr == nil {
			_, verr = s.verifyPeerRevocation(c.tls, x.oc.tls.roots, s.opts.Now(), x.t.host, verifyDomain(x.t, x.dom))
		}
	}
	if verr == nil {
		s.log.Infof("%s", maillog.DCIDTLSSuccess(dcid, proto, cipher, x.dom))
		s.tlsReport(x.oc, rx, "", "")
		return nil
	}
	s.tlsReport(x.oc, rx, verifyResult(x.dn, verr), verr.Error())
	if !x.mode.Required() {
		s.log.Infof("%s", maillog.DCIDTLSUnverified(dcid, "verify error: "+verr.Error(), proto, cipher))
		return nil
	}
	s.log.Infof("%s", maillog.DCIDTLSFailed(dcid, "verify error: "+verr.Error()))
	s.log.Infof("%s", maillog.DCIDTLSRequired(dcid, x.t.ip))
	c.quit()
	s.tlsAlert(x.oc.cfg, x.dom, "verify error: "+verr.Error())
	return verr
}

// logNoTLS logs a STARTTLS that was not offered or was refused. A
// Preferred destination without STARTTLS has no TLS line: on AsyncOS a
// delivery without one was not over TLS.
func (s *Server) logNoTLS(x *opening, res startTLSResult, reason string, tlsErr error) {
	dcid, t := x.out.dcid, x.t
	var re *replyError
	switch {
	case res == tlsRefused && errors.As(tlsErr, &re):
		// The seed guide's lines for a 454 to STARTTLS.
		s.log.Infof("%s", maillog.ConnectionError(dcid, x.dom, t.ip, t.port, maillog.ReplyDetails(re.r.Code, re.r.Text), x.out.ifIP, "unexpected SMTP response"))
		s.log.Infof("%s", maillog.DCIDTLSFailed(dcid, "STARTTLS unexpected response"))
	case x.mode.Required():
		s.log.Infof("%s", maillog.DCIDTLSFailed(dcid, reason))
	}
}
