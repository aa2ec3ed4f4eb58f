package certconfig

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/pki/crltest"
	"esash/shell/shelltest"
)

// httpFetcher fetches a distribution point with net/http: the MTA's
// fetcher (source interface, limits) has its own tests in mta.
type httpFetcher struct{}

func (httpFetcher) FetchCRL(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server answered %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// crlEnv is an appliance on the real clock (openssl makes the lists while
// the test runs) that trusts ca, with files in its configuration
// directory.
func crlEnv(t *testing.T, ca *crltest.CA, files map[string][]byte) *env {
	t.Helper()
	demo := demoProfileFor(t, time.Now())
	a := shelltest.NewAppliance(t, shelltest.Options{Clock: time.Now, Demo: &demo}, New().WithCRLFetcher(httpFetcher{}))
	e := &env{Appliance: a, t: t, now: time.Now()}
	files["ca.pem"] = []byte(ca.CertPEM)
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(e.Dir, "configuration", n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, code, _ := e.script("certconfig\ncertauthority\ncustom\nimport\nca.pem\nN\n\n\n\ncommit ca\n")
	if code != 0 {
		t.Fatalf("trusting the CA: %d\n%s", code, out)
	}
	return e
}

// TestCRLDialog imports openssl-made lists as a file (PEM and DER), as a
// paste and from a distribution point, lists, prints and deletes them,
// and commits.
func TestCRLDialog(t *testing.T) {
	ca := crltest.NewCA(t, "Dialog CA")
	bad := ca.Issue("bad.example.com")
	ca.Revoke(bad)
	crlPEM := ca.CRL(time.Time{}, time.Time{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(ca.DER(crlPEM)) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/dialog.crl"
	e := crlEnv(t, ca, map[string][]byte{"dialog.pem": []byte(crlPEM), "dialog.crl": ca.DER(crlPEM)})

	in := lines("certconfig", "crl", "import", "dialog.pem", "",
		"import", "dialog.crl", "second",
		"paste", crlPEM, ".", "second", "Y",
		"url", url, "fetched",
		"print", "1", "delete", "second", "Y", "", "", "commit crl")
	out, code, _ := e.script(strings.Join(in, "\n") + "\n")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	serial := strings.ToUpper(fmt.Sprintf("%02x", bad.Cert.SerialNumber))
	for _, want := range []string{
		"No certificate revocation lists are configured.",
		`CRL Dialog_CA (from dialog.pem, signed by "Dialog CA") staged: 1 revoked certificate, next update `,
		`CRL second (from dialog.crl, signed by "Dialog CA") staged`,
		"CRL second already exists.",
		`CRL second (pasted, signed by "Dialog CA") staged`,
		`CRL fetched (from ` + url + `, signed by "Dialog CA") staged`,
		"Certificate Revocation Lists",
		"Serial " + serial + "  revoked ",
		"(Key Compromise)",
		"CRL second deleted: commit to stop checking certificates against it.",
		"Changes committed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	crls := e.DB.Head().Config.CRLs
	var names []string
	for _, c := range crls {
		names = append(names, c.Name+"="+c.URL)
	}
	if got := strings.Join(names, ","); got != "Dialog_CA=,fetched="+url {
		t.Fatalf("committed CRLs: %s", got)
	}
	if probs := config.Validate(e.DB.Head().Config, time.Now()); len(probs.Errors()) > 0 {
		t.Fatalf("committed configuration invalid: %v", probs)
	}

	// The batch forms.
	out, code, _ = e.script("certconfig crl list\ncertconfig crl print fetched\ncertconfig crl delete Dialog_CA\n")
	if code != 2 || !strings.Contains(out, "URL:         "+url) || !strings.Contains(out, "CRL Dialog_CA deleted") {
		t.Fatalf("batch: exit %d:\n%s", code, out)
	}
	out, code, _ = e.script("certconfig crl print nothing\n")
	if code != 1 || !strings.Contains(out, `there is no CRL "nothing".`) {
		t.Fatalf("batch print of a missing list: exit %d:\n%s", code, out)
	}
}

// TestCRLImportRefusals: a CRL signed by the wrong CA (another key under
// the trusted CA's name), one of an unknown CA, an expired one (by its
// nextUpdate, or without one by its age) and a file that is no CRL are
// refused at import, each with its message, and a
// script stops there with nothing staged.
func TestCRLImportRefusals(t *testing.T) {
	ca := crltest.NewCA(t, "Trusted CA")
	impostor := crltest.NewCA(t, "Trusted CA")
	stranger := crltest.NewCA(t, "Stranger CA")
	e := crlEnv(t, ca, map[string][]byte{
		"impostor.pem": []byte(impostor.CRL(time.Time{}, time.Time{})),
		"stranger.pem": []byte(stranger.CRL(time.Time{}, time.Time{})),
		"expired.pem":  []byte(ca.CRL(time.Now().Add(-8*24*time.Hour), time.Now().Add(-24*time.Hour))),
		"future.pem":   []byte(ca.CRL(time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))),
		"garbage.pem":  []byte(ca.CertPEM),
		"undated.pem":  []byte(ca.CRLWithoutNextUpdate(time.Now().Add(-8 * 24 * time.Hour))),
	})
	for _, tc := range []struct{ file, want string }{
		{"impostor.pem", `Cannot import CRL: it is not signed by the certificate authority "CN=Trusted CA": the signature does not verify with that CA's key.`},
		{"stranger.pem", `Cannot import CRL: its issuer "CN=Stranger CA" is not a certificate authority of this appliance. Import the CA first with CERTAUTHORITY > CUSTOM > IMPORT.`},
		{"expired.pem", "Cannot import CRL: it was due for renewal on "},
		{"future.pem", "Cannot import CRL: it is not valid before "},
		{"garbage.pem", "Cannot import CRL: no certificate revocation list found: no PEM block of type X509 CRL."},
		// Accepted, it would fail every verification at once (due 7
		// days after its thisUpdate).
		{"undated.pem", "Cannot import CRL: it has no nextUpdate and was issued on "},
		{"missing.pem", `Error: the file "missing.pem" does not exist.`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, code, s := e.script("certconfig\ncrl\nimport\n" + tc.file + "\nname\n\n\n")
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want 1 and %q:\n%s", code, tc.want, out)
			}
			if s.Draft.Changed() {
				t.Errorf("something was staged: %v", s.Draft.Changes())
			}
		})
	}
}

// TestCRLNameFor: names made of issuers are valid and free.
func TestCRLNameFor(t *testing.T) {
	cfg := &config.Config{CRLs: []config.CRL{{Name: "Example_CA"}}}
	for _, tc := range []struct{ issuer, want string }{
		{"Example CA", "Example_CA_2"},
		{"Other CA", "Other_CA"},
		{"1st CA", "CRL_1st_CA"},
		{"CN=x,O=y", "CN_x_O_y"},
		{strings.Repeat("a", 80), strings.Repeat("a", 56)},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			got := crlNameFor(cfg, tc.issuer)
			if got != tc.want || config.CheckName(got) != "" {
				t.Fatalf("crlNameFor(%q) = %q, want %q", tc.issuer, got, tc.want)
			}
		})
	}
}

