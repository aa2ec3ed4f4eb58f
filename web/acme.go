package web

import (
	"crypto/tls"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"esash/config"
)

// ACMEHooks connect the daemon's ACME manager (package acme, which web
// does not import: it reaches the store) to the HTTPS service.
type ACMEHooks struct {
	// Challenge is the TLS-ALPN-01 certificate for a handshake offering
	// acme-tls/1 for a name with a pending challenge.
	Challenge func(*tls.ClientHelloInfo) (*tls.Certificate, bool)
	// HTTP answers /.well-known/acme-challenge/ on plain HTTP ports.
	HTTP http.Handler
	// Status is the manager's state of an ACME profile.
	Status func(profile string) (ACMEState, bool)
}

// ACMEState is what the status page shows of an ACME profile.
type ACMEState struct {
	State       string // pending, valid, failing
	NotAfter    time.Time
	LastError   string
	NextAttempt time.Time
	FailedAt    time.Time // when LastError happened (zero: not known, from a state file of an older version)
}

// acmeProtocol is TLS-ALPN-01's ALPN protocol (RFC 8737).
const acmeProtocol = "acme-tls/1"

// acmeTLS makes a handshake that offers acme-tls/1 for a pending
// challenge answer with the challenge certificate and that protocol only
// (RFC 8737 3): the validation connection carries no HTTP.
func (s *Server) acmeTLS(c *tls.Config, hello *tls.ClientHelloInfo) {
	if s.opts.ACME.Challenge == nil || !slices.Contains(hello.SupportedProtos, acmeProtocol) {
		return
	}
	cert, ok := s.opts.ACME.Challenge(hello)
	if !ok {
		return
	}
	c.NextProtos = []string{acmeProtocol}
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
}

// acmeHTTP answers an HTTP-01 request on a plain HTTP port.
func (s *Server) acmeHTTP(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ACME.HTTP == nil || !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		return false
	}
	s.opts.ACME.HTTP.ServeHTTP(w, r)
	return true
}

// acmeViews adds the ACME state to the certificates and lists them by
// days left, fewest first (issue 15: the list the expiry alerts follow);
// certificates that do not parse come first, they need attention most.
func (s *Server) acmeViews(cfg *config.Config, certs []certView) []certView {
	acme := map[string]bool{}
	for _, ct := range cfg.Certificates {
		acme[ct.Name] = ct.ACME.Enabled()
	}
	for i := range certs {
		c := &certs[i]
		if !acme[c.Name] {
			continue
		}
		st, ok := ACMEState{State: "pending (the ACME manager is not running)"}, false
		if s.opts.ACME.Status != nil {
			if got, found := s.opts.ACME.Status(c.Name); found {
				st, ok = got, true
			}
		}
		c.ACME = st.State
		if ok && !st.NotAfter.IsZero() {
			c.ACME += ", valid until " + st.NotAfter.UTC().Format("2006-01-02 15:04 MST")
		}
		if ok && !st.NextAttempt.IsZero() {
			c.ACME += ", next renewal " + st.NextAttempt.UTC().Format("2006-01-02 15:04 MST")
		}
		if st.LastError != "" {
			c.ACME += ", last error"
			if !st.FailedAt.IsZero() {
				c.ACME += " " + st.FailedAt.UTC().Format("2006-01-02 15:04 MST")
			}
			c.ACME += ": " + st.LastError
		}
	}
	sort.SliceStable(certs, func(i, j int) bool {
		a, b := certs[i], certs[j]
		if (a.Error != "") != (b.Error != "") {
			return a.Error != ""
		}
		return a.DaysLeft < b.DaysLeft
	})
	return certs
}
