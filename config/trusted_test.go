package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func testCAPEM(t *testing.T, cn string) (string, *x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), c
}

// TestTrustedCAsPool: the pool holds what CERTAUTHORITY enables, and a
// custom entry without a certificate is named.
func TestTrustedCAsPool(t *testing.T) {
	customPEM, custom := testCAPEM(t, "custom")
	systemPEM, system := testCAPEM(t, "system")
	sys := func() (*x509.CertPool, error) {
		p := x509.NewCertPool()
		p.AppendCertsFromPEM([]byte(systemPEM))
		return p, nil
	}
	trusts := func(p *x509.CertPool, c *x509.Certificate) bool {
		_, err := c.Verify(x509.VerifyOptions{Roots: p})
		return err == nil
	}
	for _, tc := range []struct {
		name                   string
		cas                    TrustedCAs
		wantCustom, wantSystem bool
		wantErr                string
	}{
		{"both", TrustedCAs{SystemEnabled: true, CustomEnabled: true, Custom: []CA{{Name: "c", PEM: customPEM}}}, true, true, ""},
		{"system only", TrustedCAs{SystemEnabled: true, Custom: []CA{{Name: "c", PEM: customPEM}}}, false, true, ""},
		{"custom only", TrustedCAs{CustomEnabled: true, Custom: []CA{{Name: "c", PEM: customPEM}}}, true, false, ""},
		{"none", TrustedCAs{}, false, false, ""},
		{"damaged custom entry", TrustedCAs{CustomEnabled: true, Custom: []CA{{Name: "broken", PEM: "nothing"}}}, false, false, "certificate authority broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.cas.Pool(sys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Pool: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if trusts(p, custom) != tc.wantCustom || trusts(p, system) != tc.wantSystem {
				t.Errorf("custom %v system %v, want %v %v", trusts(p, custom), trusts(p, system), tc.wantCustom, tc.wantSystem)
			}
		})
	}
}
