package pki

import (
	"errors"
	"testing"
)

func TestKeyTypeString(t *testing.T) {
	tests := []struct {
		name string
		t    KeyType
		want string
	}{
		{"rsa2048", RSA2048, "2048"},
		{"rsa4096", RSA4096, "4096"},
		{"p256", ECDSAP256, "ECDSA P-256"},
		{"p384", ECDSAP384, "ECDSA P-384"},
		{"unknown", KeyType(42), "KeyType(42)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    KeyType
		wantErr bool
	}{
		{"string form 2048", "2048", RSA2048, false},
		{"string form 4096", "4096", RSA4096, false},
		{"string form p256", "ECDSA P-256", ECDSAP256, false},
		{"string form p384", "ECDSA P-384", ECDSAP384, false},
		{"openssl rsa", "rsa:4096", RSA4096, false},
		{"curve name", "prime256v1", ECDSAP256, false},
		{"secp384r1", "secp384r1", ECDSAP384, false},
		{"lower short", "p-256", ECDSAP256, false},
		{"padded", "  2048 ", RSA2048, false},
		{"rsa 1024", "1024", 0, true},
		{"ed25519", "ed25519", 0, true},
		{"empty", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeyType(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownKeyType) {
					t.Fatalf("ParseKeyType(%q) err = %v, want ErrUnknownKeyType", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseKeyType(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			// The String form must round-trip, since that is what the
			// CLI prints and stores.
			if back, err := ParseKeyType(got.String()); err != nil || back != got {
				t.Errorf("round trip of %v gave %v, %v", got, back, err)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	tests := []struct {
		name string
		t    KeyType
		desc string
	}{
		{"rsa2048", RSA2048, "RSA 2048"},
		{"rsa4096", RSA4096, "RSA 4096"},
		{"p256", ECDSAP256, "ECDSA P-256"},
		{"p384", ECDSAP384, "ECDSA P-384"},
	}
	other, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := GenerateKey(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if got := KeyDescription(key.Public()); got != tc.desc {
				t.Errorf("KeyDescription = %q, want %q", got, tc.desc)
			}
			cert, err := SelfSigned(key, Subject{CommonName: "mail.example.com"}, 1, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !KeyMatches(cert, key) {
				t.Error("KeyMatches(own cert) = false")
			}
			if KeyMatches(cert, other) {
				t.Error("KeyMatches(other key) = true")
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if k, err := GenerateKey(KeyType(9)); !errors.Is(err, ErrUnknownKeyType) || k != nil {
			t.Errorf("GenerateKey(9) = %v, %v", k, err)
		}
	})
	t.Run("nil inputs", func(t *testing.T) {
		if KeyMatches(nil, other) {
			t.Error("KeyMatches(nil cert) = true")
		}
	})
}
