package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// End-to-end SSH tests: `esash serve` against the real OpenSSH client
// (ssh, sshpass, ssh-keyscan), on loopback addresses of their own.

const (
	adminPW = "admin-pass-1"
	bobPW   = "bob-pass-123"
)

// commitDetail is the last revision as the console shows it.
func (a *sshAppliance) commitDetail() string {
	a.t.Helper()
	out, code := a.console("", "-c", "commitdetail")
	if code != 0 {
		a.t.Fatalf("commitdetail: %d %s", code, out)
	}
	return out
}

// wantCommit checks the last revision's author, source and comment.
func (a *sshAppliance) wantCommit(user, comment string) {
	a.t.Helper()
	d := a.commitDetail()
	if !regexp.MustCompile(`(?m)^Committed by: `+user+` \(ssh:127\.0\.0\.1\)$`).MatchString(d) ||
		!strings.Contains(d, "Comment: "+comment+"\n") {
		a.t.Fatalf("last commit is not %s's %q over SSH:\n%s", user, comment, d)
	}
}

// TestSSHThreeWaysIn: with a key and with a password, each of the three
// ways in changes and commits the configuration: batch (`ssh esa 'cmd1;
// cmd2'`, exit status), piped script (`ssh esa < script`) and an
// interactive pty under tmux (completion, Ctrl-C, resize, exit status).
func TestSSHThreeWaysIn(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	// The key from --admin-key logs in; it creates an operator with a
	// password, by script.
	r := a.withKey("admin", "admin", "userconfig\nnew\nbob\nBob Operator\n2\n"+bobPW+"\n"+bobPW+"\n\ncommit\nadd bob\n\n")
	if r.code != 0 || !strings.Contains(r.out, "esa.example.com> userconfig\n") || !strings.Contains(r.out, "Changes committed:") {
		t.Fatalf("piped script with a key: status %d\n%s", r.code, r.out)
	}
	a.wantCommit("admin", "add bob")

	srv := startTmux(t)
	ways := []struct {
		name, user string
		batch      func(cmd string) sshResult
		script     func(stdin string) sshResult
		pane       func() *pane
	}{
		{"key", "admin",
			func(cmd string) sshResult { return a.withKey("admin", "admin", "", cmd) },
			func(stdin string) sshResult { return a.withKey("admin", "admin", stdin) },
			func() *pane {
				return srv.open(t, nil, append([]string{"ssh"}, a.keyArgs("admin", "admin")...)...)
			}},
		{"password", "bob",
			func(cmd string) sshResult { return a.withPassword("bob", bobPW, "", cmd) },
			func(stdin string) sshResult { return a.withPassword("bob", bobPW, stdin) },
			func() *pane {
				return srv.open(t, []string{"SSHPASS=" + bobPW}, append([]string{"sshpass", "-e", "ssh"}, a.passArgs("bob")...)...)
			}},
	}
	host := "esa.example.com"
	for _, w := range ways {
		// Batch: several commands, the exit status is theirs.
		name := w.name + "-batch.example.com"
		r := w.batch(fmt.Sprintf(`sethostname %s; commit "%s batch"`, name, w.name))
		if r.code != 0 || !strings.Contains(r.out, "Changes committed:") {
			t.Fatalf("%s batch: status %d\n%s", w.name, r.code, r.out)
		}
		a.wantCommit(w.user, w.name+" batch")
		host = name
		if r := w.batch("nosuchcommand"); r.code != 1 || !strings.Contains(r.out, "Unknown command: nosuchcommand") {
			t.Errorf("%s batch, unknown command: status %d\n%s", w.name, r.code, r.out)
		}
		if r := w.batch("sethostname staged.example.com"); r.code != 2 || !strings.Contains(r.out, "uncommitted changes") {
			t.Errorf("%s batch, nothing committed: status %d\n%s", w.name, r.code, r.out)
		}

		// Piped script: each line echoed after its prompt.
		name = w.name + "-script.example.com"
		r = w.script(fmt.Sprintf("sethostname\n%s\ncommit\n%s script\n\n", name, w.name))
		want := fmt.Sprintf("%s> sethostname\n[%s]> %s\n%s> commit\n", host, host, name, host)
		if r.code != 0 || !strings.Contains(r.out, want) || !strings.Contains(r.out, name+"> \n") {
			t.Fatalf("%s script: status %d, want %q in\n%s", w.name, r.code, want, r.out)
		}
		a.wantCommit(w.user, w.name+" script")
		host = name
		if r := w.script("sethostname\nx.example.com\nfrobnicate\ncommit\nnever\n\n"); r.code != 1 ||
			!strings.Contains(r.out, "line 3: Unknown command: frobnicate") {
			t.Errorf("%s failing script: status %d\n%s", w.name, r.code, r.out)
		}

		// Interactive: a pty with readline.
		p := w.pane()
		p.expect(host + "> ")
		p.press([]string{"sethost", "Tab"}, "sethostname ")
		p.press([]string{"Enter"}, "["+host+"]> ")
		// Ctrl-C drops the command and keeps the session.
		p.press([]string{"C-c"}, "Changes not recorded.")
		p.expect(host + "> ")
		srv.cmd("resize-window", "-t", p.id, "-x", "130", "-y", "35")
		name = w.name + "-pty.example.com"
		p.line("sethostname", "["+host+"]> ")
		p.line(name, host+"> ")
		p.line("commit", "Please enter some comments describing your changes:")
		p.line(w.name+" pty", "Do you want to save the current configuration for rollback? [Y]> ")
		p.line("", "Changes committed:")
		p.expect(name + "> ")
		p.line("who", "Remote Host")
		p.literal("exit\r")
		p.exited("0")
		a.wantCommit(w.user, w.name+" pty")
		host = name
	}
}

