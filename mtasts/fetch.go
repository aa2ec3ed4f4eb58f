package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The HTTPS fetch of a policy (RFC 8461 §3.3).

// MaxPolicySize is the largest policy body read (§3.3: senders SHOULD
// impose a limit of 64 KiB).
const MaxPolicySize = 64 << 10

// DefaultFetchTimeout bounds one fetch, connection to last byte (§3.3:
// a timeout of 60 seconds is suggested).
const DefaultFetchTimeout = 60 * time.Second

// Fetcher fetches policies over HTTPS.
type Fetcher struct {
	// Roots verify the policy host's certificate: the appliance's
	// system and custom CA lists (certconfig), as for delivery.
	Roots *x509.CertPool
	// Dial connects to host:port; the appliance resolves host through
	// dnsconfig's resolver and binds the delivery interface, as for any
	// outbound connection. nil is a plain net.Dialer (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Port is the HTTPS port (443; tests use another).
	Port int
	// Timeout bounds one fetch (DefaultFetchTimeout).
	Timeout time.Duration
}

// URL is the policy's address for domain.
func (f Fetcher) URL(domain string) string {
	host := "mta-sts." + domain
	if f.Port != 0 && f.Port != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(f.Port))
	}
	return "https://" + host + "/.well-known/mta-sts.txt"
}

// Fetch gets and parses domain's policy: the certificate must be valid
// for mta-sts.<domain> and chain to Roots; redirects are not followed
// and nothing is cached by HTTP (§3.3); the media type must be
// text/plain; the body is at most MaxPolicySize.
func (f Fetcher) Fetch(ctx context.Context, domain string) (Policy, error) {
	timeout := f.Timeout
	if timeout == 0 {
		timeout = DefaultFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := f.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr := &http.Transport{
		DialContext:       dial,
		TLSClientConfig:   &tls.Config{RootCAs: f.Roots, ServerName: "mta-sts." + domain, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
		Proxy:             nil,
		// A policy is small; headers beyond this are no policy server.
		MaxResponseHeaderBytes: 16 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	url := f.URL(domain)
	fail := func(format string, args ...any) (Policy, error) {
		return Policy{}, fmt.Errorf("%w: %s: %s", ErrFetch, url, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // without the "Get <url>:" prefix
		}
		return fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("HTTP status %d (redirects are not followed)", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return fail("media type %q, not text/plain", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return fail("%v", err)
	}
	if len(body) > MaxPolicySize {
		return fail("the policy is larger than %d bytes", MaxPolicySize)
	}
	p, err := Parse(string(body))
	if err != nil {
		return Policy{}, fmt.Errorf("%s: %w", url, err)
	}
	return p, nil
}
