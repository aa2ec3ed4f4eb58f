package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/challenge/tlsalpn01"
)

// challenges holds the answers of pending challenges: HTTP-01 tokens,
// served by a listener on port 80 of the interfaces that exists only
// while one is pending, and TLS-ALPN-01 certificates, which the HTTPS
// service hands out through TLSALPNCertificate.
type challenges struct {
	port   int
	mu     sync.Mutex
	tokens map[string]string // HTTP-01 path -> key authorization
	alpn   map[string]*tls.Certificate
	srv    []*http.Server
}

func newChallenges(port int) *challenges {
	return &challenges{port: port, tokens: map[string]string{}, alpn: map[string]*tls.Certificate{}}
}

// ServeHTTP answers /.well-known/acme-challenge/TOKEN while pending.
func (c *challenges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	ka, ok := c.tokens[r.URL.Path]
	c.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(ka))
}

// httpProvider is HTTP-01's challenge.Provider.
type httpProvider struct {
	c     *challenges
	addrs []string // interface addresses to listen on
}

func (p httpProvider) Present(_ context.Context, _, token, keyAuth string) error {
	p.c.mu.Lock()
	p.c.tokens[http01.ChallengePath(token)] = keyAuth
	p.c.mu.Unlock()
	return p.c.startHTTP(p.addrs)
}

func (p httpProvider) CleanUp(_ context.Context, _, token, _ string) error {
	p.c.mu.Lock()
	delete(p.c.tokens, http01.ChallengePath(token))
	empty := len(p.c.tokens) == 0
	p.c.mu.Unlock()
	if empty {
		p.c.stopHTTP()
	}
	return nil
}

// startHTTP listens on port 80 of every address unless it already does.
// An address whose port is taken (the HTTPS service's HTTP on port 80,
// which answers the same paths through ServeHTTP) is skipped; none at all
// is an error.
func (c *challenges) startHTTP(addrs []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.srv) > 0 {
		return nil
	}
	var errs []error
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(c.port)))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		c.srv = append(c.srv, srv)
	}
	if len(c.srv) == 0 {
		return errors.Join(append([]error{errors.New("http-01: no address to answer on")}, errs...)...)
	}
	return nil
}

func (c *challenges) stopHTTP() {
	c.mu.Lock()
	srv := c.srv
	c.srv = nil
	c.mu.Unlock()
	for _, s := range srv {
		s.Close()
	}
}

// alpnProvider is TLS-ALPN-01's challenge.Provider.
type alpnProvider struct{ c *challenges }

func (p alpnProvider) Present(_ context.Context, domain, _, keyAuth string) error {
	cert, err := tlsalpn01.ChallengeCert(domain, keyAuth)
	if err != nil {
		return err
	}
	p.c.mu.Lock()
	p.c.alpn[strings.ToLower(domain)] = cert
	p.c.mu.Unlock()
	return nil
}

func (p alpnProvider) CleanUp(_ context.Context, domain, _, _ string) error {
	p.c.mu.Lock()
	delete(p.c.alpn, strings.ToLower(domain))
	p.c.mu.Unlock()
	return nil
}

// TLSALPNProtocol is the ALPN protocol of TLS-ALPN-01 (RFC 8737).
const TLSALPNProtocol = tlsalpn01.ACMETLS1Protocol

// TLSALPNCertificate is the challenge certificate for a handshake that
// offers only acme-tls/1 for a name with a pending challenge; ok false
// for every other handshake, which the service answers as usual.
func (m *Manager) TLSALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, bool) {
	if !slices.Contains(hello.SupportedProtos, TLSALPNProtocol) {
		return nil, false
	}
	m.chal.mu.Lock()
	defer m.chal.mu.Unlock()
	cert, ok := m.chal.alpn[strings.ToLower(hello.ServerName)]
	return cert, ok
}

// HTTPChallenge answers HTTP-01 on a service that already listens on
// port 80 (web's HTTP).
func (m *Manager) HTTPChallenge() http.Handler { return m.chal }
