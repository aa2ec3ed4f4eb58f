package pki

import (
	"crypto/x509"
	"strings"
	"testing"
)

func FuzzDecodePKCS12(f *testing.F) {
	// A hostile iteration count would make single executions take seconds.
	defer func(n int) { maxPBKDF2Iterations = n }(maxPBKDF2Iterations)
	maxPBKDF2Iterations = 1 << 12
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		key, leaf, chain, _, err := DecodePKCS12(data, password)
		if err != nil {
			if key != nil || leaf != nil || chain != nil {
				t.Fatalf("results returned with error %v", err)
			}
			return
		}
		if !KeyMatches(leaf, key) {
			t.Fatal("leaf does not match the key")
		}
		// What we accept, we can write back out and read again.
		der, err := EncodePKCS12(key, leaf, chain, "again")
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		k2, l2, c2, legacy, err := DecodePKCS12(der, "again")
		if err != nil || legacy || !l2.Equal(leaf) || len(c2) != len(chain) || !KeyMatches(l2, k2) {
			t.Fatalf("round trip: err %v legacy %v", err, legacy)
		}
	})
}

func FuzzBuildChain(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil || len(certs) == 0 {
			return
		}
		// The last certificate of the bundle plays the trusted root.
		roots := x509.NewCertPool()
		roots.AddCert(certs[len(certs)-1])
		leaf, inters := certs[0], certs[1:]
		r, _ := BuildChain(leaf, inters, roots, testNow)
		if len(r.Path) == 0 || !r.Path[0].Equal(leaf) {
			t.Fatal("path does not start at the leaf")
		}
		for _, c := range append(append([]*x509.Certificate{}, r.Duplicates...), r.Unrelated...) {
			if !onPath(certs, c) {
				t.Fatal("a reported intermediate was not supplied")
			}
		}
		for _, c := range r.Intermediates() {
			if c.Equal(leaf) {
				t.Fatal("the leaf is among the intermediates to serve")
			}
		}
		for _, c := range r.Unrelated {
			if onPath(r.Path, c) {
				t.Fatal("an unrelated certificate is on the path")
			}
		}
	})
}

func FuzzDescribePEM(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		got := DescribePEM(text)
		if !strings.Contains(text, "-----BEGIN ") && got != "" {
			t.Fatalf("description %q of text without PEM", got)
		}
		if strings.Contains(got, "-----") {
			t.Fatalf("PEM armour in the description %q", got)
		}
		// No line of a key block's body may come through.
		blocks, err := decodePEM([]byte(text))
		if err != nil {
			return
		}
		for _, b := range blocks {
			if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
				continue
			}
			for _, l := range strings.Split(string(normalizePEM([]byte(text))), "\n") {
				if len(l) >= 16 && !strings.HasPrefix(l, "-----") && !strings.Contains(l, ":") && strings.Contains(got, l) {
					t.Fatalf("key text %q in the description %q", l, got)
				}
			}
		}
	})
}

func FuzzParseCSR(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if err != nil {
			if csr != nil {
				t.Fatal("request returned with error")
			}
			return
		}
		if csr.CheckSignature() != nil {
			t.Fatal("accepted a request with a bad signature")
		}
		_ = PublicKeyFingerprint(csr.PublicKey)
	})
}
