package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers for the SSH tests (ssh_test.go): an `esash serve` on a loopback
// address of its own, and the real OpenSSH client, sshpass and ssh-keyscan
// against it. A missing client is a failure: `make deps` installs them.

var sshSeq atomic.Uint32

// sshIP hands out 127.44.P.N: P from the process, so that test binaries
// running at the same time do not share addresses.
func sshIP() string {
	n := sshSeq.Add(1)
	return fmt.Sprintf("127.44.%d.%d", os.Getpid()%250+1, n%250+1)
}

// needTools fails the test when a peer is missing.
func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (%v): the SSH tests use the real OpenSSH client; run `make deps` (scripts/testdeps.sh)", tool, err)
		}
	}
}

// sshAppliance is a daemon serving SSH.
type sshAppliance struct {
	t    testing.TB
	bin  string
	dir  string
	ip   string
	env  []string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
	tmp  string // client files: keys, known_hosts
}

type sshOpts struct {
	adminKey bool     // start with --admin-key (the admin key in tmp/admin)
	env      []string // extra environment
}

func newSSHAppliance(t testing.TB, o sshOpts) *sshAppliance {
	t.Helper()
	needTools(t, "ssh", "ssh-keygen", "ssh-keyscan", "sshpass")
	a := &sshAppliance{t: t, bin: esashBinary(t), dir: filepath.Join(t.TempDir(), "data"), ip: sshIP(), tmp: t.TempDir()}
	a.env = append(termEnv(), "ESASH_FACTORY_IP="+a.ip)
	a.env = append(a.env, o.env...)
	a.keygen("admin")
	a.keygen("other")
	var args []string
	if o.adminKey {
		args = append(args, "--admin-key", a.key("admin")+".pub")
	}
	a.start(args...)
	t.Cleanup(a.stop)
	return a
}

func (a *sshAppliance) key(name string) string { return filepath.Join(a.tmp, name) }

// keygen makes an Ed25519 key pair tmp/name, tmp/name.pub.
func (a *sshAppliance) keygen(name string) {
	a.t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", a.key(name)).CombinedOutput(); err != nil {
		a.t.Fatalf("ssh-keygen: %v %s", err, out)
	}
}

func (a *sshAppliance) pub(name string) string {
	a.t.Helper()
	b, err := os.ReadFile(a.key(name) + ".pub")
	if err != nil {
		a.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (a *sshAppliance) addr() string { return net.JoinHostPort(a.ip, "2222") }

// start runs the daemon and waits until SSH listens.
func (a *sshAppliance) start(args ...string) {
	a.t.Helper()
	a.out = &lockedBuffer{}
	a.cmd = exec.Command(a.bin, append([]string{"serve", "--data", a.dir}, args...)...)
	a.cmd.Env = a.env
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(a.cmd, a.done)
	want := "ssh listening on " + a.addr()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(a.out.String(), want) {
		select {
		case err := <-a.done:
			a.done <- err
			a.t.Fatalf("esash serve exited: %v\n%s", err, a.out)
		default:
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("esash serve: SSH not listening after 60s:\n%s", a.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the daemon with SIGTERM; it must exit 0.
func (a *sshAppliance) stop() {
	if a.cmd == nil {
		return
	}
	cmd := a.cmd
	a.cmd = nil
	select {
	case err := <-a.done:
		a.t.Errorf("esash serve exited before it was stopped: %v\n%s", err, a.out)
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.done:
		if err != nil {
			a.t.Errorf("esash serve after SIGTERM: %v\n%s", err, a.out)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-a.done
		a.t.Errorf("esash serve did not stop within 20s of SIGTERM:\n%s", a.out)
	}
}

func (a *sshAppliance) restart(args ...string) {
	a.t.Helper()
	a.stop()
	a.start(args...)
}

// console runs `esash --data DIR` attached to the daemon, input on stdin.
func (a *sshAppliance) console(stdin string, args ...string) (string, int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, append([]string{"--data", a.dir}, args...)...)
	cmd.Env = a.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("esash: %v", err)
	}
	return string(out), code
}

// authentication log of the daemon.
func (a *sshAppliance) authLog() string {
	b, _ := os.ReadFile(filepath.Join(a.dir, "logs", "authentication", "authentication.current"))
	return string(b)
}

// sshBase are the options every client run gets: no user configuration,
// a known_hosts of the test's own that must match after the first
// connection.
func (a *sshAppliance) sshBase() []string {
	return []string{"-F", "/dev/null", "-p", "2222",
		"-o", "UserKnownHostsFile=" + filepath.Join(a.tmp, "known_hosts"),
		"-o", "StrictHostKeyChecking=accept-new",
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10",
		"-o", "IdentityAgent=none", "-o", "IdentitiesOnly=yes"}
}

// keyArgs log in as user with the key tmp/key.
func (a *sshAppliance) keyArgs(user, key string) []string {
	return append(a.sshBase(), "-i", a.key(key), "-o", "BatchMode=yes",
		"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", user+"@"+a.ip)
}

// passArgs log in as user by password (sshpass supplies it from SSHPASS).
func (a *sshAppliance) passArgs(user string) []string {
	return append(a.sshBase(), "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
		"-o", "NumberOfPasswordPrompts=1", user+"@"+a.ip)
}

// sshResult is one client run.
type sshResult struct {
	out  string // stdout and stderr
	code int
}

// ssh runs a client: argv[0] is ssh or sshpass, env extra variables.
func (a *sshAppliance) run(env []string, stdin string, argv ...string) sshResult {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(termEnv(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		a.t.Fatalf("%q did not finish:\n%s", argv, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("%q: %v", argv, err)
	}
	return sshResult{out.String(), code}
}

// withKey runs `ssh user@esa cmd` with a key; cmd "" reads a script from
// stdin.
func (a *sshAppliance) withKey(user, key, stdin string, cmd ...string) sshResult {
	a.t.Helper()
	return a.run(nil, stdin, append(append([]string{"ssh"}, a.keyArgs(user, key)...), cmd...)...)
}

// withPassword runs `sshpass -e ssh user@esa cmd`.
func (a *sshAppliance) withPassword(user, pw, stdin string, cmd ...string) sshResult {
	a.t.Helper()
	return a.run([]string{"SSHPASS=" + pw}, stdin, append(append([]string{"sshpass", "-e", "ssh"}, a.passArgs(user)...), cmd...)...)
}

// pipeSession is a script session over ssh fed line by line.
type pipeSession struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin interface {
		Write([]byte) (int, error)
		Close() error
	}
	out  *lockedBuffer
	done chan error
}

func (a *sshAppliance) pipe(t *testing.T, argv ...string) *pipeSession {
	t.Helper()
	return a.pipeEnv(t, nil, argv...)
}

func (a *sshAppliance) pipeEnv(t *testing.T, env []string, argv ...string) *pipeSession {
	t.Helper()
	p := &pipeSession{t: t, out: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(termEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	in, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = in
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
	})
	return p
}

// send writes lines, then waits until the output shows want n times.
func (p *pipeSession) send(lines, want string, n int) string {
	p.t.Helper()
	if lines != "" {
		if _, err := p.stdin.Write([]byte(lines)); err != nil {
			p.t.Fatalf("write %q: %v\n%s", lines, err, p.out)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.out.String()
		if strings.Count(s, want) >= n {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("after %q: no %d× %q in:\n%s", lines, n, want, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// end closes the input and returns the exit status.
func (p *pipeSession) end() int {
	p.t.Helper()
	p.stdin.Close()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		p.t.Fatalf("session did not end:\n%s", p.out)
		return -1
	}
}
