package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esash/sshd"
)

// TestSSHConfigDirFull: with the configuration directory holding
// sshd.MaxConfigFiles files, OpenSSH's scp (legacy protocol and SFTP)
// cannot add one more, and the legacy client prints the limit by name;
// replacing a file that is there still works.
func TestSSHConfigDirFull(t *testing.T) {
	t.Parallel()
	needTools(t, "scp")
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	if err := os.MkdirAll(a.confDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range sshd.MaxConfigFiles {
		writeFile(t, filepath.Join(a.confDir(), fmt.Sprintf("f%04d.txt", i)), "x")
	}
	local := t.TempDir()
	extra := writeFile(t, filepath.Join(local, "extra.pem"), "one too many\n")
	r := a.xferKey("scp", "-O", extra, a.remote("admin", "/configuration/"))
	if r.code == 0 || !strings.Contains(r.out, fmt.Sprintf("at most %d files (MaxConfigFiles)", sshd.MaxConfigFiles)) {
		t.Fatalf("scp -O into a full directory: %d\n%s", r.code, r.out)
	}
	if r := a.xferKey("scp", extra, a.remote("admin", "/configuration/")); r.code == 0 {
		t.Fatalf("scp (SFTP) into a full directory succeeded:\n%s", r.out)
	}
	if _, err := os.Stat(filepath.Join(a.confDir(), "extra.pem")); err == nil {
		t.Fatal("extra.pem was written")
	}
	replace := writeFile(t, filepath.Join(local, "f0000.txt"), "replaced\n")
	if r := a.xferKey("scp", "-O", replace, a.remote("admin", "/configuration/")); r.code != 0 {
		t.Fatalf("replacing a file of the full directory: %d\n%s", r.code, r.out)
	}
	if got := readFile(t, filepath.Join(a.confDir(), "f0000.txt")); got != "replaced\n" {
		t.Errorf("f0000.txt = %q", got)
	}
}