// TestSSHHostKeys: ssh-keyscan twice across a restart returns the same
// host keys; another appliance has others (SSH-1); sshconfig shows the
// fingerprints the client sees.
func TestSSHHostKeys(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{})
	first := keyscan(t, a)
	if len(first) != 2 || !strings.Contains(first[0]+first[1], " ssh-ed25519 ") || !strings.Contains(first[0]+first[1], " ssh-rsa ") {
		t.Fatalf("keyscan: %q", first)
	}
	a.restart()
	if again := keyscan(t, a); strings.Join(again, "\n") != strings.Join(first, "\n") {
		t.Fatalf("host keys changed across a restart:\n%s\n--\n%s", first, again)
	}
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		st, err := os.Stat(filepath.Join(a.dir, "ssh", name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, st.Mode(), err)
		}
	}
	// The fingerprints sshconfig shows are the client's.
	kh := filepath.Join(a.tmp, "scanned")
	os.WriteFile(kh, []byte(strings.Join(first, "\n")+"\n"), 0o600)
	fps, err := exec.Command("ssh-keygen", "-l", "-f", kh).Output()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := a.console("sshconfig\nsshd\n\n")
	for _, line := range strings.Split(strings.TrimSpace(string(fps)), "\n") {
		fp := strings.Fields(line)[1]
		if !strings.Contains(out, fp) {
			t.Errorf("sshconfig does not show %s:\n%s", fp, out)
		}
	}
	b := newSSHAppliance(t, sshOpts{})
	other := keyscan(t, b)
	for _, k := range other {
		for _, f := range first {
			if strings.Fields(k)[2] == strings.Fields(f)[2] {
				t.Fatalf("two appliances share a host key: %s", k)
			}
		}
	}
}

// keyscan returns the appliance's host keys, sorted, without the address.
func keyscan(t *testing.T, a *sshAppliance) []string {
	t.Helper()
	r := a.run(nil, "", "ssh-keyscan", "-p", "2222", "-T", "10", "-t", "ed25519,rsa", a.ip)
	var keys []string
	for _, l := range strings.Split(r.out, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		keys = append(keys, l)
	}
	sort.Strings(keys)
	return keys
}

// TestSSHFirstStart (SSH-1): no default password. Nothing logs in until
// the console sets the first administrator password, and the client is
// told so before it tries.
func TestSSHFirstStart(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{})
	for _, pw := range []string{"", "admin", "ironport", "password"} {
		r := a.withPassword("admin", pw, "", "whoami")
		if r.code == 0 {
			t.Fatalf("password %q logged in on a fresh appliance:\n%s", pw, r.out)
		}
		if !strings.Contains(r.out, "password login is closed") || !strings.Contains(r.out, "--admin-key") {
			t.Errorf("the client is not told why:\n%s", r.out)
		}
	}
	if r := a.withKey("admin", "admin", "", "whoami"); r.code == 0 {
		t.Fatalf("a key logged in on a fresh appliance:\n%s", r.out)
	}
	out, code := a.console("passwd\n" + adminPW + "\n" + adminPW + "\n")
	if code != 0 || !strings.Contains(out, "SSH password login is now open.") {
		t.Fatalf("passwd on the console: %d\n%s", code, out)
	}
	r := a.withPassword("admin", adminPW, "", "whoami")
	if r.code != 0 || !strings.Contains(r.out, "Username: admin") || strings.Contains(r.out, "password login is closed") {
		t.Fatalf("first login: %d\n%s", r.code, r.out)
	}
}

