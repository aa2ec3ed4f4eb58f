package config

import (
	"context"
	"crypto/tls"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func suiteNames(cs []CipherSuite) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

var sixAEAD = []string{
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}

func TestParseCipherList(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one name", "ECDHE-RSA-AES128-GCM-SHA256", []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		{"server default is the six AEAD suites", DefaultServerCiphers, sixAEAD},
		{"and of keywords", "ECDHE+AESGCM+aRSA", []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{"order of the string does not matter", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
			[]string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{"minus removes, a later add brings back", "ECDHE+AESGCM:-aECDSA:ECDHE-ECDSA-AES128-GCM-SHA256",
			[]string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{"bang removes for good", "ECDHE+AESGCM:!aECDSA:ECDHE-ECDSA-AES128-GCM-SHA256",
			[]string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{"plus only orders", "ECDHE+CHACHA20:+aRSA", []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}},
		{"kRSA", "kRSA:!3DES", []string{"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "AES128-SHA256"}},
		{"MEDIUM is 3DES", "MEDIUM", []string{"ECDHE-RSA-DES-CBC3-SHA", "DES-CBC3-SHA"}},
		{"AsyncOS default string", "MEDIUM:HIGH:-SSLv2:-aNULL:!RC4:@STRENGTH:-EXPORT", suiteNames(goSuites)},
		{"HIGH without RSA key exchange", "HIGH:!aNULL:!kRSA", append(slices.Clone(sixAEAD),
			"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
			"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256")},
		{"SHA256 is the CBC MAC, not GCM's PRF", "SHA256", []string{"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "AES128-SHA256"}},
		{"other separators", "ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384;AES128-SHA",
			[]string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "AES128-SHA"}},
		{"names crypto/tls lacks select nothing", "DHE-RSA-AES128-GCM-SHA256:CAMELLIA:AES128-SHA", []string{"AES128-SHA"}},
		{"SECLEVEL 3 drops RSA key exchange and 3DES", "ALL:@SECLEVEL=3", append(slices.Clone(sixAEAD),
			"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
			"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256")},
		{"DEFAULT leaves 3DES out", "DEFAULT:!kRSA:!SHA1:!SHA256", sixAEAD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCipherList(tc.in)
			if err != nil {
				t.Fatalf("ParseCipherList(%q): %v", tc.in, err)
			}
			if g := suiteNames(got); !slices.Equal(g, tc.want) {
				t.Errorf("ParseCipherList(%q)\n got %q\nwant %q", tc.in, g, tc.want)
			}
		})
	}
}

func TestParseCipherListErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", " : ", "the cipher string is empty"},
		{"only RC4", "RC4-SHA:RC4-MD5", `"RC4-SHA:RC4-MD5" selects no cipher suite this appliance supports`},
		{"everything removed", "HIGH:!HIGH", "selects no cipher suite"},
		{"typo", "ECDHE-RSA-AES128-GCM-SHA265", `unknown cipher or keyword "ECDHE-RSA-AES128-GCM-SHA265"`},
		{"case", "high", "case-sensitive: HIGH"},
		{"bang inside", "HIGH!aNULL", `"!" may only begin an element`},
		{"dangling plus", "ECDHE+", "'+' must join"},
		{"bare prefix", "HIGH:!", "must be followed"},
		{"DEFAULT later", "HIGH:DEFAULT", "DEFAULT may only open"},
		{"bad level", "HIGH:@SECLEVEL=9", "security level"},
		{"bad command", "HIGH:@FAST", "unknown command"},
		{"Suite B", "SUITEB128", `unknown cipher or keyword "SUITEB128"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCipherList(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseCipherList(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

// openSSLCiphers runs the installed OpenSSL on a cipher string and returns
// the names it selects at security level 0 (all it has), TLS 1.3 suites
// left out.
func openSSLCiphers(t *testing.T, s string) map[string]string {
	t.Helper()
	out, err := exec.Command("openssl", "ciphers", "-v", s+":@SECLEVEL=0").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl ciphers %q: %v\n%s", s, err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && !strings.HasPrefix(f[0], "TLS_") {
			got[f[0]] = strings.TrimRight(line, " ")
		}
	}
	return got
}

// TestCipherListMatchesOpenSSL compares the mapping with OpenSSL itself:
// for each string, the suites both know are selected by both or neither,
// and each suite is described as openssl ciphers -v describes it.
func TestCipherListMatchesOpenSSL(t *testing.T) {
	known := openSSLCiphers(t, "ALL:COMPLEMENTOFALL")
	for _, c := range goSuites {
		if line, ok := known[c.Name]; ok && line != c.Describe() {
			t.Errorf("describe %s:\n got %q\nwant %q", c.Name, c.Describe(), line)
		}
		if _, ok := known[c.Name]; !ok && c.Enc != enc3DES {
			t.Errorf("OpenSSL does not know %s", c.Name)
		}
	}
	for name := range known {
		if !otherSuites[name] && !slices.ContainsFunc(goSuites, func(c CipherSuite) bool { return c.Name == name }) {
			t.Errorf("OpenSSL suite %s is not in the name tables", name)
		}
	}
	for _, s := range []string{
		"ALL", "DEFAULT", "COMPLEMENTOFDEFAULT", "HIGH", "HIGH:!aNULL:!kRSA", "kRSA", "RSA", "aRSA", "ECDSA", "aECDSA",
		"ECDHE", "EECDH", "kECDHE", "ECDH", "kEECDH", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.2", "AES", "AES128", "AES256",
		"AESGCM", "CHACHA20", "CBC", "SHA", "SHA1", "SHA256", "SHA384", "ECDHE+AESGCM", "ECDHE+AES+SHA1",
		"ALL:-aRSA:AES128-SHA", "ALL:!aRSA:AES128-SHA", "ALL:+kRSA:@STRENGTH", "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA",
		"HIGH:!SHA1:!SHA256", "ALL:!ECDHE", "ALL:@SECLEVEL=3", "ALL:@SECLEVEL=4",
	} {
		t.Run(s, func(t *testing.T) {
			var want []string
			if !strings.Contains(s, "@SECLEVEL") {
				for name := range openSSLCiphers(t, s) {
					if slices.ContainsFunc(goSuites, func(c CipherSuite) bool { return c.Name == name }) {
						want = append(want, name)
					}
				}
			} else {
				out, err := exec.Command("openssl", "ciphers", "-s", "-tls1_2", s).Output()
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range strings.Split(strings.TrimSpace(string(out)), ":") {
					if slices.ContainsFunc(goSuites, func(c CipherSuite) bool { return c.Name == name }) {
						want = append(want, name)
					}
				}
			}
			got, err := ParseCipherList(s)
			if err != nil && len(want) > 0 {
				t.Fatalf("ParseCipherList: %v", err)
			}
			var g []string
			for _, c := range got {
				if _, ok := known[c.Name]; ok { // 3DES: not in this OpenSSL
					g = append(g, c.Name)
				}
			}
			slices.Sort(g)
			slices.Sort(want)
			if !slices.Equal(g, want) {
				t.Errorf("%q\n esash   %q\n openssl %q", s, g, want)
			}
		})
	}
}

// TestOutboundDefaultIsGoDefault proves the delivery default changes
// nothing: the suites a crypto/tls client offers with no CipherSuites are
// exactly those of DefaultOutboundCiphers.
func TestOutboundDefaultIsGoDefault(t *testing.T) {
	offered := make(chan []uint16, 1)
	srv, cli := net.Pipe()
	defer cli.Close()
	go func() {
		defer srv.Close()
		tls.Server(srv, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			offered <- h.CipherSuites
			return nil, errStopHandshake
		}}).Handshake()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tls.Client(cli, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}).HandshakeContext(ctx)
	var goDefault []uint16
	for _, id := range <-offered {
		if id != 0x00ff && id>>8 != 0x0a && id&0x0f0f != 0x0a0a { // SCSV and GREASE
			goDefault = append(goDefault, id)
		}
	}
	pol, err := DefaultSSL().Outbound.Policy(SSLService{})
	if err != nil {
		t.Fatal(err)
	}
	got := CipherSuiteIDs(pol.Suites)
	slices.Sort(got)
	slices.Sort(goDefault)
	if !slices.Equal(got, goDefault) {
		t.Errorf("default outbound suites %x, crypto/tls default %x", got, goDefault)
	}
}

type stopHandshake struct{}

func (stopHandshake) Error() string { return "stop" }

var errStopHandshake error = stopHandshake{}

func TestSSLMethod(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		lo, hi   int
		err      string
	}{
		{"default", DefaultSSLMethod, 2, 3, ""},
		{"TLS 1.3 only", "tlsv1_3", 3, 3, ""},
		{"all", "tlsv1_0tlsv1_1tlsv1_2tlsv1_3", 0, 3, ""},
		{"gap", "tlsv1_0tlsv1_2", 0, 0, "consecutive"},
		{"reversed", "tlsv1_3tlsv1_2", 0, 0, "consecutive"},
		{"SSL v3", "sslv3", 0, 0, "not a TLS method"},
		{"empty", "", 0, 0, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, err := ParseSSLMethod(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseSSLMethod(%q) = %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || lo != tc.lo || hi != tc.hi {
				t.Fatalf("ParseSSLMethod(%q) = %d, %d, %v", tc.in, lo, hi, err)
			}
			if m := SSLMethod(lo, hi); m != tc.in {
				t.Errorf("SSLMethod(%d, %d) = %q", lo, hi, m)
			}
		})
	}
}

func TestValidateSSL(t *testing.T) {
	for _, tc := range []struct {
		name string
		ssl  SSL
		want []string // paths of errors
		warn []string
	}{
		{"factory", DefaultSSL(), nil, nil},
		{"empty is the default", SSL{}, nil, nil},
		{"bad cipher string", SSL{Inbound: SSLService{Ciphers: "RC4-MD5"}}, []string{"ssl.inbound.ciphers"}, nil},
		{"bad method", SSL{GUI: SSLService{Method: "tlsv1_0tlsv1_2"}}, []string{"ssl.gui.method"}, nil},
		{"old versions with AEAD only", SSL{Outbound: SSLService{Method: "tlsv1_0tlsv1_1", Ciphers: "ECDHE+AESGCM"}},
			[]string{"ssl.outbound.ciphers"}, []string{}},
		{"TLS 1.3 only needs no TLS 1.2 suite", SSL{Inbound: SSLService{Method: "tlsv1_3", Ciphers: "ECDHE+AESGCM"}}, nil, nil},
		{"old versions warn", SSL{Inbound: SSLService{Method: "tlsv1_0tlsv1_1tlsv1_2", Ciphers: "HIGH:MEDIUM"}}, nil,
			[]string{"ssl.inbound.method", "ssl.inbound.ciphers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &checker{}
			c.ssl(&Config{SSL: tc.ssl})
			var errs, warns []string
			for _, p := range c.ps {
				if p.Warning {
					warns = append(warns, p.Path)
				} else {
					errs = append(errs, p.Path)
					if !strings.Contains(p.Msg, "accepted:") {
						t.Errorf("%s: %q does not say what is accepted", p.Path, p.Msg)
					}
				}
			}
			if !slices.Equal(errs, tc.want) {
				t.Errorf("errors at %q, want %q (%v)", errs, tc.want, c.ps)
			}
			if tc.warn != nil && !slices.Equal(warns, tc.warn) {
				t.Errorf("warnings at %q, want %q", warns, tc.warn)
			}
		})
	}
}

func FuzzParseCipherList(f *testing.F) {
	for _, s := range []string{DefaultServerCiphers, DefaultOutboundCiphers, "MEDIUM:HIGH:-SSLv2:-aNULL:!RC4:@STRENGTH:-EXPORT",
		"DEFAULT:!kRSA", "ALL:@SECLEVEL=3", "HIGH!aNULL", "+", "ECDHE+", "a:b,c;d e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseCipherList(s)
		if err != nil {
			if len(cs) != 0 {
				t.Fatalf("suites with an error")
			}
			return
		}
		if len(cs) == 0 {
			t.Fatalf("%q: no suites and no error", s)
		}
		seen := map[uint16]bool{}
		for _, c := range cs {
			if seen[c.ID] || tls.CipherSuiteName(c.ID) == "" {
				t.Fatalf("%q: bad suite %v", s, c)
			}
			seen[c.ID] = true
		}
		// A string of the names selected selects the same suites.
		again, err := ParseCipherList(strings.Join(suiteNames(cs), ":"))
		if err != nil || !slices.Equal(suiteNames(again), suiteNames(cs)) {
			t.Fatalf("%q: names %q select %q, %v", s, suiteNames(cs), suiteNames(again), err)
		}
	})
}
