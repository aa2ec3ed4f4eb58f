package certconfig

import (
	"context"
	"encoding/asn1"
	"encoding/pem"
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

// TestPasteStopsWhenClientLeaves (issue 12, item 8): an encrypted PKCS#8
// key asking for 10 million PBKDF2 iterations (the cap) is seconds of
// CPU; when the client's connection has closed, PASTE stops instead of
// running them out (it would then fail on the padding: the encrypted
// bytes are random).
func TestPasteStopsWhenClientLeaves(t *testing.T) {
	e := newEnv(t, testNow)
	self := issue(t, nil, "self.example.com", false, testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
	client, leave := context.WithCancel(context.Background())
	leave()
	var out strings.Builder
	input := "certconfig paste web\n" + self.certPEM() + hostilePKCS8(t) + ".\ns3cret\n"
	in := shell.NewScriptReader(strings.NewReader(input), &out)
	s := e.Shell.NewSession(shell.SessionConfig{Ctx: shell.WithClient(context.Background(), client),
		In: in, Out: &out, Err: &out, User: "admin", Source: "test", DataDir: e.Dir})
	e.Shell.Run(s)
	if !strings.Contains(out.String(), "the session ended") {
		t.Fatalf("PASTE did not stop when the client left:\n%s", out.String())
	}
	if _, ok := findProfile(s.Draft.Config(), "web"); ok {
		t.Fatal("a profile was stored")
	}
}

// hostilePKCS8 is an ENCRYPTED PRIVATE KEY block (PBES2, PBKDF2 with
// HMAC-SHA-256 and 10 million iterations, AES-256-CBC) over random bytes.
func hostilePKCS8(t *testing.T) string {
	t.Helper()
	type alg struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	kdf := struct {
		Salt       []byte
		Iterations int
		PRF        alg
	}{[]byte("saltsalt"), 10_000_000, alg{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, raw(asn1.NullRawValue)}}
	pbes2 := struct{ KDF, Enc alg }{
		alg{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}, raw(kdf)},
		alg{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}, raw(make([]byte, 16))},
	}
	info := struct {
		Algorithm alg
		Data      []byte
	}{alg{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}, raw(pbes2)}, bytes32()}
	der, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}))
}

func bytes32() []byte { return []byte("0123456789abcdef0123456789abcdef") }

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
