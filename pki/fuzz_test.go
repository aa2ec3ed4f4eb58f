package pki

import (
	"crypto"
	"testing"
)

// fuzzPassphrase matches the encrypted seeds in testdata/fuzz, so mutated
// inputs reach the decryption and post-decryption parsing code.
const fuzzPassphrase = "secret"

func FuzzParseCertificates(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil {
			if certs != nil {
				t.Fatalf("certificates returned with error %v", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		// Whatever we accept must survive our own encoder, since that is
		// how accepted uploads are stored.
		again, err := ParseCertificates(EncodeCertificatePEM(certs...))
		if err != nil {
			t.Fatalf("re-parsing our own output: %v", err)
		}
		if len(again) != len(certs) {
			t.Fatalf("round trip gave %d certificates, want %d", len(again), len(certs))
		}
		for i, c := range certs {
			if !c.Equal(again[i]) {
				t.Fatalf("certificate %d changed in round trip", i)
			}
			_ = Info(c)
			_ = VerifyHostname(c, "mail.example.com")
		}
		_, _ = BuildChain(certs[0], certs[1:], nil, testNow)
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	// A mutated iteration count would otherwise make single executions
	// take seconds and drown the fuzzer.
	defer func(n int) { maxPBKDF2Iterations = n }(maxPBKDF2Iterations)
	maxPBKDF2Iterations = 1 << 12

	f.Fuzz(func(t *testing.T, data []byte) {
		calls := 0
		key, err := ParsePrivateKey(data, func() ([]byte, error) {
			calls++
			return []byte(fuzzPassphrase), nil
		})
		if calls > 1 {
			t.Fatalf("passphrase requested %d times", calls)
		}
		if err != nil {
			if key != nil {
				t.Fatalf("key returned with error %v", err)
			}
			return
		}
		out, err := EncodePrivateKeyPEM(key)
		if err != nil {
			t.Fatalf("encoding an accepted key: %v", err)
		}
		back, err := ParsePrivateKey(out, nil)
		if err != nil {
			t.Fatalf("re-parsing our own output: %v", err)
		}
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(back.Public()) {
			t.Fatal("key changed in round trip")
		}
	})
}