// TestSSHAdminKeyFlag: `esash serve --admin-key FILE` opens a fresh
// appliance to that key only, once, as its own revision.
func TestSSHAdminKeyFlag(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	if !strings.Contains(a.out.String(), "to admin's SSH keys (revision 2)") {
		t.Errorf("serve output:\n%s", a.out)
	}
	if r := a.withKey("admin", "admin", "", "whoami"); r.code != 0 || !strings.Contains(r.out, "Username: admin") {
		t.Fatalf("admin key: %d\n%s", r.code, r.out)
	}
	if r := a.withKey("admin", "other", "", "whoami"); r.code == 0 {
		t.Fatalf("another key logged in:\n%s", r.out)
	}
	// Given again, the key is not added twice.
	a.restart("--admin-key", a.key("admin")+".pub")
	if strings.Contains(a.out.String(), "SSH keys (revision") {
		t.Errorf("the key was added again:\n%s", a.out)
	}
	d := a.commitDetail()
	if !strings.Contains(d, "Revision: 2") || !strings.Contains(d, "Committed by: admin (admin-key)") {
		t.Errorf("commitdetail:\n%s", d)
	}
	// A file without keys stops the daemon before it serves.
	bad := filepath.Join(a.tmp, "bad.pub")
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	a.stop()
	cmd := exec.Command(a.bin, "serve", "--data", a.dir, "--admin-key", bad)
	cmd.Env = a.env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--admin-key: "+bad+" line 1") {
		t.Errorf("bad --admin-key: %v\n%s", err, out)
	}
}

