package certconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesNotThroughLinks (issue 12, item 9): EXPORT through a link in
// the configuration directory overwrote a file outside the data directory
// and changed its mode; IMPORT read through links. Now EXPORT replaces
// the link and IMPORT refuses it.
func TestFilesNotThroughLinks(t *testing.T) {
	e := newEnv(t, testNow)
	cfg := filepath.Join(e.Dir, "configuration")
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(outside, filepath.Join(cfg, "out.p12"))
	os.Symlink(outside, filepath.Join(cfg, "in.p12"))

	out, code, _ := e.script("certconfig\ncertificate\nexport\nDemo\nout.p12\ny\nexp0rt\nexp0rt\n\n\n")
	if code != 0 {
		t.Fatalf("EXPORT: %d\n%s", code, out)
	}
	st, err := os.Stat(outside)
	b, _ := os.ReadFile(outside)
	if err != nil || st.Mode().Perm() != 0o644 || string(b) != "precious\n" {
		t.Fatalf("EXPORT wrote through the link: %v %v %q", st.Mode(), err, b[:min(len(b), 20)])
	}
	if st, err := os.Lstat(filepath.Join(cfg, "out.p12")); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("out.p12 is not the export (0600): %v %v", st.Mode(), err)
	}

	out, code, _ = e.script("certconfig\ncertificate\nimport\nLinked\nin.p12\nexp0rt\n\n\n")
	if code == 0 || !strings.Contains(out, `"in.p12" is a symbolic link`) || strings.Contains(out, e.Dir) {
		t.Fatalf("IMPORT through a link: %d\n%s", code, out)
	}
}
