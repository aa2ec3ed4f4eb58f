package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHKeyLoginDuringBackoff (issue 12, item 10): wrong passwords shut
// an address out of password logins, never out of key logins: someone
// behind the same NAT must not lock the administrator out. The real
// OpenSSH client, from 127.0.0.2 both times.
func TestSSHKeyLoginDuringBackoff(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	if out, code := a.console("passwd\n" + adminPW + "\n" + adminPW + "\n"); code != 0 {
		t.Fatalf("passwd: %s", out)
	}
	count := filepath.Join(a.tmp, "asked")
	askpass := filepath.Join(a.tmp, "askpass")
	os.WriteFile(askpass, []byte("#!/bin/sh\necho x >> "+count+"\necho wrong\n"), 0o700)
	args := append([]string{"ssh", "-b", "127.0.0.2", "-o", "NumberOfPasswordPrompts=6"}, a.passArgs("admin")...)
	r := a.run([]string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"}, "", append(args, "whoami")...)
	if r.code != 255 || !strings.Contains(a.authLog(), "from 127.0.0.2 (4): refusing it for") {
		t.Fatalf("6 wrong passwords: status %d, no back-off logged:\n%s\n%s", r.code, r.out, a.authLog())
	}
	// Straight away (the first back-off is 2s), the administrator's key
	// from the same address logs in: sshd's TestBruteForce checks on a
	// clock of its own that passwords stay refused meanwhile.
	key := a.run(nil, "", append(append([]string{"ssh", "-b", "127.0.0.2"}, a.keyArgs("admin", "admin")...), "whoami")...)
	if key.code != 0 || !strings.Contains(key.out, "Username: admin") {
		t.Fatalf("key login from an address in password back-off: status %d\n%s\n%s", key.code, key.out, a.authLog())
	}
}
