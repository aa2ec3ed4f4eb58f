package config

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// SSL is sslconfig: the TLS versions and TLS 1.2 cipher suites of the
// three TLS services. An empty field is the default (DefaultSSL), so a
// configuration saved before sslconfig existed keeps today's behaviour.
type SSL struct {
	GUI      SSLService `json:"gui"`      // HTTPS of the web interface
	Inbound  SSLService `json:"inbound"`  // STARTTLS on the listeners
	Outbound SSLService `json:"outbound"` // STARTTLS when delivering
}

// SSLService is the setting of one service.
type SSLService struct {
	// Method is the TLS versions, their names joined in order as AsyncOS
	// 12 and later prints them: "tlsv1_2tlsv1_3".
	Method string `json:"method,omitempty"`
	// Ciphers is an OpenSSL cipher string for TLS 1.2 and earlier
	// (cipherlist.go); TLS 1.3 suites are not configurable.
	Ciphers string `json:"ciphers,omitempty"`
}

// The defaults are what esash did before sslconfig: TLS 1.2 and 1.3;
// servers offer the six forward-secret AEAD suites, the delivery client
// offers crypto/tls's default list (those six and the four ECDHE AES-CBC
// suites with SHA-1).
const (
	DefaultSSLMethod        = "tlsv1_2tlsv1_3"
	DefaultServerCiphers    = "ECDHE+AESGCM:ECDHE+CHACHA20"
	DefaultOutboundCiphers  = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES+SHA1"
	sslMethodAccepted       = "one or more consecutive TLS versions joined in order (tlsv1_0, tlsv1_1, tlsv1_2, tlsv1_3), such as tlsv1_2tlsv1_3"
	sslOldVersionsNeedSuite = "AES-GCM, CHACHA20 and SHA256 suites need TLS v1.2"
)

// DefaultSSL is the factory setting.
func DefaultSSL() SSL {
	server := SSLService{Method: DefaultSSLMethod, Ciphers: DefaultServerCiphers}
	return SSL{GUI: server, Inbound: server,
		Outbound: SSLService{Method: DefaultSSLMethod, Ciphers: DefaultOutboundCiphers}}
}

// Effective fills the fields left empty with the defaults.
func (s SSL) Effective() SSL {
	d := DefaultSSL()
	fill := func(v *SSLService, def SSLService) {
		if v.Method == "" {
			v.Method = def.Method
		}
		if v.Ciphers == "" {
			v.Ciphers = def.Ciphers
		}
	}
	fill(&s.GUI, d.GUI)
	fill(&s.Inbound, d.Inbound)
	fill(&s.Outbound, d.Outbound)
	return s
}

// TLSVersionChoice is one TLS version of the method list.
type TLSVersionChoice struct {
	Label   string // "TLS v1.2", as the method question lists it
	Method  string // "tlsv1_2", as the method value spells it
	Version uint16
}

// TLSVersionChoices are the versions crypto/tls implements, oldest first.
// SSL v2 and v3 are not among them: crypto/tls has neither.
func TLSVersionChoices() []TLSVersionChoice {
	return []TLSVersionChoice{
		{"TLS v1.0", "tlsv1_0", tls.VersionTLS10},
		{"TLS v1.1", "tlsv1_1", tls.VersionTLS11},
		{"TLS v1.2", "tlsv1_2", tls.VersionTLS12},
		{"TLS v1.3", "tlsv1_3", tls.VersionTLS13},
	}
}

// SSLMethod is the method value of the versions from index lo to hi of
// TLSVersionChoices.
func SSLMethod(lo, hi int) string {
	var b strings.Builder
	for _, v := range TLSVersionChoices()[lo : hi+1] {
		b.WriteString(v.Method)
	}
	return b.String()
}

