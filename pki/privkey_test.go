package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParsePrivateKeyPlain(t *testing.T) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(p8)
	mislabelled := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: blk.Bytes})
	cert, err := SelfSigned(key, Subject{CommonName: "a.example"}, 1, testNow)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{name: "pkcs8", in: p8},
		{name: "crlf and cert first", in: bytes.ReplaceAll(append(EncodeCertificatePEM(cert), p8...), []byte("\n"), []byte("\r\n"))},
		{name: "mislabelled", in: mislabelled},
		{name: "der", in: blk.Bytes},
		{name: "no key", in: EncodeCertificatePEM(cert), wantErr: ErrNoKey},
		{name: "empty", in: nil, wantErr: ErrNoKey},
		{name: "garbage key", in: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), wantErr: ErrMalformedKey},
		{name: "dsa label", in: pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: []byte{0x30, 0}}), wantErr: ErrUnsupportedKey},
		{name: "openssh", in: pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1")}), wantErr: ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tc.in, func() ([]byte, error) {
				t.Error("passphrase requested for an unencrypted key")
				return nil, nil
			})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !KeyMatches(cert, got) {
				t.Error("parsed key differs from the original")
			}
		})
	}
}

// TestParsePrivateKeyOpenSSL feeds ParsePrivateKey every format OpenSSL 3
// writes and checks the public half against "openssl pkey -pubout".
func TestParsePrivateKeyOpenSSL(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "genrsa", "-traditional", "-out", "rsa1.pem", "2048")
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "ec8.pem")
	openssl(t, dir, "genpkey", "-algorithm", "ed25519", "-out", "ed.pem")
	for _, base := range []string{"rsa1", "ec8"} {
		openssl(t, dir, "pkey", "-in", base+".pem", "-pubout", "-out", base+".pub")
	}

	const pass = "s3cret passphrase"
	pw := "pass:" + pass
	tests := []struct {
		name    string
		gen     []string // openssl arguments writing out.pem in dir
		base    string   // key whose public half must match
		header  string   // expected PEM label, guards against OpenSSL changing defaults
		enc     bool
		wantErr error
	}{
		{name: "rsa pkcs1 genrsa -traditional", base: "rsa1", header: "RSA PRIVATE KEY"},
		{name: "rsa pkcs8", gen: []string{"pkcs8", "-topk8", "-nocrypt", "-in", "rsa1.pem"}, base: "rsa1", header: "PRIVATE KEY"},
		{name: "ec pkcs8 genpkey", base: "ec8", header: "PRIVATE KEY"},
		{name: "ec sec1 openssl ec", gen: []string{"ec", "-in", "ec8.pem"}, base: "ec8", header: "EC PRIVATE KEY"},
		{name: "ec sec1 ecparam with params block", gen: []string{"ecparam", "-name", "prime256v1", "-genkey"}, header: "EC PARAMETERS"},
		{name: "rsa legacy pem aes256", gen: []string{"rsa", "-in", "rsa1.pem", "-aes256", "-traditional", "-passout", pw},
			base: "rsa1", header: "RSA PRIVATE KEY", enc: true},
		{name: "rsa legacy pem des3", gen: []string{"rsa", "-in", "rsa1.pem", "-des3", "-traditional", "-passout", pw},
			base: "rsa1", header: "RSA PRIVATE KEY", enc: true},
		{name: "ec legacy pem aes128", gen: []string{"ec", "-in", "ec8.pem", "-aes128", "-passout", pw},
			base: "ec8", header: "EC PRIVATE KEY", enc: true},
		{name: "pkcs8 v2 aes256", gen: []string{"pkcs8", "-topk8", "-v2", "aes256", "-in", "rsa1.pem", "-passout", pw},
			base: "rsa1", header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "pkcs8 v2 aes128 hmacWithSHA1", gen: []string{"pkcs8", "-topk8", "-v2", "aes128", "-v2prf", "hmacWithSHA1", "-in", "ec8.pem", "-passout", pw},
			base: "ec8", header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "pkcs8 v2 aes192 hmacWithSHA512", gen: []string{"pkcs8", "-topk8", "-v2", "aes192", "-v2prf", "hmacWithSHA512", "-in", "ec8.pem", "-passout", pw},
			base: "ec8", header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "pkcs8 v2 des3", gen: []string{"pkcs8", "-topk8", "-v2", "des3", "-in", "rsa1.pem", "-passout", pw},
			base: "rsa1", header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "genpkey -aes256", gen: []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", pw},
			header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "pkey -aes256", gen: []string{"pkey", "-in", "rsa1.pem", "-aes256", "-passout", pw},
			base: "rsa1", header: "ENCRYPTED PRIVATE KEY", enc: true},
		{name: "pkcs8 scrypt", gen: []string{"pkcs8", "-topk8", "-scrypt", "-in", "ec8.pem", "-passout", pw},
			header: "ENCRYPTED PRIVATE KEY", wantErr: ErrUnsupportedEncryption},
		{name: "pkcs8 v1 pbes1", gen: []string{"pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", "ec8.pem", "-passout", pw},
			header: "ENCRYPTED PRIVATE KEY", wantErr: ErrUnsupportedEncryption},
		{name: "ed25519", gen: []string{"pkey", "-in", "ed.pem"}, header: "PRIVATE KEY", wantErr: ErrUnsupportedKey},
		{name: "ed25519 encrypted", gen: []string{"pkey", "-in", "ed.pem", "-aes256", "-passout", pw},
			header: "ENCRYPTED PRIVATE KEY", enc: true, wantErr: ErrUnsupportedKey},
		{name: "rsa-pss", gen: []string{"genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"},
			header: "PRIVATE KEY", wantErr: ErrUnsupportedKey},
		{name: "secp256k1", gen: []string{"ecparam", "-name", "secp256k1", "-genkey", "-noout"},
			header: "EC PRIVATE KEY", wantErr: ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.base + ".pem"
			if tc.gen != nil {
				file = strings.NewReplacer(" ", "_", "-", "_").Replace(tc.name) + ".pem"
				openssl(t, dir, append(tc.gen, "-out", file)...)
			}
			data := readFile(t, dir, file)
			if !bytes.HasPrefix(data, []byte("-----BEGIN "+tc.header+"-----")) {
				t.Fatalf("openssl wrote %q, want a %s block", strings.SplitN(string(data), "\n", 2)[0], tc.header)
			}
			calls := 0
			key, err := ParsePrivateKey(data, func() ([]byte, error) {
				calls++
				return []byte(pass), nil
			})
			if wantCalls := map[bool]int{true: 1, false: 0}[tc.enc]; calls != wantCalls {
				t.Errorf("passphrase called %d times, want %d", calls, wantCalls)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.base == "" {
				// Compare against OpenSSL's view of the same file.
				args := []string{"pkey", "-in", file, "-pubout"}
				if tc.enc {
					args = append(args, "-passin", pw)
				}
				assertPublicKey(t, key, []byte(openssl(t, dir, args...)))
			} else {
				assertPublicKey(t, key, readFile(t, dir, tc.base+".pub"))
			}

			if !tc.enc {
				return
			}
			t.Run("wrong passphrase", func(t *testing.T) {
				_, err := ParsePrivateKey(data, func() ([]byte, error) { return []byte("not it"), nil })
				if !errors.Is(err, ErrBadPassphrase) {
					t.Errorf("err = %v, want ErrBadPassphrase", err)
				}
			})
			t.Run("no callback", func(t *testing.T) {
				if _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrPassphraseRequired) {
					t.Errorf("err = %v, want ErrPassphraseRequired", err)
				}
			})
			t.Run("callback fails", func(t *testing.T) {
				cancelled := errors.New("cancelled")
				if _, err := ParsePrivateKey(data, func() ([]byte, error) { return nil, cancelled }); !errors.Is(err, cancelled) {
					t.Errorf("err = %v, want the callback's error", err)
				}
			})
		})
	}
}

func assertPublicKey(t *testing.T, key crypto.Signer, pubPEM []byte) {
	t.Helper()
	blk, _ := pem.Decode(pubPEM)
	if blk == nil {
		t.Fatalf("no PEM public key in %q", pubPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		t.Error("public key differs from OpenSSL's")
	}
}

func TestEncodePrivateKeyPEM(t *testing.T) {
	for _, kt := range []KeyType{RSA2048, ECDSAP384} {
		t.Run(kt.String(), func(t *testing.T) {
			key, err := GenerateKey(kt)
			if err != nil {
				t.Fatal(err)
			}
			out, err := EncodePrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("not PKCS#8: %.40q", out)
			}
			back, err := ParsePrivateKey(out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(back.Public()) {
				t.Error("round trip changed the key")
			}
		})
	}
	if _, err := EncodePrivateKeyPEM(nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil key: err = %v", err)
	}
}
