package sshd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"esash/accounts"
	"esash/config"
	"esash/store"
)

var (
	adminKey = sync.OnceValue(genKey)
	aliceKey = sync.OnceValue(genKey)
	otherKey = sync.OnceValue(genKey)
)

const (
	adminPass = "admin-pass-1"
	alicePass = "alice-pass-1"
	roPass    = "ro-pass-123"
)

func testUsers(t testing.TB) []config.User {
	return []config.User{
		{Name: "admin", FullName: "Administrator", Role: config.RoleAdmin, PasswordHash: hash(t, adminPass),
			SSHKeys: []string{authorized(adminKey(), "admin@test")}},
		{Name: "alice", FullName: "Alice", Role: config.RoleOperator, PasswordHash: hash(t, alicePass),
			SSHKeys: []string{authorized(aliceKey(), "alice@test")}},
		{Name: "ro", FullName: "Read Only", Role: config.RoleReadOnly, PasswordHash: hash(t, roPass)},
	}
}

// The three ways in, by password and by key; the commit records the
// account and ssh:<ip>.
func TestThreeWaysIn(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})

	c, err := f.dial("127.0.0.5", "admin", gossh.Password(adminPass))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, code := run(t, c, `sethostname batch.example.com; commit "from exec"`, "")
	if code != 0 || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("batch: status %d\n%s", code, out)
	}
	if h := f.db.Head(); h.Meta.User != "admin" || h.Meta.Source != "ssh:127.0.0.5" || h.Config.Hostname != "batch.example.com" {
		t.Fatalf("head: %+v %q", h.Meta, h.Config.Hostname)
	}
	// The exit status is the commands'.
	if out, code := run(t, c, "nosuchcommand", ""); code != 1 || !strings.Contains(out, "Unknown command: nosuchcommand") {
		t.Fatalf("unknown command: status %d\n%s", code, out)
	}
	if out, code := run(t, c, "sethostname s.example.com", ""); code != 2 || !strings.Contains(out, "uncommitted changes") {
		t.Fatalf("uncommitted batch: status %d\n%s", code, out)
	}

	k, err := f.dial("", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	out, code = run(t, k, "", "sethostname script.example.com\ncommit\nby script\nY\n")
	if code != 0 || !strings.Contains(out, "batch.example.com> sethostname script.example.com\nbatch.example.com> commit\n") ||
		!strings.Contains(out, "script.example.com> ") {
		t.Fatalf("script: status %d\n%s", code, out)
	}
	if h := f.db.Head(); h.Meta.User != "alice" || !strings.HasPrefix(h.Meta.Source, "ssh:127.") || h.Meta.Comment != "by script" {
		t.Fatalf("head: %+v", h.Meta)
	}
	// A script stops at its first error with status 1 and keeps nothing.
	out, code = run(t, k, "", "sethostname x.example.com\nsethostname 1.2.3.4\ncommit\n")
	if code != 1 || !strings.Contains(out, "line 2") {
		t.Fatalf("failing script: status %d\n%s", code, out)
	}
	if h := f.db.Head(); h.Config.Hostname != "script.example.com" {
		t.Fatalf("a failed script committed: %q", h.Config.Hostname)
	}

	// A pty: readline, the prompt, Ctrl-C, window changes, exit status.
	s, err := k.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	outp, _ := s.StdoutPipe()
	if err := s.RequestPty("xterm", 30, 90, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	st := newStream(outp)
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "script.example.com> ", 1)
	s.WindowChange(40, 132)
	fmt.Fprint(in, "sethostname\r")
	st.waitFor(t, "[script.example.com]> ", 1)
	fmt.Fprint(in, "\x03")
	st.waitFor(t, "script.example.com> ", 2)
	fmt.Fprint(in, "whoami\r")
	got := st.waitFor(t, "Groups: Operators\r\n", 1)
	if !strings.Contains(got, "Username: alice\r\n") {
		t.Fatalf("pty output:\n%q", got)
	}
	fmt.Fprint(in, "exit\r")
	if err := s.Wait(); err != nil {
		t.Fatalf("pty session: %v\n%s", err, st)
	}
}