// ParseSSLMethod returns the range of TLSVersionChoices a method value
// names; the versions must be consecutive.
func ParseSSLMethod(m string) (lo, hi int, err error) {
	choices := TLSVersionChoices()
	rest, lo, hi := m, -1, -1
	for rest != "" {
		found := false
		for i, v := range choices {
			if strings.HasPrefix(rest, v.Method) {
				if hi >= 0 && i != hi+1 {
					return 0, 0, fmt.Errorf("%q: the TLS versions must be consecutive and in order", m)
				}
				if lo < 0 {
					lo = i
				}
				hi, rest, found = i, rest[len(v.Method):], true
				break
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("%q is not a TLS method", m)
		}
	}
	if lo < 0 {
		return 0, 0, fmt.Errorf("the TLS method is empty")
	}
	return lo, hi, nil
}

// TLSPolicy is what one service's setting means to crypto/tls.
type TLSPolicy struct {
	MinVersion, MaxVersion uint16
	Suites                 []CipherSuite // TLS 1.2 and earlier
}

// Policy compiles the setting (empty fields are the defaults of def).
func (s SSLService) Policy(def SSLService) (TLSPolicy, error) {
	if s.Method == "" {
		s.Method = def.Method
	}
	if s.Ciphers == "" {
		s.Ciphers = def.Ciphers
	}
	lo, hi, err := ParseSSLMethod(s.Method)
	if err != nil {
		return TLSPolicy{}, err
	}
	suites, err := ParseCipherList(s.Ciphers)
	if err != nil {
		return TLSPolicy{}, err
	}
	v := TLSVersionChoices()
	return TLSPolicy{MinVersion: v[lo].Version, MaxVersion: v[hi].Version, Suites: suites}, nil
}

// GUIPolicy, InboundPolicy and OutboundPolicy compile each service.
func (s SSL) GUIPolicy() (TLSPolicy, error) { return s.GUI.Policy(DefaultSSL().GUI) }

// InboundPolicy compiles the listeners' setting.
func (s SSL) InboundPolicy() (TLSPolicy, error) { return s.Inbound.Policy(DefaultSSL().Inbound) }

// OutboundPolicy compiles the delivery setting.
func (s SSL) OutboundPolicy() (TLSPolicy, error) { return s.Outbound.Policy(DefaultSSL().Outbound) }

// ServerConfig is the tls.Config of a server under p, which the MTA and
// the web service complete with their certificates: the versions, the
// suites, and no session tickets (Outlook senders abort STARTTLS with
// them, and a resumed session would outlive a commit's new policy).
// crypto/tls never renegotiates as a server, whatever the client asks.
func (p TLSPolicy) ServerConfig() *tls.Config {
	c := &tls.Config{SessionTicketsDisabled: true}
	p.Apply(c)
	return c
}

// Apply sets p's versions and suites on c (the delivery client's config).
func (p TLSPolicy) Apply(c *tls.Config) {
	c.MinVersion, c.MaxVersion = p.MinVersion, p.MaxVersion
	c.CipherSuites = CipherSuiteIDs(p.Suites)
}

// CheckSSLService returns the problems of one service's setting: the
// field ("method" or "ciphers") and the message, or "" and "".
func CheckSSLService(s SSLService) (field, msg string) {
	lo, hi, err := ParseSSLMethod(s.Method)
	if err != nil {
		return "method", fmt.Sprintf("%v; accepted: %s", err, sslMethodAccepted)
	}
	suites, err := ParseCipherList(s.Ciphers)
	if err != nil {
		return "ciphers", fmt.Sprintf("%v; accepted: %s", err, CipherListAccepted)
	}
	v := TLSVersionChoices()
	if v[lo].Version >= tls.VersionTLS13 {
		return "", "" // TLS 1.3 only: the string is checked but not used
	}
	newest := min(v[hi].Version, tls.VersionTLS12)
	if !slices.ContainsFunc(suites, func(c CipherSuite) bool { return c.MinVersion() <= newest }) {
		return "ciphers", fmt.Sprintf("%q selects no suite that %s can use (%s); accepted: CBC suites such as ECDHE-RSA-AES128-SHA, or a method with TLS v1.2",
			s.Ciphers, strings.Join(labels(lo, hi), " or "), sslOldVersionsNeedSuite)
	}
	return "", ""
}

func labels(lo, hi int) []string {
	var out []string
	for _, v := range TLSVersionChoices()[lo : hi+1] {
		out = append(out, v.Label)
	}
	return out
}

// ssl is the commit check of sslconfig: each service's method and cipher
// string compile, and the suites suit the versions.
func (c *checker) ssl(cfg *Config) {
	eff := cfg.SSL.Effective()
	for _, svc := range []struct {
		path string
		s    SSLService
	}{{"ssl.gui", eff.GUI}, {"ssl.inbound", eff.Inbound}, {"ssl.outbound", eff.Outbound}} {
		if field, msg := CheckSSLService(svc.s); msg != "" {
			c.errf(svc.path+"."+field, "%s", msg)
			continue
		}
		if lo, _, _ := ParseSSLMethod(svc.s.Method); lo < 2 {
			c.warnf(svc.path+".method", "TLS v1.0 and v1.1 are deprecated (RFC 8996)")
		}
		if suites, _ := ParseCipherList(svc.s.Ciphers); slices.ContainsFunc(suites, func(s CipherSuite) bool { return s.Enc == enc3DES }) {
			c.warnf(svc.path+".ciphers", "3DES suites are weak (SWEET32); keep them only for senders that have nothing else")
		}
	}
}
