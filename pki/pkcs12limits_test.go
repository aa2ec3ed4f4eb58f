package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// rewriteInts re-encodes der with the INTEGERs equal to from replaced by
// to: the nth one only (counting from 0), or all when nth < 0. OCTET
// STRINGs that hold DER (the PKCS#12 safes) are rewritten inside too, and
// every enclosing length follows. It returns how many were replaced.
func rewriteInts(t *testing.T, der []byte, from, to, nth int) ([]byte, int) {
	t.Helper()
	seen := 0
	var walk func(b []byte) []byte
	walk = func(b []byte) []byte {
		var out []byte
		for len(b) > 0 {
			var v asn1.RawValue
			rest, err := asn1.Unmarshal(b, &v)
			if err != nil {
				return nil
			}
			b = rest
			switch {
			case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger:
				var n int
				if _, err := asn1.Unmarshal(v.FullBytes, &n); err == nil && n == from {
					if nth < 0 || seen == nth {
						v.FullBytes, _ = asn1.Marshal(to)
					}
					seen++
				}
			case v.IsCompound:
				if inner := walk(v.Bytes); inner != nil {
					v = asn1.RawValue{Class: v.Class, Tag: v.Tag, IsCompound: true, Bytes: inner}
				}
			case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
				if inner := walk(v.Bytes); inner != nil {
					v = asn1.RawValue{Class: v.Class, Tag: v.Tag, Bytes: inner}
				}
			}
			enc, err := asn1.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, enc...)
		}
		return out
	}
	out := walk(der)
	if out == nil {
		t.Fatal("rewriteInts: not DER")
	}
	return out, seen
}

// Issue 12, item 8: a PKCS#12 file names its own KDF iteration counts (MAC,
// certificate safe, key bag); 200 million took 26 s of CPU. They are
// capped as pasted PKCS#8 keys are, before any KDF runs.
func TestPKCS12IterationCap(t *testing.T) {
	defer func(n int) { maxPBKDF2Iterations = n }(maxPBKDF2Iterations)
	maxPBKDF2Iterations = 4096
	f := newPKCS12Fixture(t, ECDSAP256)
	const marker, over = 3001, 5000
	for _, enc := range []struct {
		name    string
		encoder *pkcs12.Encoder
		places  []string // where each iteration count sits, in file order
	}{
		// Modern2023: PBES2/PBKDF2 safes, HMAC-SHA-256 keyed by the
		// PKCS#12 KDF; Modern2026: the MAC is PBMAC1 (PBKDF2).
		{"modern", pkcs12.Modern2023.WithIterations(marker), []string{"certificate safe", "key bag", "MAC"}},
		{"pbmac1", pkcs12.Modern2026.WithIterations(marker), []string{"certificate safe", "key bag", "MAC"}},
		// LegacyDES: the PKCS#12 KDF of RFC 7292 appendix B everywhere.
		{"legacy", pkcs12.LegacyDES.WithIterations(marker), []string{"certificate safe", "key bag", "MAC"}},
	} {
		der, err := enc.encoder.Encode(f.key, f.leaf, []*x509.Certificate{f.inter}, "secret")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := DecodePKCS12(der, "secret"); err != nil {
			t.Fatalf("%s: a file under the cap: %v", enc.name, err)
		}
		for i, place := range enc.places {
			t.Run(enc.name+"/"+place, func(t *testing.T) {
				bad, n := rewriteInts(t, der, marker, over, i)
				if n != len(enc.places) {
					t.Fatalf("%d iteration counts found, want %d", n, len(enc.places))
				}
				_, _, _, _, err := DecodePKCS12(bad, "secret")
				if !errors.Is(err, ErrUnsupportedEncryption) || !strings.Contains(err.Error(), place) ||
					!strings.Contains(err.Error(), "5000") || !strings.Contains(err.Error(), "4096") {
					t.Fatalf("got %v, want the %s's iteration count 5000 refused (at most 4096)", err, place)
				}
			})
		}
	}
}