// Roles: read-only may look but not stage or commit; operators may not
// manage accounts.
func TestRoles(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	ro, err := f.dial("", "ro", gossh.Password(roPass))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, cmd := range []string{"sethostname x.example.com", "commit", "clear", "userconfig"} {
		out, code := run(t, ro, cmd, "")
		if code != 1 || !strings.Contains(out, "You are not in the correct access group to use") {
			t.Errorf("read-only %q: status %d\n%s", cmd, code, out)
		}
	}
	if out, code := run(t, ro, "showchanges; commitdetail; help", ""); code != 0 {
		t.Errorf("read-only viewing: status %d\n%s", code, out)
	}
	op, err := f.dial("", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if out, code := run(t, op, "userconfig", ""); code != 1 || !strings.Contains(out, "not in the correct access group") {
		t.Errorf("operator userconfig: status %d\n%s", code, out)
	}
	// A demotion takes effect at the session's next command.
	in, outp, wait := shellSession(t, op)
	outp.waitFor(t, "> ", 1)
	f.commit(func(c *config.Config) { accounts.FindUser(c, "alice").Role = config.RoleReadOnly })
	fmt.Fprint(in, "sethostname demoted.example.com\n")
	outp.waitFor(t, "not in the correct access group", 1)
	in.Close()
	wait()
}

func shellSession(t *testing.T, c *gossh.Client) (interface {
	Write([]byte) (int, error)
	Close() error
}, *stream, func() error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	st := newStream(out)
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return in, st, s.Wait
}

// SSH-1: a new appliance has no password anyone can log in with; the
// banner says how to open it.
func TestFirstStart(t *testing.T) {
	f := newFixture(t, fixtureOpts{}) // factory accounts: admin without password
	var banner string
	_, err := dialSSH(f.addr(), "", "admin", func(b string) error { banner += b; return nil },
		gossh.Password(""), gossh.Password("admin"), gossh.Password("password"))
	if err == nil {
		t.Fatal("a fresh appliance accepted a password")
	}
	if !strings.Contains(banner, "password login is closed") || !strings.Contains(banner, "--admin-key") {
		t.Fatalf("banner: %q", banner)
	}
	// No client authentication at all ("none") is never enough.
	if _, err := f.dial("", "admin"); err == nil {
		t.Fatal("logged in without authenticating")
	}
	// Once an administrator can log in, the banner goes.
	f.commit(func(c *config.Config) { accounts.FindUser(c, "admin").PasswordHash = hash(t, adminPass) })
	banner = ""
	c, err := dialSSH(f.addr(), "", "admin", func(b string) error { banner += b; return nil }, gossh.Password(adminPass))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if banner != "" {
		t.Fatalf("banner after the first password: %q", banner)
	}
}

// SSH-2: 30 wrong passwords over 10 connections from one address.
func TestBruteForce(t *testing.T) {
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	f := newFixture(t, fixtureOpts{users: testUsers(t), now: now, limits: Limits{
		SourceFree: 3, SourceBackoff: time.Second, SourceMaxBackoff: time.Hour,
		AccountFree: 10, AccountBackoff: time.Second, AccountMaxBackoff: time.Hour,
	}})
	bad := "127.0.0.2"
	src := sourceOf(netip.MustParseAddr(bad))

	// One connection with endless wrong passwords: disconnected after 6.
	tries := 0
	_, err := f.dial(bad, "admin", gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) {
		tries++
		return fmt.Sprintf("wrong-%d", tries), nil
	}), 100))
	if err == nil || tries != 6 {
		t.Fatalf("per-connection cap: err %v after %d tries, want 6", err, tries)
	}
	n, until, _, _ := f.srv.lim.status(src, "admin")
	if n != 4 || !until.After(now()) {
		// Four checked and failed (the fourth starts the back-off), then
		// the source is shut out: the last two are refused unchecked.
		t.Fatalf("after one connection: %d failures, shut out until %v (now %v)", n, until, now())
	}
	// While shut out, its passwords are not even asked for, the right one
	// neither; the administrator's key still logs in from there (item 10
	// of issue 12: someone behind the same NAT must not lock the
	// administrator out), and does not end the back-off.
	asked := false
	if _, err := f.dial(bad, "admin", gossh.PasswordCallback(func() (string, error) {
		asked = true
		return adminPass, nil
	})); err == nil || asked {
		t.Fatalf("a shut-out source was asked for a password (%v) or logged in with it: %v", asked, err)
	}
	c, err := f.dial(bad, "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatalf("key login from a source in password back-off: %v", err)
	}
	c.Close()
	if n2, until2, _, _ := f.srv.lim.status(src, "admin"); n2 != n || until2 != until {
		t.Fatalf("the refused password or the key login changed the back-off: %d %v, was %d %v", n2, until2, n, until)
	}
	// The back-off grows with each further failure.
	var prev time.Duration
	for conn := 2; conn <= 10; conn++ {
		_, until, _, _ := f.srv.lim.status(src, "admin")
		advance(until.Sub(now()) + time.Millisecond)
		for i := 0; i < 3; i++ {
			f.dial(bad, "admin", gossh.Password("wrong"))
		}
		n, until2, _, _ := f.srv.lim.status(src, "admin")
		wait := until2.Sub(now())
		if wait <= prev {
			t.Fatalf("connection %d: back-off %v did not grow from %v (%d failures)", conn, wait, prev, n)
		}
		prev = wait
	}
	if prev < time.Minute {
		t.Fatalf("back-off after 30 wrong passwords: %v", prev)
	}
	// The account is locked against sources that failed ...
	_, _, accN, accUntil := f.srv.lim.status(src, "admin")
	if accN <= 10 || !accUntil.After(now()) {
		t.Fatalf("account: %d failures, locked until %v", accN, accUntil)
	}
	// ... but a correct login from another address still works, by
	// password and by key.
	c, err = f.dial("127.0.0.3", "admin", gossh.Password(adminPass))
	if err != nil {
		t.Fatalf("correct login from another address: %v", err)
	}
	if out, code := run(t, c, "whoami", ""); code != 0 || !strings.Contains(out, "Username: admin") {
		t.Fatalf("whoami: %d %s", code, out)
	}
	c.Close()
	c, err = f.dial("127.0.0.4", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatalf("key login: %v", err)
	}
	c.Close()
	if !strings.Contains(f.log.String(), "An authentication attempt by the user admin from 127.0.0.2 failed") {
		t.Errorf("failures are not logged:\n%s", f.log)
	}
	if strings.Contains(f.log.String(), adminPass) || strings.Contains(f.log.String(), "wrong-1") {
		t.Errorf("a password reached the log:\n%s", f.log)
	}
}

