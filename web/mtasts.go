package web

import (
	"net"
	"net/http"
	"strings"
)

// The receiving side of MTA-STS (RFC 8461 §3.3): on every HTTPS endpoint
// the policy of mtastsconfig is served as
// https://mta-sts.<domain>/.well-known/mta-sts.txt for the configured
// domains only. The name is matched on the Host header and, when the client
// sent one, the SNI name, both case-insensitively; the two must agree (a
// request naming one host in the handshake and another in HTTP is not the
// policy host's). No login, no redirect (§3.3: senders follow none). A host
// that is a policy host answers nothing else (404): the administration
// pages are not served under another domain's name. Requests reach gui_logs
// through the server's Access hook like any other.

// mtaSTSPath is where senders fetch a policy (§3.3).
const mtaSTSPath = "/.well-known/mta-sts.txt"

// mtaSTS answers a request for a policy host, or for the policy path on any
// host; it reports whether it did.
func (s *Server) mtaSTS(w http.ResponseWriter, r *http.Request) bool {
	pol := s.rt.Load().cfg.MTASTSPolicy
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	policyHost := pol.Serves(host) && (r.TLS.ServerName == "" || strings.EqualFold(
		strings.TrimSuffix(r.TLS.ServerName, "."), strings.TrimSuffix(host, ".")))
	if !policyHost && r.URL.Path != mtaSTSPath {
		return false
	}
	if !policyHost || r.URL.Path != mtaSTSPath {
		http.NotFound(w, r)
		return true
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write([]byte(pol.Text()))
	}
	return true
}
