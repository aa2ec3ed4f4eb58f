package certconfig

import (
	"context"
	"encoding/asn1"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esash/pki"
	"esash/shell"
)

// TestImportStopsWhenClientLeaves (issue 12, item 8): a PKCS#12 file whose
// MAC asks for 10 million KDF iterations (the cap) is seconds of CPU; when
// the client's connection has closed, IMPORT stops instead of running
// them out (it would then report an incorrect passphrase, the MAC no
// longer matching) and stores nothing.
func TestImportStopsWhenClientLeaves(t *testing.T) {
	e := newEnv(t, testNow)
	self := issue(t, nil, "self.example.com", false, testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	der, err := pki.EncodePKCS12(self.key, self.cert, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	hostile := withMacIterations(t, der, 10_000_000)
	if err := os.WriteFile(filepath.Join(e.Dir, "configuration", "hostile.p12"), hostile, 0o600); err != nil {
		t.Fatal(err)
	}

	client, leave := context.WithCancel(context.Background())
	leave()
	var out strings.Builder
	in := shell.NewScriptReader(strings.NewReader("certconfig\ncertificate\nimport\nHostile\nhostile.p12\nsecret\n\n\n"), &out)
	s := e.Shell.NewSession(shell.SessionConfig{Ctx: shell.WithClient(context.Background(), client),
		In: in, Out: &out, Err: &out, User: "admin", Source: "test", DataDir: e.Dir})
	e.Shell.Run(s)
	if !strings.Contains(out.String(), "the session ended") {
		t.Fatalf("IMPORT did not stop when the client left:\n%s", out.String())
	}
	if _, ok := findProfile(s.Draft.Config(), "Hostile"); ok {
		t.Fatal("a profile was stored")
	}
}

// withMacIterations rewrites the iteration count of a PFX's MAC.
func withMacIterations(t *testing.T, der []byte, n int) []byte {
	t.Helper()
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			MacSalt    []byte
			Iterations int
		}
	}
	if _, err := asn1.Unmarshal(der, &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData.Iterations = n
	out, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
