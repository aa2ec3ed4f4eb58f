package mta

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"esash/config"
)

// A destconfig client certificate that cannot be loaded is reported once
// per configuration, not silently left out of outbound TLS.
func TestOutboundClientCertificateErrorReported(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name    string
		profile func(config.Certificate) config.Certificate
		setting string
		want    string // in the error log; "" = none, and the certificate is offered
	}{
		{"loads", func(c config.Certificate) config.Certificate { return c }, "Client", ""},
		{"key does not match", func(c config.Certificate) config.Certificate { c.KeyPEM = keyPEM(t, newKey(t)); return c }, "Client",
			"outbound TLS offers no client certificate: destconfig client certificate: certificate profile Client: "},
		{"profile missing", func(c config.Certificate) config.Certificate { return c }, "Gone",
			`outbound TLS offers no client certificate: destconfig client certificate: certificate profile "Gone" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t, p, config.TLSInOff)
			ct := tc.profile(p.leaf(t, "Client", "client.test.local"))
			cfg.Certificates = append(cfg.Certificates, ct)
			cfg.Destinations.Certificate = tc.setting
			var mu sync.Mutex
			var logged []string
			s := startMTA(t, t.TempDir(), cfg, func(o *Options) {
				o.ErrorLog = func(format string, args ...any) {
					mu.Lock()
					defer mu.Unlock()
					logged = append(logged, fmt.Sprintf(format, args...))
				}
			})
			oc := s.outConfig()
			s.outConfig() // the same configuration: not reported twice
			mu.Lock()
			defer mu.Unlock()
			var reports []string
			for _, l := range logged {
				if strings.Contains(l, "client certificate") {
					reports = append(reports, l)
				}
			}
			if tc.want == "" {
				if len(reports) > 0 || oc.tls.clientCert == nil {
					t.Fatalf("reports %q, certificate %v", reports, oc.tls.clientCert != nil)
				}
				return
			}
			if len(reports) != 1 || !strings.HasPrefix(reports[0], tc.want) || oc.tls.clientCert != nil {
				t.Fatalf("reports %q, want one starting %q", reports, tc.want)
			}
		})
	}
}
