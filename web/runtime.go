package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"esash/config"
	"esash/pki"
)

// Service is what an endpoint serves.
type Service string

// Services of an endpoint.
const (
	HTTPS Service = "HTTPS"
	HTTP  Service = "HTTP"
)

// Endpoint is one address the web service is configured on.
type Endpoint struct {
	Interface string
	Service   Service
	Addr      netip.AddrPort
}

// Endpoints lists where cfg has HTTP or HTTPS enabled, IPv4 then IPv6
// address of each interface.
func Endpoints(cfg *config.Config) []Endpoint {
	var out []Endpoint
	for _, in := range cfg.Interfaces {
		for _, svc := range []struct {
			name Service
			s    config.Service
		}{{HTTPS, in.HTTPS}, {HTTP, in.HTTP}} {
			if !svc.s.Enabled || svc.s.Port <= 0 || svc.s.Port > 65535 {
				continue
			}
			for _, ip := range []string{in.IPv4, in.IPv6} {
				a, err := netip.ParseAddr(ip)
				if err != nil {
					continue
				}
				out = append(out, Endpoint{Interface: in.Name, Service: svc.name,
					Addr: netip.AddrPortFrom(a.Unmap(), uint16(svc.s.Port))})
			}
		}
	}
	return out
}

// endpoint is an Endpoint as the running configuration serves it.
type endpoint struct {
	Endpoint
	iface    config.Interface
	certName string
	cert     *tls.Certificate // HTTPS: leaf and intermediates
}

// runtime is one committed configuration as the service runs it.
type runtime struct {
	cfg       *config.Config
	guiTLS    config.TLSPolicy // sslconfig GUI
	endpoints map[netip.AddrPort]*endpoint
}

// build compiles cfg. Endpoints that cannot run are in bad with the
// reason; the others are in the runtime.
func build(cfg *config.Config) (*runtime, map[netip.AddrPort]error) {
	rt := &runtime{cfg: cfg, endpoints: map[netip.AddrPort]*endpoint{}}
	bad := map[netip.AddrPort]error{}
	guiTLS, policyErr := cfg.SSL.GUIPolicy()
	rt.guiTLS = guiTLS
	certs := map[string]config.Certificate{}
	for _, c := range cfg.Certificates {
		certs[c.Name] = c
	}
	ifaces := map[string]config.Interface{}
	for _, in := range cfg.Interfaces {
		ifaces[in.Name] = in
	}
	loaded := map[string]*tls.Certificate{}
	for _, e := range Endpoints(cfg) {
		in := ifaces[e.Interface]
		if prev, ok := rt.endpoints[e.Addr]; ok {
			bad[e.Addr] = fmt.Errorf("%s on interface %s: %s is already used by %s on interface %s",
				e.Service, e.Interface, e.Addr, prev.Service, prev.Interface)
			continue
		}
		ep := &endpoint{Endpoint: e, iface: in}
		if e.Service == HTTPS && policyErr != nil {
			bad[e.Addr] = fmt.Errorf("HTTPS on interface %s: ssl.gui: %w", in.Name, policyErr)
			continue
		}
		if e.Service == HTTPS {
			ct, ok := certs[in.HTTPSCert]
			if !ok {
				bad[e.Addr] = fmt.Errorf("HTTPS on interface %s: certificate profile %q does not exist", in.Name, in.HTTPSCert)
				continue
			}
			c := loaded[ct.Name]
			if c == nil {
				var err error
				if c, err = loadCertificate(ct); err != nil {
					bad[e.Addr] = fmt.Errorf("HTTPS on interface %s: certificate profile %s: %w", in.Name, ct.Name, err)
					continue
				}
				loaded[ct.Name] = c
			}
			ep.certName, ep.cert = ct.Name, c
		}
		rt.endpoints[e.Addr] = ep
	}
	return rt, bad
}

// loadCertificate is what a handshake serves for a certificate profile.
func loadCertificate(ct config.Certificate) (*tls.Certificate, error) {
	return pki.ServedCertificate(ct.CertPEM, ct.Intermediates, ct.KeyPEM)
}

// bindError says why an endpoint cannot listen, in the administrator's
// terms.
func bindError(e Endpoint, err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = fmt.Sprintf("port %d on %s is already in use", e.Addr.Port(), e.Addr.Addr())
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = fmt.Sprintf("address %s is not configured on this host", e.Addr.Addr())
	case errors.Is(err, syscall.EACCES):
		why = fmt.Sprintf("no permission to listen on port %d", e.Addr.Port())
	}
	return fmt.Errorf("%s on interface %s cannot listen on %s: %s", e.Service, e.Interface, e.Addr, why)
}
