package pki

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Issue 12, item 8: the capped KDFs of a hostile PKCS#12 file are still
// seconds of CPU; they must stop when the administrator's session ends.
// Every iteration count is set to the cap (10 million), and the context
// is cancelled before the decode or while it runs: the decode must end
// with ErrStopped and context.Canceled, not run the derivations out (a
// file under the cap decodes; without the checks these would end with
// ErrBadPassphrase after seconds of work, the MAC no longer matching).
func TestDecodePKCS12StopsWhenContextEnds(t *testing.T) {
	f := newPKCS12Fixture(t, ECDSAP256)
	const marker = 3001
	for _, enc := range []struct {
		name    string
		encoder *pkcs12.Encoder
	}{
		// The MAC, derived first, runs the PKCS#12 KDF (modern) or
		// PBKDF2 (PBMAC1): both loops are covered.
		{"modern", pkcs12.Modern2023.WithIterations(marker)},
		{"pbmac1", pkcs12.Modern2026.WithIterations(marker)},
	} {
		der, err := enc.encoder.Encode(f.key, f.leaf, []*x509.Certificate{f.inter}, "secret")
		if err != nil {
			t.Fatal(err)
		}
		if _, leaf, _, _, err := DecodePKCS12Context(context.Background(), der, "secret"); err != nil || !leaf.Equal(f.leaf) {
			t.Fatalf("%s: a file under the cap: %v", enc.name, err)
		}
		hostile, _ := rewriteInts(t, der, marker, maxPBKDF2Iterations, -1)
		t.Run(enc.name+"/cancelled before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, _, _, _, err := DecodePKCS12Context(ctx, hostile, "secret")
			if !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want ErrStopped wrapping context.Canceled", err)
			}
		})
		t.Run(enc.name+"/cancelled during", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, _, _, err := DecodePKCS12Context(ctx, hostile, "secret")
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			cancel()
			if err := <-done; !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want ErrStopped wrapping context.Canceled", err)
			}
		})
	}
}
