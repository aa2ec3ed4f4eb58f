// esash patch: tests of esash.go and the context checks (ESASH-PATCH.md).

package pkcs12

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"hash"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/pbkdf2"
)

// hugeIterations is esash's cap on a file's iteration counts: the most
// work a decode may be asked to do per derivation.
const hugeIterations = 10_000_000

// TestPBKDF2ContextMatchesXCrypto checks the interruptible PBKDF2 against
// the x/crypto one it replaces, around the check interval and for keys
// longer than one hash block.
func TestPBKDF2ContextMatchesXCrypto(t *testing.T) {
	cases := []struct {
		name   string
		h      func() hash.Hash
		iter   int
		keyLen int
	}{
		{"sha1 one iteration", sha1.New, 1, 20},
		{"sha1 two blocks", sha1.New, 2, 32},
		{"sha256 at the check interval", sha256.New, kdfCheckEvery, 32},
		{"sha256 one past the interval", sha256.New, kdfCheckEvery + 1, 32},
		{"sha256 three blocks", sha256.New, 2048, 80},
		{"sha512 short key", sha512.New, 10000, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pw, salt := []byte("sesame"), []byte("salt and pepper")
			want := pbkdf2.Key(pw, salt, c.iter, c.keyLen, c.h)
			got, err := pbkdf2Context(context.Background(), pw, salt, c.iter, c.keyLen, c.h)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("pbkdf2Context = %x, %v; want %x", got, err, want)
			}
		})
	}
}

// TestKDFsStopWhenCancelled runs each derivation for hugeIterations with a
// context that is cancelled before the call or while it runs: each must
// return context.Canceled rather than finish.
func TestKDFsStopWhenCancelled(t *testing.T) {
	kdfs := map[string]func(ctx context.Context) error{
		"PKCS#12 KDF": func(ctx context.Context) error {
			_, err := pbkdf(ctx, sha256Sum, 32, 64, []byte("salt"), []byte("\x00p\x00w\x00\x00"), hugeIterations, 3, 32)
			return err
		},
		"PBKDF2": func(ctx context.Context) error {
			_, err := pbkdf2Context(ctx, []byte("pw"), []byte("salt"), hugeIterations, 32, sha256.New)
			return err
		},
	}
	for name, kdf := range kdfs {
		t.Run(name+"/before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := kdf(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
		t.Run(name+"/during", func(t *testing.T) {
			if err := whileCancelling(kdf); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// whileCancelling runs f and cancels its context once f has started.
func whileCancelling(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	return <-done
}

// TestDecodeChainContext decodes a normal file through both entry points,
// then a file whose MAC asks for hugeIterations with a context cancelled
// before and during the decode.
func TestDecodeChainContext(t *testing.T) {
	key, cert := testKeyAndCert(t)
	pfx, err := Modern.Encode(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, c, _, err := DecodeChain(pfx, "pw"); err != nil || !c.Equal(cert) {
		t.Fatalf("DecodeChain: %v", err)
	}
	if _, c, _, err := DecodeChainContext(context.Background(), pfx, "pw"); err != nil || !c.Equal(cert) {
		t.Fatalf("DecodeChainContext: %v", err)
	}

	hostile := withMacIterations(t, pfx, hugeIterations)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := DecodeChainContext(ctx, hostile, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: err = %v, want context.Canceled", err)
	}
	err = whileCancelling(func(ctx context.Context) error {
		_, _, _, err := DecodeChainContext(ctx, hostile, "pw")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during: err = %v, want context.Canceled", err)
	}
}

// withMacIterations rewrites the MAC's iteration count (the MAC no longer
// verifies, but only after the whole derivation has run).
func withMacIterations(t *testing.T, pfxData []byte, n int) []byte {
	t.Helper()
	var pfx pfxPdu
	if err := unmarshal(pfxData, &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData.Iterations = n
	out, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testKeyAndCert(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "esash test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}