// TestSSHBruteForce (SSH-2): wrong passwords from 127.0.0.2. Six per
// connection at most; then the address is shut out for a back-off that
// grows with each further failure; a correct login from 127.0.0.3 works
// all along.
func TestSSHBruteForce(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	if out, code := a.console("passwd\n" + adminPW + "\n" + adminPW + "\n"); code != 0 {
		t.Fatalf("passwd: %s", out)
	}
	// SSH_ASKPASS answers every password prompt wrongly and counts them.
	count := filepath.Join(a.tmp, "asked")
	askpass := filepath.Join(a.tmp, "askpass")
	os.WriteFile(askpass, []byte("#!/bin/sh\necho x >> "+count+"\necho wrong-$(wc -l < "+count+")\n"), 0o700)
	asked := func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "\n")
	}
	attack := func(prompts int) sshResult {
		args := append([]string{"ssh", "-b", "127.0.0.2", "-o", fmt.Sprintf("NumberOfPasswordPrompts=%d", prompts)}, a.passArgs("admin")...)
		return a.run([]string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"}, "", append(args, "whoami")...)
	}
	// One connection, endless wrong passwords: cut at 6.
	r := attack(30)
	if r.code != 255 || asked() != 6 {
		t.Fatalf("per-connection cap: status %d after %d passwords, want 255 after 6\n%s", r.code, asked(), r.out)
	}
	// Then connections from there are dropped before any password.
	before := asked()
	if r := attack(3); r.code != 255 || asked() != before {
		t.Fatalf("shut-out address: status %d, asked %d more\n%s", r.code, asked()-before, r.out)
	}
	// 30 wrong passwords over 10 connections in all.
	for i := 0; i < 8; i++ {
		attack(3)
	}
	t.Logf("10 connections from 127.0.0.2 tried %d wrong passwords; the rest were refused", asked())
	// The correct password from another address logs in.
	r = a.run([]string{"SSHPASS=" + adminPW}, "", append(append([]string{"sshpass", "-e", "ssh", "-b", "127.0.0.3"}, a.passArgs("admin")...), "whoami")...)
	if r.code != 0 || !strings.Contains(r.out, "Username: admin") {
		t.Fatalf("correct login from 127.0.0.3: %d\n%s", r.code, r.out)
	}
	// The back-off grows: wait it out, fail once more, compare.
	var waits []time.Duration
	rx := regexp.MustCompile(`from 127\.0\.0\.2 \(\d+\): refusing it for (\S+)`)
	for i := 0; i < 2; i++ {
		m := rx.FindAllStringSubmatch(a.authLog(), -1)
		if len(m) == 0 {
			t.Fatalf("no back-off in the log:\n%s", a.authLog())
		}
		d, _ := time.ParseDuration(m[len(m)-1][1])
		waits = append(waits, d)
		time.Sleep(d + 200*time.Millisecond)
		attack(1)
	}
	m := rx.FindAllStringSubmatch(a.authLog(), -1)
	last, _ := time.ParseDuration(m[len(m)-1][1])
	waits = append(waits, last)
	if !(waits[0] < waits[1] && waits[1] < waits[2]) {
		t.Fatalf("back-off does not grow: %v\n%s", waits, a.authLog())
	}
	t.Logf("back-off for 127.0.0.2: %v", waits)
	log := a.authLog()
	for _, want := range []string{"An authentication attempt by the user admin from 127.0.0.2 failed",
		"The user admin successfully logged on from 127.0.0.3"} {
		if !strings.Contains(log, want) {
			t.Errorf("authentication log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "wrong-") || strings.Contains(log, adminPW) {
		t.Errorf("a password reached the log:\n%s", log)
	}
}

// TestSSHOfferedKey (SSH-3): the client offers key B, which the server
// accepts for admin, cannot sign with it (OpenSSH has only B's public
// half), and proves key A, which admin does not have: refused.
func TestSSHOfferedKey(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	offerOnly := filepath.Join(a.tmp, "offer-only.pub")
	os.WriteFile(offerOnly, []byte(a.pub("admin")+"\n"), 0o600)
	args := append(a.sshBase(), "-v", "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no",
		"-i", offerOnly, "-i", a.key("other"), "admin@"+a.ip, "whoami")
	r := a.run(nil, "", append([]string{"ssh"}, args...)...)
	if r.code == 0 || strings.Contains(r.out, "Username: admin") {
		t.Fatalf("logged in with an offered key:\n%s", r.out)
	}
	if !strings.Contains(r.out, "Server accepts key: "+offerOnly) || !strings.Contains(r.out, "Offering public key: "+a.key("other")) {
		t.Fatalf("the client did not offer B and then prove A:\n%s", r.out)
	}
	if strings.Contains(a.authLog(), "successfully logged on") {
		t.Fatalf("a login was recorded:\n%s", a.authLog())
	}
	// With B's private half it logs in, as admin.
	if r := a.withKey("admin", "admin", "", "whoami"); r.code != 0 || !strings.Contains(r.out, "Username: admin") {
		t.Fatalf("admin key: %d\n%s", r.code, r.out)
	}
}

// TestSSHFlood (SSH-4): 200 connections that never authenticate, from
// 127.0.0.2; the administrator still logs in.
func TestSSHFlood(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	var held, dropped int
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	for i := 0; i < 200; i++ {
		c, err := d.Dial("tcp", a.addr())
		if err != nil {
			dropped++
			continue
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		b := make([]byte, 64)
		if _, err := c.Read(b); err == nil || isTimeout(err) {
			held++
		} else {
			dropped++
		}
	}
	if held > 10 {
		t.Errorf("%d unauthenticated connections from one address held open", held)
	}
	start := time.Now()
	r := a.withKey("admin", "admin", "", "whoami")
	if r.code != 0 || !strings.Contains(r.out, "Username: admin") {
		t.Fatalf("admin during the flood: %d\n%s", r.code, r.out)
	}
	t.Logf("flood of 200: %d held, %d dropped; admin logged in with ssh in %v", held, dropped, time.Since(start))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSSHConcurrentCommits: two administrators over SSH at once. Disjoint
// changes merge, and the second commit says over whose; the same setting
// changed differently is refused with base, theirs and ours. The
// transcripts are logged.
func TestSSHConcurrentCommits(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	if r := a.withKey("admin", "admin", "userconfig\nnew\nbob\nBob\n1\n"+bobPW+"\n"+bobPW+"\n\ncommit\nbob\n\n"); r.code != 0 {
		t.Fatalf("add bob: %s", r.out)
	}
	admin := a.pipe(t, append([]string{"ssh"}, a.keyArgs("admin", "admin")...)...)
	bob := a.pipeEnv(t, []string{"SSHPASS=" + bobPW}, append([]string{"sshpass", "-e", "ssh"}, a.passArgs("bob")...)...)
	admin.send("", "esa.example.com> ", 1)
	bob.send("", "esa.example.com> ", 1)

	// Merge: admin renames the appliance, bob adds a key.
	admin.send("sethostname\nmerged.example.com\n", "esa.example.com> ", 2)
	bob.send("sshconfig\nuserkeys\nnew\n"+a.pub("other")+"\n\n\n\n", "esa.example.com> ", 2)
	bob.send("who\n", "(you)", 1)
	got := admin.send("who\n", "(you)", 1)
	if !regexp.MustCompile(`(?m)^bob +.*127\.0\.0\.1 +cli +1$`).MatchString(got) {
		t.Errorf("who does not show bob's one uncommitted change:\n%s", got)
	}
	admin.send("commit\nrename\n\n", "merged.example.com> ", 1)
	got = bob.send("commit\nbob's key\n\n", "merged.example.com> ", 1)
	if !strings.Contains(got, "Your changes were merged over revision 4 by admin.") {
		t.Fatalf("bob's commit:\n%s", got)
	}
	a.wantCommit("bob", "bob's key")
	if r := a.withKey("bob", "other", "", "whoami"); r.code != 0 {
		t.Fatalf("bob's merged key does not log in: %s", r.out)
	}

	// Conflict: both rename.
	admin.send("sethostname\nadmin.example.com\n", "merged.example.com> ", 2)
	bob.send("sethostname\nbob.example.com\n", "merged.example.com> ", 2)
	admin.send("commit\nadmin's name\n\n", "admin.example.com> ", 1)
	got = bob.send("commit\nbob's name\n\n", "to start again from the running configuration", 1)
	for _, want := range []string{
		"Commit refused: 1 of your changes conflict with changes committed since your session began (now revision 6).",
		"  hostname\n",
		`    base:   "merged.example.com"`,
		`    theirs: "admin.example.com" (committed by admin)`,
		`    ours:   "bob.example.com"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("conflict report lacks %q:\n%s", want, got)
		}
	}
	if code := bob.end(); code != 1 {
		t.Errorf("bob's script after the refused commit: status %d, want 1", code)
	}
	if code := admin.end(); code != 0 {
		t.Errorf("admin's session: status %d", code)
	}
	a.wantCommit("admin", "admin's name")
	t.Logf("admin's session:\n%s", admin.out)
	t.Logf("bob's session:\n%s", bob.out)
}

// TestSSHRoles: a read-only operator can look but not stage or commit; an
// operator cannot manage accounts; the denial is a failing exit status.
func TestSSHRoles(t *testing.T) {
	t.Parallel()
	a := newSSHAppliance(t, sshOpts{adminKey: true, env: []string{"ESASH_SSH_IDLE_TIMEOUT=3s"}})
	r := a.withKey("admin", "admin", "userconfig\nnew\nro\nRead Only\n3\nro-pass-123\nro-pass-123\nnew\nop\nOperator\n2\nop-pass-123\nop-pass-123\n\ncommit\nroles\n\n")
	if r.code != 0 {
		t.Fatalf("add accounts: %s", r.out)
	}
	for _, cmd := range []string{"sethostname ro.example.com", "commit", "userconfig"} {
		r := a.withPassword("ro", "ro-pass-123", "", cmd)
		if r.code != 1 || !strings.Contains(r.out, "You are not in the correct access group to use this command") {
			t.Errorf("read-only %q: %d\n%s", cmd, r.code, r.out)
		}
	}
	if r := a.withPassword("ro", "ro-pass-123", "", "whoami; who; commitdetail"); r.code != 0 || !strings.Contains(r.out, "Groups: Read-Only Operators") {
		t.Errorf("read-only looking: %d\n%s", r.code, r.out)
	}
	// Everyone changes their own password; it takes effect at once.
	r = a.withPassword("ro", "ro-pass-123", "passwd\nro-pass-123\nro-pass-456\nro-pass-456\n")
	if r.code != 0 || !strings.Contains(r.out, "Password changed.") {
		t.Fatalf("read-only passwd: %d\n%s", r.code, r.out)
	}
	if r := a.withPassword("ro", "ro-pass-456", "", "whoami"); r.code != 0 {
		t.Fatalf("new password: %d\n%s", r.code, r.out)
	}
	if r := a.withPassword("op", "op-pass-123", "", "userconfig"); r.code != 1 || !strings.Contains(r.out, "not in the correct access group") {
		t.Errorf("operator userconfig: %d\n%s", r.code, r.out)
	}
	if r := a.withPassword("op", "op-pass-123", "", `sethostname op.example.com; commit "operator"`); r.code != 0 {
		t.Errorf("operator commit: %d\n%s", r.code, r.out)
	}
	// An idle session is closed (ESASH_SSH_IDLE_TIMEOUT=3s here).
	p := a.pipe(t, append([]string{"ssh"}, a.keyArgs("admin", "admin")...)...)
	p.send("", "op.example.com> ", 1)
	start := time.Now()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("an idle session was not closed")
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
}
