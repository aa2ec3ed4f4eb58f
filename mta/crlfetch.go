package mta

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"esash/config"
	"esash/pki"
)

// FetchCRL downloads the CRL at a distribution point (http or https) under
// the committed configuration: names resolved by dnsconfig, the connection
// from the interface the source rules pick, an https server verified
// against the trusted CA lists, at most pki.MaxCRLBytes within
// crlFetchTimeout, at most crlMaxRedirects redirects. certconfig's CRL
// URL uses it to check a distribution point before it is stored.
func (s *Server) FetchCRL(ctx context.Context, rawURL string) ([]byte, error) {
	if s == nil {
		return nil, errors.New("no MTA runs in this session")
	}
	rt := s.rt.Load()
	if rt == nil || rt.cfg == nil {
		return nil, errors.New("the appliance has no committed configuration yet")
	}
	return s.fetchCRL(ctx, rt.cfg, rawURL)
}

// fetchCRL is FetchCRL under cfg (the refreshers pass the configuration
// they were applied with, which activate publishes only after them).
func (s *Server) fetchCRL(ctx context.Context, cfg *config.Config, rawURL string) ([]byte, error) {
	if r := config.CheckCRLURL(rawURL); r != "" {
		return nil, errors.New(r)
	}
	roots, err := cfg.CAs.Pool(s.opts.SystemRoots)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         func(ctx context.Context, _, addr string) (net.Conn, error) { return dialFromInterface(ctx, cfg, addr) },
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: crlFetchTimeout,
		DisableKeepAlives:   true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: crlFetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > crlMaxRedirects {
				return fmt.Errorf("more than %d redirects", crlMaxRedirects)
			}
			if r := config.CheckCRLURL(req.URL.String()); r != "" {
				return fmt.Errorf("redirect to %s: %s", req.URL.Redacted(), r)
			}
			return nil
		}}
	ctx, cancel := context.WithTimeout(ctx, crlFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/pkix-crl, application/x-pkcs7-crl, */*")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The code and its standard text, not the server's reason
		// phrase: it reaches the operator's terminal (certconfig CRL
		// URL) and may carry control characters.
		return nil, fmt.Errorf("the server answered %s", strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))))
	}
	if resp.ContentLength > pki.MaxCRLBytes {
		return nil, fmt.Errorf("the CRL is larger than %d bytes", pki.MaxCRLBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, pki.MaxCRLBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > pki.MaxCRLBytes {
		return nil, fmt.Errorf("the CRL is larger than %d bytes", pki.MaxCRLBytes)
	}
	return data, nil
}

// dialFromInterface connects to addr (host:port) from the appliance
// interface the source rules pick for each of the host's addresses, in
// the resolver's order.
func dialFromInterface(ctx context.Context, cfg *config.Config, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, _, err = resolverFor(cfg).LookupIP(ctx, host); err != nil {
		return nil, err
	}
	var last error = fmt.Errorf("%s has no address", host)
	for _, ip := range ips {
		oi, err := deliveryIface(cfg, config.DeliveryAuto, ip.String())
		if err != nil {
			last = err
			continue
		}
		d := net.Dialer{LocalAddr: oi.local}
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}