// keyOnly offers a public key whose private half it does not have.
type keyOnly struct{ pub gossh.PublicKey }

func (k keyOnly) PublicKey() gossh.PublicKey { return k.pub }
func (k keyOnly) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	return nil, errors.New("no private key")
}

// SSH-3: offering a key is not logging in with it. The client offers B
// (authorized for admin) and proves A: the identity is never admin.
func TestOfferedKeyIsNotIdentity(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	st := &connState{src: sourceOf(netip.MustParseAddr("127.0.0.9"))}
	// The query for B as admin succeeds (x/crypto then asks for a
	// signature) but grants nothing.
	perms, err := f.srv.publicKey(st, meta{user: "admin"}, adminKey().PublicKey())
	if err != nil || perms != nil {
		t.Fatalf("query for an authorized key: %v %v", perms, err)
	}
	// A stranger's key proved as admin: refused.
	if _, err := f.srv.verifiedKey(meta{user: "admin"}, otherKey().PublicKey()); err == nil {
		t.Fatal("an unauthorized key was accepted")
	}
	// Alice's key proved as alice: the identity is alice, whatever was
	// offered before.
	p, err := f.srv.verifiedKey(meta{user: "alice"}, aliceKey().PublicKey())
	if err != nil || p.Extensions[extUser] != "alice" || p.Extensions[extKey] != gossh.FingerprintSHA256(aliceKey().PublicKey()) {
		t.Fatalf("verified alice: %+v %v", p, err)
	}

	// End to end: offer B (admin's key, without its private half), then
	// prove a key admin does not have: refused.
	_, err = f.dial("", "admin", gossh.PublicKeys(keyOnly{adminKey().PublicKey()}))
	if err == nil {
		t.Fatal("logged in with an offered key it cannot sign with")
	}
	_, err = f.dial("", "admin", gossh.PublicKeys(otherKey()))
	if err == nil {
		t.Fatal("logged in with an unauthorized key")
	}
	// Alice's key logs in as alice only.
	if _, err := f.dial("", "admin", gossh.PublicKeys(aliceKey())); err == nil {
		t.Fatal("alice's key logged in as admin")
	}
	c, err := f.dial("", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, _ := run(t, c, "whoami", ""); !strings.Contains(out, "Username: alice") {
		t.Fatalf("whoami: %s", out)
	}
	// A key removed after login: the next session is refused.
	f.commit(func(c *config.Config) { accounts.FindUser(c, "alice").SSHKeys = nil })
	out, code := run(t, c, "whoami", "")
	if code == 0 || !strings.Contains(out, "no longer authorized") {
		t.Fatalf("session after the key was removed: %d %s", code, out)
	}
}

// meta is the connection metadata the callbacks see.
type meta struct{ user string }

func (m meta) User() string          { return m.user }
func (m meta) SessionID() []byte     { return nil }
func (m meta) ClientVersion() []byte { return nil }
func (m meta) ServerVersion() []byte { return nil }
func (m meta) RemoteAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9)} }
func (m meta) LocalAddr() net.Addr   { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// SSH-4: 200 connections that never authenticate.
func TestUnauthenticatedFlood(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t), handshake: 20 * time.Second,
		limits: Limits{MaxUnauth: 40, MaxUnauthPerSrc: 8}})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Ten flooding addresses, twenty connections each.
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+i%10))}, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", f.addr())
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	// Held connections are bounded overall and per source; the rest
	// were dropped at once.
	if n := f.srv.lim.unauthenticated(); n > 40 {
		t.Fatalf("%d unauthenticated connections held, cap 40", n)
	}
	// Connections the server has not accepted yet look open too: wait
	// until it has dealt with all of them.
	alive := 0
	dead := make([]bool, len(conns))
	for deadline := time.Now().Add(10 * time.Second); ; {
		alive = 0
		for i, c := range conns {
			if dead[i] {
				continue
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			b := make([]byte, 64)
			_, err := c.Read(b)
			var ne net.Error
			if err == nil || errors.As(err, &ne) && ne.Timeout() {
				alive++
			} else {
				dead[i] = true
			}
		}
		if alive <= 40 || time.Now().After(deadline) {
			break
		}
	}
	if alive > 40 {
		t.Fatalf("%d of the flood's connections still open, cap 40", alive)
	}
	// An administrator still gets in.
	start := time.Now()
	c, err := f.dial("127.0.0.1", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatalf("admin during the flood: %v", err)
	}
	defer c.Close()
	if out, code := run(t, c, "whoami", ""); code != 0 {
		t.Fatalf("whoami: %d %s", code, out)
	}
	t.Logf("flood: %d of 200 held open; admin logged in after %v", alive, time.Since(start))
}

