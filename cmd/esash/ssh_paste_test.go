package main

import (
	"strings"
	"testing"
)

// TestSSHPaste (issue 12, item 6): long lines pasted into an SSH pty under
// tmux. The shell draws a paste once (it used to redraw the whole line per
// character: 1.38 GB for 50,000); the screen must still show exactly what
// was pasted, and a line beyond 4096 characters is discarded with a
// message, the session going on.
func TestSSHPaste(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	srv := startTmux(t)
	p := srv.open(t, nil, append([]string{"ssh"}, a.keyArgs("admin", "admin")...)...)
	p.expect("esa.example.com> ")
	long := "frob" + strings.Repeat("x", 2000)
	screen := p.line(long, "Unknown command: "+long)
	if n := strings.Count(screen, "esa.example.com> "+long+"\n"); n != 1 {
		t.Fatalf("the pasted line is on the screen %d times, want once:\n%s", n, screen)
	}
	// A paste, then keys typed one by one, then Enter: one line.
	p.literal("who" + strings.Repeat(" ", 100))
	p.keys("a", "m", "i", "BSpace", "BSpace", "BSpace")
	p.press([]string{"Enter"}, "Remote Host")
	p.line(strings.Repeat("y", 6000), "The line is longer than 4096 characters: it was discarded.")
	p.line("whoami", "Username: admin")
	p.literal("exit\r")
	p.exited("0")
}
