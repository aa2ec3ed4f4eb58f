package config

import (
	"strings"
	"testing"
	"time"

	"esash/pki/crltest"
)

// TestValidateCRLs: the commit check refuses a bad name, a URL that is not
// http(s), a text that is no CRL and a list of a custom CA's name that
// this CA did not sign; an expired imported list is a warning.
func TestValidateCRLs(t *testing.T) {
	ca := crltest.NewCA(t, "Validate CA")
	impostor := crltest.NewCA(t, "Validate CA")
	good := ca.CRL(time.Time{}, time.Time{})
	expired := ca.CRL(time.Now().Add(-8*24*time.Hour), time.Now().Add(-24*time.Hour))
	undatedOld := ca.CRLWithoutNextUpdate(time.Now().Add(-8 * 24 * time.Hour))
	undatedNew := ca.CRLWithoutNextUpdate(time.Time{})
	for _, tc := range []struct {
		name  string
		crl   CRL
		want  string // "" valid
		error bool
	}{
		{"valid", CRL{Name: "ca", PEM: good}, "", false},
		{"valid url", CRL{Name: "ca", URL: "https://crl.example.com/ca.crl", PEM: good}, "", false},
		{"bad name", CRL{Name: "1ca", PEM: good}, "crls[1ca]: The value must begin with a letter", true},
		{"ftp url", CRL{Name: "ca", URL: "ftp://crl.example.com/ca.crl", PEM: good}, "crls[ca].url: The URL must begin with http:// or https://", true},
		{"user in url", CRL{Name: "ca", URL: "http://u:p@crl.example.com/ca.crl", PEM: good}, "crls[ca].url: The URL must not contain a user name or password.", true},
		{"not a CRL", CRL{Name: "ca", PEM: ca.CertPEM}, "crls[ca].crl: no PEM block of type X509 CRL", true},
		{"wrong CA", CRL{Name: "ca", PEM: impostor.CRL(time.Time{}, time.Time{})}, `crls[ca].crl: the CRL is not signed by the custom certificate authority "CN=Validate CA"`, true},
		{"expired", CRL{Name: "ca", PEM: expired}, "crls[ca].crl: the CRL of \"Validate CA\" was due for renewal on ", false},
		{"no nextUpdate, recent", CRL{Name: "ca", PEM: undatedNew}, "", false},
		{"no nextUpdate, past its lifetime", CRL{Name: "ca", PEM: undatedOld}, "crls[ca].crl: the CRL of \"Validate CA\" has no nextUpdate and was issued on ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := factory(t)
			cfg.CAs.Custom = []CA{{Name: "Validate CA", PEM: ca.CertPEM}}
			cfg.CRLs = []CRL{tc.crl}
			ps := Validate(cfg, time.Now())
			var found *Problem
			for _, p := range ps {
				if strings.HasPrefix(p.Path, "crls") {
					found = &p
				}
			}
			switch {
			case tc.want == "" && found != nil:
				t.Fatalf("unexpected problem: %v", found)
			case tc.want == "":
				return
			case found == nil || !strings.Contains(found.String(), tc.want):
				t.Fatalf("problems %v, want %q", ps, tc.want)
			case found.Warning == tc.error:
				t.Fatalf("%v: warning = %v", found, found.Warning)
			}
		})
	}
}
