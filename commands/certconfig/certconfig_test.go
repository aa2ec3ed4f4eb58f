package certconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"esash/config"
	"esash/shell"
)

// Every bad paste on a terminal: the message is shown, the CERTIFICATE
// menu comes back, nothing is staged, and the session goes on.
func TestPasteRefusalsStageNothing(t *testing.T) {
	p := newPKI(t)
	e := newEnv(t, testNow)
	e.trustRoot(p)
	wrongKey := ecKey(t)
	wrongKeyPEM := (&testCert{key: wrongKey}).keyPEM()
	huge := strings.Repeat(strings.Repeat("A", 63)+"\n", (10<<20)/64)
	tests := []struct {
		name  string
		input []string
		want  string
	}{
		{"garbage", lines("x", "garbage text", "."), "Invalid certificate...discarding: no certificate found."},
		{"truncated", lines("x", p.leaf.certPEM()[:200], "."), "Invalid certificate...discarding: PEM block 1 (line 1): malformed PEM block: no END line."},
		{"10 MB paste", lines("x", "-----BEGIN CERTIFICATE-----", huge, "-----END CERTIFICATE-----", "."), "Invalid certificate...discarding: the pasted text is too large: input too large: "},
		{"wrong key", lines("x", p.leaf.certPEM(), ".", wrongKeyPEM, "."), "Error: key does not sign certificate"},
		{"expired", lines("x", p.expired.certPEM(), ".", p.expired.keyPEM(), "."), `The certificate "old.example.com" expired on`},
		{"not yet valid", lines("x", p.future.certPEM(), ".", p.future.keyPEM(), "."), `The certificate "future.example.com" is not valid before`},
		{"CA as leaf", lines("x", p.inter.certPEM(), ".", p.inter.keyPEM(), "."), `The certificate "Test Intermediate CA" is a certificate authority (CA:TRUE)`},
		{"untrusted", lines("x", p.leaf.certPEM(), ".", p.leaf.keyPEM(), ".", "N"), "because unable to get local issuer certificate"},
		{"unrelated intermediate", lines("x", p.leaf.certPEM(), ".", p.leaf.keyPEM(), ".", "Y", p.inter.certPEM(), ".", "Y", p.otherInter.certPEM(), ".", "N"),
			`intermediate certificates that are not part of the chain of "mail.example.com": "Other Intermediate CA"`},
		{"garbage key", lines("x", p.leaf.certPEM(), ".", "not a key", "."), "Invalid private key ...discarding: no private key found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append(lines("certconfig", "certificate", "paste"), tc.input...)
			in = append(in, "", "")
			out, code, s := e.terminal(in)
			if code != 0 {
				t.Errorf("exit status %d", code)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, tail(out))
			}
			if s.Draft.Changed() {
				t.Errorf("something was staged: %v", s.Draft.Changes())
			}
			i := strings.LastIndex(out, tc.want)
			if i < 0 || !strings.Contains(out[i:], "List of Certificates") || !strings.HasSuffix(out, "esa.example.com> ^D\n") {
				t.Errorf("the menu did not come back after the refusal:\n%s", tail(out))
			}
		})
	}
}

// The same refusal in a script stops it at the line with the message.
func TestHugePasteStopsScript(t *testing.T) {
	e := newEnv(t, testNow)
	huge := strings.Repeat(strings.Repeat("B", 99)+"\n", (10<<20)/100)
	out, code, _ := e.script("certconfig\ncertificate\npaste\nx\n" + huge + ".\n")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(tail(out), "the pasted text is too large") {
		t.Errorf("output:\n%s", tail(out))
	}
}

