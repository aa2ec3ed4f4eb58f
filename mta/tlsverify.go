package mta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"esash/config"
	"esash/pki"
)

// TLSVerify connects to host (a name or address, with an optional :port;
// empty means the domain's mail exchangers) like a Required - Verify
// delivery for domain would, without sending mail, and reports every step
// through emit. It returns whether TLS was negotiated and verified.
func (s *Server) TLSVerify(ctx context.Context, domain, host string, emit func(string)) bool {
	oc := s.outConfig()
	if oc == nil {
		emit("The configuration is not loaded.")
		return false
	}
	timeout := s.opts.Delivery.Timeout
	domain = config.NormalizeDomain(domain)
	if host == "" {
		host = domain
	}
	name, port := host, 25
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			emit(fmt.Sprintf("Invalid port %q.", p))
			return false
		}
		name, port = h, n
	}
	name = strings.Trim(name, "[]")
	res := resolverFor(oc.cfg)
	var tg []target
	if ip := net.ParseIP(name); ip != nil {
		tg = []target{{ip: ip.String(), port: port}}
	} else {
		lctx, cancel := context.WithTimeout(ctx, timeout)
		var err error
		if name == domain && port == 25 {
			tg, _, err = targets(lctx, res, config.NewRouteIndex(nil), domain, s.opts.Delivery.MXPort)
		} else {
			var ips []string
			ips, err = res.LookupHost(lctx, name)
			for _, ip := range ips {
				tg = append(tg, target{host: name, ip: ip, port: port})
			}
		}
		cancel()
		if err != nil || len(tg) == 0 {
			emit(fmt.Sprintf("Unable to resolve %s: %v", name, err))
			return false
		}
	}
	if name == domain && port == 25 {
		s.STSReport(ctx, domain, true, emit) // mtasts.go: the policy of MX delivery
	}
	for _, t := range tg {
		if s.verifyOne(ctx, oc, t, domain, emit) {
			return true
		}
		if ctx.Err() != nil {
			emit("TLS verification canceled.")
			return false
		}
	}
	emit("TLS verification failed.")
	return false
}

// verifyOne runs the steps against one address. When ctx ends the
// connection is closed, which ends whatever step is waiting on it.
func (s *Server) verifyOne(ctx context.Context, oc *outCache, t target, domain string, emit func(string)) bool {
	timeout := s.opts.Delivery.Timeout
	emit(fmt.Sprintf("Connecting to %s on port %d.", t.ip, t.port))
	// From the interface delivery would use (outiface.go).
	oi, err := deliveryIface(oc.cfg, oc.cfg.Delivery.Interface, t.ip)
	if err != nil {
		emit(fmt.Sprintf("Unable to connect to %s: %s.", t.ip, err))
		return false
	}
	helo := oi.helo
	d := net.Dialer{Timeout: timeout, LocalAddr: oi.local}
	nc, err := d.DialContext(ctx, "tcp", hostPort(t))
	if err != nil {
		emit(fmt.Sprintf("Unable to connect to %s: %s.", t.ip, connReason(err)))
		return false
	}
	defer context.AfterFunc(ctx, func() { nc.Close() })()
	from := nc.LocalAddr().(*net.TCPAddr).IP.String()
	emit(fmt.Sprintf("Connected to %s from interface %s.", t.ip, from))
	c := newSMTPConn(nc, timeout)
	defer c.close()
	g, err := c.read()
	if err != nil || g.Code != 220 {
		emit(fmt.Sprintf("Bad greeting: %v%v", g, errText(err)))
		return false
	}
	emit("Greeting: " + g.String())
	if _, err := c.ehlo(helo); err != nil {
		emit("EHLO failed: " + err.Error())
		return false
	}
	emit("EHLO " + helo)
	var exts []string
	for k, v := range c.ext {
		exts = append(exts, strings.TrimSpace(k+" "+v))
	}
	sortStrings(exts)
	for _, e := range exts {
		emit("  " + e)
	}
	emit("Checking TLS connection.")
	res, reason, _ := c.startTLS(oc.tls.config(t.host), timeout)
	if res != tlsOK {
		emit("TLS connection failed: " + reason + ".")
		if res == tlsRefused || res == tlsNotOffered {
			c.quit()
		}
		return false
	}
	emit("STARTTLS: 220")
	st := c.tls
	emit(fmt.Sprintf("TLS connection established: protocol %s, cipher %s.", versionName(st.Version), cipherName(st.CipherSuite)))
	ok := s.checkPeer(oc, st, t.host, domain, emit)
	c.quit()
	if ok {
		emit(fmt.Sprintf("TLS connection to %s succeeded.", t.ip))
		emit(fmt.Sprintf("TLS successfully connected to %s.", domain))
		emit("TLS verification completed.")
	}
	return ok
}

// checkPeer prints and checks the certificate chain a verified session
// would accept: trust, revocation and a name match (the MX host or the
// domain). It reports whether all three hold.
func (s *Server) checkPeer(oc *outCache, st *tls.ConnectionState, host, domain string, emit func(string)) bool {
	emit("Verifying peer certificate.")
	now := s.opts.Now()
	for i, crt := range st.PeerCertificates {
		emit(fmt.Sprintf("Certificate %d:", i))
		emit("  Subject: " + crt.Subject.String())
		emit("  Issuer:  " + crt.Issuer.String())
		emit(fmt.Sprintf("  Validity: %s to %s", crt.NotBefore.UTC().Format(time.RFC3339), crt.NotAfter.UTC().Format(time.RFC3339)))
		if now.Before(crt.NotBefore) || now.After(crt.NotAfter) {
			emit("  Not valid now.")
		}
	}
	roots := oc.tls.roots
	if roots == nil {
		roots = x509.NewCertPool()
	}
	ok := true
	if rep, err := pki.BuildChain(st.PeerCertificates[0], st.PeerCertificates[1:], roots, now); err != nil || !rep.Trusted {
		why := "unable to get local issuer certificate"
		if err != nil {
			why = err.Error()
		}
		emit("TLS certificate not verified: " + why + ".")
		ok = false
	} else if err := s.peerRevocation(st, roots, now); err != nil {
		emit("TLS certificate not verified: " + err.Error() + ".") // crl.go
		ok = false
	} else {
		emit("TLS certificate verified.")
	}
	matched := false
	for _, n := range []string{host, domain} {
		if n == "" {
			continue
		}
		emit(fmt.Sprintf("Verifying certificate common name %s.", n))
		if pki.VerifyHostname(st.PeerCertificates[0], n) == nil {
			emit("TLS certificate match " + n)
			matched = true
			break
		}
		emit("TLS certificate does not match " + n)
	}
	return ok && matched
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