// An unauthenticated connection is closed at the handshake deadline, an
// idle one at the idle timeout.
func TestTimeouts(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t), handshake: time.Second, idle: 500 * time.Millisecond})
	c, err := net.Dial("tcp", f.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1024)
	var rerr error
	for rerr == nil {
		_, rerr = c.Read(b) // the server's version line, then EOF
	}
	var ne net.Error
	if errors.As(rerr, &ne) && ne.Timeout() {
		t.Fatal("a silent client was not disconnected at the handshake deadline")
	}
	cl, err := f.dial("", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cl.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle connection was not closed")
	}
}

// The server follows commits: a new address must be bindable or the
// commit is refused; a moved port listens at once; sessions on the old one
// go on; a deleted account's connections close.
func TestFollowsCommits(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	old, err := f.dial("", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

	// A port someone else holds: the commit is refused, nothing changes.
	busy, err := net.Listen("tcp", net.JoinHostPort(f.ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	d := store.NewDraft(f.db, "admin", "test")
	d.Update(func(c *config.Config) error { c.Interfaces[0].SSH.Port = busyPort; return nil })
	if _, err := d.Commit(t.Context(), "busy", false, f.srv.Prepare); err == nil || !strings.Contains(err.Error(), "SSH on interface Management") {
		t.Fatalf("commit onto a busy port: %v", err)
	}
	if got := f.srv.Addrs(); len(got) != 1 || got[0] != f.addr() {
		t.Fatalf("listening on %v after a refused commit", got)
	}

	f.commit(func(c *config.Config) { c.Interfaces[0].SSH.Port = 2223 })
	f.port = 2223
	if got := f.srv.Addrs(); len(got) != 1 || got[0] != f.addr() {
		t.Fatalf("listening on %v, want %s", got, f.addr())
	}
	if _, err := net.DialTimeout("tcp", net.JoinHostPort(f.ip, "2222"), time.Second); err == nil {
		t.Fatal("the old port still accepts")
	}
	c, err := f.dial("", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatalf("login on the new port: %v", err)
	}
	defer c.Close()
	if out, code := run(t, old, "whoami", ""); code != 0 {
		t.Fatalf("session on the old port: %d %s", code, out)
	}
	// Unrelated commits are not held hostage by an address that was
	// configured but could not be bound.
	f.commit(func(c *config.Config) { c.Hostname = "other.example.com" })

	f.commit(func(c *config.Config) {
		for i, u := range c.Users {
			if u.Name == "alice" {
				c.Users = append(c.Users[:i], c.Users[i+1:]...)
				break
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- old.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the deleted account's connection is still open")
	}
	// SSH disabled on the interface: it stops listening.
	f.commit(func(c *config.Config) { c.Interfaces[0].SSH.Enabled = false })
	if got := f.srv.Addrs(); len(got) != 0 {
		t.Fatalf("still listening on %v with SSH disabled", got)
	}
}

func TestHostKeysStable(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	a, err := HostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated in %v", time.Since(start))
	infos := Describe(a)
	if len(infos) != 2 || infos[0].Type != "ED25519" || infos[1].Type != "RSA" || infos[1].Bits != 3072 {
		t.Fatalf("host keys: %+v", infos)
	}
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		st, err := os.Stat(filepath.Join(dir, HostKeyDir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, st.Mode(), err)
		}
	}
	os.Chmod(filepath.Join(dir, HostKeyDir, "ssh_host_rsa_key"), 0o644)
	b, err := HostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if string(a[i].PublicKey().Marshal()) != string(b[i].PublicKey().Marshal()) {
			t.Fatalf("host key %d changed across loads", i)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, HostKeyDir, "ssh_host_rsa_key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("a readable host key was not tightened: %v", st.Mode())
	}
}

// A client that disconnects in the middle of a dialog loses only its own
// draft; another session's staged changes and commits are untouched.
func TestDisconnectMidDialog(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	a, err := f.dial("127.0.0.7", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.dial("127.0.0.8", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ain, aout, await := shellSession(t, a)
	bin, bout, bwait := shellSession(t, b)
	aout.waitFor(t, "esa.example.com> ", 1)
	bout.waitFor(t, "esa.example.com> ", 1)
	fmt.Fprint(ain, "sethostname\ngone.example.com\nuserconfig\nnew\nzed\n")
	aout.waitFor(t, "Enter the full name for zed.", 1)
	fmt.Fprint(bin, "sethostname\nkept.example.com\n")
	bout.waitFor(t, "esa.example.com> ", 2)
	if got := len(f.sh.Sessions()); got != 2 {
		t.Fatalf("%d sessions listed, want 2", got)
	}
	a.Close() // mid-dialog
	await()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.sh.Sessions()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the closed session is still listed: %+v", f.sh.Sessions())
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprint(bin, "commit\nkept\n\n")
	bout.waitFor(t, "kept.example.com> ", 1)
	bin.Close()
	bwait()
	h := f.db.Head()
	if h.Config.Hostname != "kept.example.com" || accounts.FindUser(h.Config, "zed") != nil || h.Meta.User != "alice" {
		t.Fatalf("head after the disconnect: %q %+v", h.Config.Hostname, h.Meta)
	}
}
