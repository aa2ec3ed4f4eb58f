package pki

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"hash"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pbkdf2Key gives crypto/pbkdf2's bytes: each PRF, at and past the
// check interval, keys longer than one hash.
func TestPBKDF2KeyMatchesStdlib(t *testing.T) {
	cases := []struct {
		name   string
		h      func() hash.Hash
		iter   int
		keyLen int
	}{
		{"sha1 one iteration", sha1.New, 1, 20},
		{"sha1 two blocks", sha1.New, 2, 32},
		{"sha256 at the check interval", sha256.New, pbkdf2CheckEvery, 32},
		{"sha256 one past the interval", sha256.New, pbkdf2CheckEvery + 1, 32},
		{"sha224 three blocks", sha256.New224, 2048, 70},
		{"sha512 short key", sha512.New, 10000, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			salt := []byte("salt and pepper")
			want, err := pbkdf2.Key(c.h, "sesame", salt, c.iter, c.keyLen)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pbkdf2Key(context.Background(), c.h, "sesame", salt, c.iter, c.keyLen)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("pbkdf2Key = %x, %v; want %x", got, err, want)
			}
		})
	}
}

// Issue 12, item 8: an encrypted PKCS#8 key asking for the cap of 10
// million PBKDF2 iterations is seconds of CPU; once the session's context
// ends (before or during the derivation), parsing stops with ErrStopped.
// Without the checks it would run out and fail on the padding
// (ErrBadPassphrase), the count having been rewritten.
func TestParsePrivateKeyStopsWhenContextEnds(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-v2", "aes256", "-iter", "3001", "-in", "ec.pem", "-passout", "pass:s3cret", "-out", "enc.pem")
	data, err := os.ReadFile(filepath.Join(dir, "enc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pw := func() ([]byte, error) { return []byte("s3cret"), nil }
	if _, err := ParsePrivateKeyContext(context.Background(), data, pw); err != nil {
		t.Fatalf("a key under the cap: %v", err)
	}
	b, _ := pem.Decode(data)
	der, n := rewriteInts(t, b.Bytes, 3001, maxPBKDF2Iterations, -1)
	if n != 1 {
		t.Fatalf("%d iteration counts found, want 1", n)
	}
	hostile := pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der})

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ParsePrivateKeyContext(ctx, hostile, pw)
		if !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want ErrStopped wrapping context.Canceled", err)
		}
	})
	t.Run("cancelled during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := ParsePrivateKeyContext(ctx, hostile, pw)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want ErrStopped wrapping context.Canceled", err)
		}
	})
}