// TestCRLImportOlderRefused: a list older than the one of the same name
// in force (a stale copy of the file, replayed) is refused: it would bring
// back as valid the certificates revoked since. A newer one replaces it.
func TestCRLImportOlderRefused(t *testing.T) {
	ca := crltest.NewCA(t, "Replay CA")
	older := ca.CRL(time.Now().Add(-2*time.Hour), time.Now().Add(5*24*time.Hour))
	ca.Revoke(ca.Issue("bad.example.com"))
	newer := ca.CRL(time.Time{}, time.Time{})
	e := crlEnv(t, ca, map[string][]byte{"older.pem": []byte(older), "newer.pem": []byte(newer)})
	if out, code, _ := e.script("certconfig\ncrl\nimport\nnewer.pem\nreplay\n\n\ncommit newer\n"); code != 0 {
		t.Fatalf("importing the newer list: exit %d\n%s", code, out)
	}
	out, code, s := e.script("certconfig\ncrl\nimport\nolder.pem\n\n\n\n")
	if code != 1 || !strings.Contains(out, "Cannot import CRL: the list replay in force is newer") {
		t.Fatalf("exit %d, want 1 and the refusal:\n%s", code, out)
	}
	if s.Draft.Changed() {
		t.Errorf("something was staged: %v", s.Draft.Changes())
	}
}

// TestCRLWithoutNextUpdateShown: a list without nextUpdate is shown with
// the due time verification enforces (pki.CRLDue), not as "none" alone.
func TestCRLWithoutNextUpdateShown(t *testing.T) {
	ca := crltest.NewCA(t, "Undated CA")
	issued := time.Now().Add(-time.Minute)
	e := crlEnv(t, ca, map[string][]byte{"undated.pem": []byte(ca.CRLWithoutNextUpdate(issued))})
	out, code, _ := e.script("certconfig\ncrl\nimport\nundated.pem\nundated\n\n\ncommit undated\n")
	if code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "next update none (treated as due 7 days after its thisUpdate, on ") {
		t.Fatalf("the import does not say when the list is due:\n%s", out)
	}
}