// Key material appears in the output only where the administrator's own
// paste is echoed, never in a message.
func TestKeyNeverInMessages(t *testing.T) {
	p := newPKI(t)
	e := newEnv(t, testNow)
	e.trustRoot(p)
	keyPEM := p.leaf.keyPEM()
	body := strings.Split(strings.TrimSpace(keyPEM), "\n")[1]
	for _, in := range [][]string{
		lines("certconfig", "certificate", "paste", "a", p.expired.certPEM(), ".", keyPEM, ".", "", ""),
		lines("certconfig", "certificate", "paste", "b", p.leaf.certPEM(), ".", keyPEM, ".", "Y", p.inter.certPEM(), ".", "N", "N", "", "", "showchanges"),
	} {
		out, _, _ := e.terminal(in)
		if n := strings.Count(out, body); n != 1 {
			t.Errorf("key material printed %d times, want once (the echo of the paste):\n%s", n, out)
		}
		if strings.Contains(out, "> showchanges\n") && !strings.Contains(out, "    private_key = <") {
			t.Errorf("showchanges does not summarise the key:\n%s", tail(out))
		}
	}
}

// EDIT with a certificate for another key keeps the old certificate.
func TestEditWrongKeyKeepsOld(t *testing.T) {
	p := newPKI(t)
	e := newEnv(t, testNow)
	e.trustRoot(p)
	out, code, _ := e.script("certconfig paste mail\n" + p.leaf.certPEM() + p.leaf.keyPEM() + p.inter.certPEM() + ".\ncommit\nc\nN\n")
	if code != 0 {
		t.Fatalf("paste: %d\n%s", code, out)
	}
	before := e.DB.Head().Config.Certificates[1]
	other := issue(t, p.inter, "mail.example.com", false, testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
	out, code, s := e.terminal(lines("certconfig", "certificate", "edit", "mail", "Y", other.certPEM(), ".", "", ""))
	if code != 0 || !strings.Contains(out, "Error: key does not sign certificate") {
		t.Fatalf("edit: %d\n%s", code, tail(out))
	}
	if s.Draft.Changed() {
		t.Error("the refused certificate was staged")
	}
	if after := e.DB.Head().Config.Certificates[1]; after.CertPEM != before.CertPEM {
		t.Error("the stored certificate changed")
	}
}

// DELETE is refused while anything uses the profile, naming every user.
func TestDeleteNamesEveryUser(t *testing.T) {
	e := newEnv(t, testNow)
	self := issue(t, nil, "self.example.com", false, testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	out, code, _ := e.script("certconfig paste web\n" + self.certPEM() + self.keyPEM() + ".\ncommit\nc\nN\n")
	if code != 0 {
		t.Fatalf("paste: %d\n%s", code, out)
	}
	var buf strings.Builder
	sess := e.Shell.NewSession(shell.SessionConfig{In: shell.NewScriptReader(strings.NewReader(""), &buf), Out: &buf, Err: &buf,
		User: "admin", Source: "test", DataDir: e.Dir})
	err := sess.Draft.Update(func(c *config.Config) error {
		c.Listeners = append(c.Listeners, config.FactoryListener("Outgoing", config.Private, "Management", 2526))
		c.Listeners[1].Certificate = "web"
		c.Interfaces[0].HTTPSCert = "web"
		c.Destinations.Certificate = "web"
		c.LDAP.Certificate = "web"
		c.WebSecurity.ClientCertificate = "web"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := usersOf(sess.Draft.Config(), "web")
	want := []string{"listener Outgoing", "interface Management (HTTPS)", "destination controls (global settings)",
		"LDAP (global settings)", "web security (client certificate)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("users = %q, want %q", got, want)
	}
	if err := removeProfile(sess, "web"); err == nil || !strings.Contains(err.Error(), "it is used by listener Outgoing, interface Management (HTTPS), destination controls (global settings), LDAP (global settings), web security (client certificate)") {
		t.Errorf("removeProfile: %v", err)
	}
}

// On a terminal a slow key generation shows progress; in a script it
// prints nothing.
func TestKeygenProgress(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = time.Millisecond
	e := newEnv(t, testNow)
	in := lines("certconfig", "certificate", "new", "1", "web", "esa.example.com", "N", "", "", "", "", "", "30", "1", "N", "", "", "clear", "Y")
	out, _, _ := e.terminal(in)
	if !strings.Contains(out, "Generating a RSA 2048-bit private key, this may take a few seconds.") || !strings.Contains(out, " done.\n") {
		t.Errorf("no progress on a terminal:\n%s", out)
	}
	script := strings.Join(in, "\n") + "\n"
	out, _, _ = e.script(script)
	if strings.Contains(out, "Generating") {
		t.Errorf("progress in a script:\n%s", out)
	}
}

// Exports are written with mode 0600, also over an existing file.
func TestWriteConfigFileMode(t *testing.T) {
	e := newEnv(t, testNow)
	p := filepath.Join(e.Dir, "configuration", "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &shell.Session{DataDir: e.Dir}
	if err := writeConfigFile(s, "f", []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q", b)
	}
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "day", "1 day"}, {0, "day", "0 days"}, {-3, "day", "-3 days"},
		{2, "custom certificate authority", "2 custom certificate authorities"},
		{1, "certificate", "1 certificate"},
	} {
		if got := plural(tc.n, tc.noun); got != tc.want {
			t.Errorf("plural(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

// A PKCS#12 file whose key belongs to none of its certificates.
func TestImportKeyMismatch(t *testing.T) {
	p := newPKI(t)
	e := newEnv(t, testNow)
	der, err := gopkcs12.Modern.Encode(ecKey(t), p.leaf.cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "configuration", "bad.p12"), der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code, s := e.terminal(lines("certconfig", "certificate", "import", "x", "bad.p12", "pw", "", ""))
	if code != 0 || !strings.Contains(out, "Error: key does not sign certificate: no certificate in bad.p12 belongs to its private key.") {
		t.Errorf("%d\n%s", code, tail(out))
	}
	if s.Draft.Changed() {
		t.Error("staged")
	}
}

// On a terminal a bad intermediate paste is discarded and the loop asks
// again; the profile is then staged with the good one.
func TestBadIntermediateAskedAgain(t *testing.T) {
	p := newPKI(t)
	e := newEnv(t, testNow)
	e.trustRoot(p)
	out, _, s := e.terminal(lines("certconfig", "certificate", "paste", "mail", p.leaf.certPEM(), ".", p.leaf.keyPEM(), ".",
		"Y", "garbage", ".", "Y", p.inter.certPEM(), ".", "N", "N", "", "", "commit", "c", "N"))
	if !strings.Contains(out, "Invalid certificate...discarding: no certificate found.\nDo you want to add an intermediate certificate? [N]> Y") {
		t.Errorf("the loop did not ask again:\n%s", tail(out))
	}
	_ = s
	prof, ok := findProfile(e.DB.Head().Config, "mail")
	if !ok || len(prof.Intermediates) != 1 {
		t.Errorf("profile not staged with its intermediate: %+v", prof)
	}
	if prof.KeyPEM == "" || !strings.HasPrefix(prof.KeyPEM, "-----BEGIN PRIVATE KEY-----") {
		t.Error("the key is not stored as PKCS#8")
	}
}

// The FQDN check of NEW asks the Common Name again on a terminal.
func TestNewFQDNAskedAgain(t *testing.T) {
	e := newEnv(t, testNow)
	out, _, s := e.terminal(lines("certconfig", "certificate", "new", "1", "web", "mail", "Y", "mail.example.com", "Y",
		"", "", "", "", "", "", "3", "N", "", "", "clear", "Y"))
	if !strings.Contains(out, "The Common Name \"mail\" is not in Fully Qualified Domain Name (FQDN) format.\nEnter Common Name:") {
		t.Errorf("not asked again:\n%s", tail(out))
	}
	if !strings.Contains(out, "Certificate profile web staged") {
		t.Errorf("not staged:\n%s", tail(out))
	}
	_ = s
}

// PRINT's "Last error" of an ACME profile says when it happened, when the
// manager knows (it does not after a restart).
func TestLastErrorCell(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   ACMEStatus
		want string
	}{
		{"no error", ACMEStatus{State: "valid"}, "-"},
		{"error with its time", ACMEStatus{LastError: "CA unreachable", FailedAt: at}, "2026-12-05 10:00:00 UTC: CA unreachable"},
		{"error of before a restart", ACMEStatus{LastError: "CA unreachable"}, "CA unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastErrorCell(tc.st); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}
