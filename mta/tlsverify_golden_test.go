package mta

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"esash/config"

	"esash/internal/golden"
)

// What varies between runs of the tlsverify output, replaced by
// placeholders before the comparison with the goldens: loopback
// addresses and ports, dates, the TLS 1.3 cipher (Go's client puts AES
// or ChaCha20 first depending on the CPU, so it varies between machines;
// the test checks it is one of the three separately), and (should they
// ever be printed) fingerprints and serial numbers.
var tlsverifyNormalize = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`), "<DATE>"},
	{regexp.MustCompile(`\b(?:[0-9A-Fa-f]{2}:){15,}[0-9A-Fa-f]{2}\b`), "<FINGERPRINT>"},
	{regexp.MustCompile(`(?i)\b(serial(?: number)?:?\s*)(?:0x)?[0-9a-f:]+`), "${1}<SERIAL>"},
	{regexp.MustCompile(`(cipher )TLS_[A-Z0-9_]+`), "${1}<CIPHER>"},
	{regexp.MustCompile(`\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`), "<IP>"},
	{regexp.MustCompile(`(on port |<IP>:)\d+\b`), "${1}<PORT>"},
}

var tls13Cipher = regexp.MustCompile(`protocol TLSv1\.3, cipher TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)\.`)

func normalizeTLSVerify(s string) string {
	for _, n := range tlsverifyNormalize {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// goldenFile compares got with mta/testdata/<name>.golden; ESASH_UPDATE=1
// re-records it.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}

func TestNormalizeTLSVerify(t *testing.T) {
	in := "Connecting to 127.2.41.7 on port 40123.\n  Validity: 2026-11-26T22:50:45Z to 2026-11-28T21:50:45Z\n" +
		"Serial: 1f:0a:9b\nSHA256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\n" +
		"Connected to 127.2.41.7 from interface 127.3.41.1.\n" +
		"TLS connection established: protocol TLSv1.3, cipher TLS_AES_128_GCM_SHA256.\n"
	want := "Connecting to <IP> on port <PORT>.\n  Validity: <DATE> to <DATE>\n" +
		"Serial: <SERIAL>\nSHA256 <FINGERPRINT>\n" +
		"Connected to <IP> from interface <IP>.\n" +
		"TLS connection established: protocol TLSv1.3, cipher <CIPHER>.\n"
	if got := normalizeTLSVerify(in); got != want {
		t.Errorf("normalize:\n%s\nwant\n%s", got, want)
	}
}

// TestTLSVerifyPostfixGolden: the tlsverify steps (what the tlsverify
// command prints line by line) against a private Postfix receiver, with
// a certificate for pf.test signed by a CA of esash's custom list and its
// complete chain (good), the same without the intermediate (bad chain),
// and a complete chain for another name (bad name); the output, once
// normalised, is compared with mta/testdata/tlsverify_postfix_*.golden.
func TestTLSVerifyPostfixGolden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("a private Postfix instance needs root: run make test as root (CI does)")
	}
	postfix := needPeer(t, "postfix")
	p := newPKI(t)
	good := p.leaf(t, "pf", "pf.test")
	noInter := p.leaf(t, "pf", "pf.test")
	noInter.Intermediates = nil
	wrongName := p.leaf(t, "pf", "other.example")
	cases := []struct {
		name string
		cert config.Certificate
		ok   bool
	}{
		{"good", good, true},
		{"bad_chain", noInter, false},
		{"bad_name", wrongName, false},
	}
	cfg := outCfg(t, p, config.TLSOutRequiredVerify, nil)
	s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Enabled = false })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each case has its own Postfix instance
			ip := sinkIP()
			port := freePort(t, ip)
			startPostfixReceiver(t, postfix, ip, port, c.cert)
			waitFor(t, "postfix smtpd", func() bool {
				conn, err := dialTCP(fmt.Sprintf("%s:%d", ip, port))
				if err == nil {
					conn.Close()
				}
				return err == nil
			})
			var out []string
			ok := s.TLSVerify(context.Background(), "pf.test", hp(ip, port), func(l string) { out = append(out, l) })
			raw := strings.Join(out, "\n") + "\n"
			if ok != c.ok {
				t.Errorf("verdict %v, want %v\n%s", ok, c.ok, raw)
			}
			if !tls13Cipher.MatchString(raw) {
				t.Errorf("no TLS 1.3 cipher line:\n%s", raw)
			}
			got := normalizeTLSVerify(raw)
			if strings.Contains(got, ip) || strings.Contains(got, fmt.Sprint(port)) {
				t.Errorf("address or port left after normalising:\n%s", got)
			}
			goldenFile(t, "tlsverify_postfix_"+c.name, got)
		})
	}
}
