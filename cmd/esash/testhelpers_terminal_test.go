package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"esash/sshd"
)

// Helpers for the tmux-driven terminal tests (terminal_test.go): a private
// tmux server, the panes the shell runs in, and the daemon of attached mode.

const (
	// termDeadline bounds every wait for the screen to show something.
	termDeadline = 10 * time.Second
	termPoll     = 20 * time.Millisecond
	termCols     = "100"
	termRows     = "30"
)

// buildEsash builds the binary under test once into a temporary directory.
func buildEsash(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cannot find the go tool to build esash: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "esash")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// termEnv is the environment every process the tests start gets: ours,
// without anything that would tie it to an outer tmux or change esash.
func termEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "TMUX" || k == "TMUX_PANE" || strings.HasPrefix(k, "ESASH_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tmuxServer is a private tmux server on its own socket.
type tmuxServer struct {
	path, sock string
	env        []string
	pid        int // the server's
	n          atomic.Int64
}

// startTmux starts a private tmux server, killed when t ends. A missing
// tmux is a failure: `make test` installs it.
func startTmux(t *testing.T) *tmuxServer {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux is not installed (%v): the terminal tests drive the shell through tmux; `make test` installs it", err)
	}
	s := &tmuxServer{
		path: path,
		sock: fmt.Sprintf("esash-test-%d-%d", os.Getpid(), time.Now().UnixNano()),
		env:  termEnv(),
	}
	var socket string
	t.Cleanup(func() {
		if out, err := s.cmd("kill-server"); err != nil {
			t.Logf("tmux kill-server: %v\n%s", err, out)
		}
		if socket != "" {
			os.Remove(socket) // tmux leaves it behind
		}
	})
	// A placeholder session keeps the server up while the tests open and
	// close theirs; dead panes stay so that their exit status can be read.
	if out, err := s.cmd("new-session", "-d", "-s", "keepalive", "-x", termCols, "-y", termRows, "sleep", "600",
		";", "set-option", "-g", "-w", "remain-on-exit", "on",
		";", "set-option", "-g", "history-limit", "10000"); err != nil {
		t.Fatalf("starting tmux: %v\n%s", err, out)
	}
	out, err := s.cmd("display-message", "-p", "-t", "keepalive", "#{pid} #{socket_path}")
	pid, sp, _ := strings.Cut(strings.TrimSpace(out), " ")
	socket = sp
	if s.pid, err = strconv.Atoi(pid); err != nil {
		t.Fatalf("tmux server pid: %q: %v", out, err)
	}
	return s
}

func (s *tmuxServer) cmd(args ...string) (string, error) {
	c := exec.Command(s.path, append([]string{"-L", s.sock, "-f", "/dev/null"}, args...)...)
	c.Env = s.env
	out, err := c.CombinedOutput()
	return string(out), err
}

// pane is one tmux pane running a command.
type pane struct {
	t   *testing.T
	srv *tmuxServer
	id  string // %N
}

// open starts argv in a new detached session of the server's fixed size,
// with extra environment variables.
func (s *tmuxServer) open(t *testing.T, env []string, argv ...string) *pane {
	t.Helper()
	args := []string{"new-session", "-d", "-P", "-F", "#{pane_id}",
		"-s", fmt.Sprintf("s%d", s.n.Add(1)), "-x", termCols, "-y", termRows}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	out, err := s.cmd(append(args, argv...)...)
	if err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	p := &pane{t: t, srv: s, id: strings.TrimSpace(out)}
	t.Cleanup(func() { s.cmd("kill-pane", "-t", p.id) })
	return p
}

// screen is everything the pane shows and scrolled off, wrapped lines
// joined and trailing spaces kept.
func (p *pane) screen() string {
	p.t.Helper()
	out, err := p.srv.cmd("capture-pane", "-p", "-J", "-S", "-", "-t", p.id)
	if err != nil {
		p.t.Fatalf("tmux capture-pane: %v\n%s", err, out)
	}
	return out
}

// keys sends tmux key names (Enter, C-c, Up, Tab) and text in one
// send-keys call.
func (p *pane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.srv.cmd(append([]string{"send-keys", "-t", p.id}, keys...)...); err != nil {
		p.t.Fatalf("tmux send-keys %q: %v\n%s", keys, err, out)
	}
}

// literal types text as is, in one send-keys call ("\r" is Enter).
func (p *pane) literal(text string) {
	p.t.Helper()
	if out, err := p.srv.cmd("send-keys", "-t", p.id, "-l", "--", text); err != nil {
		p.t.Fatalf("tmux send-keys -l %q: %v\n%s", text, err, out)
	}
}

// waitUntil polls the screen until ok accepts it and returns that screen;
// past the deadline it fails showing the screen.
func (p *pane) waitUntil(what string, ok func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(termDeadline)
	for {
		s := p.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("after %v the terminal still does not show %s; it shows:\n%s%s", termDeadline, what, s, p.deadNote())
		}
		time.Sleep(termPoll)
	}
}

// expect waits for want anywhere on the screen or in its history.
func (p *pane) expect(want string) string {
	p.t.Helper()
	return p.waitUntil(fmt.Sprintf("%q", want), func(s string) bool { return strings.Contains(s, want) })
}

// expectLine waits for a line matching re.
func (p *pane) expectLine(re string) string {
	p.t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	return p.waitUntil(fmt.Sprintf("a line matching /%s/", re), rx.MatchString)
}

// step does send and then waits until each of wants appears once more
// than it did before: the screen keeps earlier occurrences (the previous
// prompt), so only new ones show that send took effect.
func (p *pane) step(send func(), wants ...string) string {
	p.t.Helper()
	before := p.screen()
	counts := make([]int, len(wants))
	for i, w := range wants {
		counts[i] = strings.Count(before, w)
	}
	send()
	return p.waitUntil(fmt.Sprintf("one more of each of %q", wants), func(s string) bool {
		for i, w := range wants {
			if strings.Count(s, w) <= counts[i] {
				return false
			}
		}
		return true
	})
}

// line types text and Enter, then waits for wants as step does.
func (p *pane) line(text string, wants ...string) string {
	p.t.Helper()
	return p.step(func() { p.literal(text + "\r") }, wants...)
}

// press sends keys, then waits for wants as step does.
func (p *pane) press(keys []string, wants ...string) string {
	p.t.Helper()
	return p.step(func() { p.keys(keys...) }, wants...)
}

// state reports whether the pane's command has exited and how: "3" for
// an exit status, "signal 9" for a signal, "" while tmux has not reaped it.
func (p *pane) state() (dead bool, status string) {
	p.t.Helper()
	// tmux built with utempter can miss the SIGCHLD of a pane that exits
	// while another pane is being opened (tmux/tmux#311, #4559): the
	// command stays a zombie and its pane alive. The signal makes the
	// server reap it.
	syscall.Kill(p.srv.pid, syscall.SIGCHLD)
	out, err := p.srv.cmd("display-message", "-p", "-t", p.id, "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}")
	if err != nil {
		p.t.Fatalf("tmux display-message: %v\n%s", err, out)
	}
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 3 || f[0] != "1" {
		return false, ""
	}
	if f[2] != "" {
		return true, "signal " + f[2]
	}
	return true, f[1]
}

func (p *pane) deadNote() string {
	if dead, st := p.state(); dead {
		return fmt.Sprintf("\n(the command has exited: status %q)", st)
	}
	return ""
}

// alive fails if the pane's command has exited.
func (p *pane) alive() {
	p.t.Helper()
	if dead, st := p.state(); dead {
		p.t.Fatalf("the shell exited (status %q); the terminal shows:\n%s", st, p.screen())
	}
}

// exited waits for the pane's command to exit and checks its status.
func (p *pane) exited(wantStatus string) {
	p.t.Helper()
	deadline := time.Now().Add(termDeadline)
	for {
		dead, st := p.state()
		if dead && st != "" {
			if st != wantStatus {
				p.t.Fatalf("the shell exited with status %s, want %s; the terminal shows:\n%s", st, wantStatus, p.screen())
			}
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("after %v the shell has not exited; the terminal shows:\n%s", termDeadline, p.screen())
		}
		time.Sleep(termPoll)
	}
}

// termAppliance is one data directory the shell is opened on, in-process
// or attached to its daemon.
type termAppliance struct {
	t        *testing.T
	srv      *tmuxServer
	bin      string
	data     string
	env      []string // ESASH_DATA, ESASH_FACTORY_IP
	attached bool
}

func newTermAppliance(t *testing.T, srv *tmuxServer, bin string, attached bool) *termAppliance {
	t.Helper()
	a := &termAppliance{t: t, srv: srv, bin: bin, data: filepath.Join(t.TempDir(), "data"), attached: attached}
	seedHostKeys(t, a.data)
	a.env = []string{"ESASH_DATA=" + a.data, "ESASH_FACTORY_IP=" + termLoopback()}
	if attached {
		startDaemon(t, bin, a.data, a.env)
	}
	return a
}

var termLoopbackSeq atomic.Uint32

// termLoopback gives each appliance its own loopback address for the
// factory Management interface, so that the MTA and SSH listeners of
// appliances running at once do not collide. The range is apart from the
// other tests' 127.1-127.3 and depends on our pid, so that two test
// processes running at once rarely meet.
func termLoopback() string {
	pid := os.Getpid()
	return fmt.Sprintf("127.%d.%d.%d", 200+pid/250%50, pid%250, termLoopbackSeq.Add(1)%250+1)
}

// shell opens `esash` (data directory from ESASH_DATA) in a new pane.
func (a *termAppliance) shell() *pane {
	a.t.Helper()
	return a.srv.open(a.t, a.env, a.bin)
}

// lockedBuffer is a bytes.Buffer safe for a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon runs `esash serve --data dir` with env added until t ends,
// then stops it with SIGTERM and checks that it exits 0.
func startDaemon(t *testing.T, bin, dir string, env []string) {
	t.Helper()
	var out lockedBuffer
	cmd := exec.Command(bin, "serve", "--data", dir)
	cmd.Env = append(termEnv(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("esash serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-done:
			t.Errorf("esash serve exited before the test stopped it: %v\n%s", err, out.String())
			return
		default:
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("esash serve: SIGTERM: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("esash serve exited with %v after SIGTERM, want status 0; it printed:\n%s", err, out.String())
			}
		case <-time.After(termDeadline):
			cmd.Process.Kill()
			<-done
			t.Errorf("esash serve did not exit within %v of SIGTERM; it printed:\n%s", termDeadline, out.String())
		}
	})
	sock := filepath.Join(dir, socketFile)
	deadline := time.Now().Add(termDeadline)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("esash serve: console socket %s: %v", sock, err)
		}
		select {
		case err := <-done:
			done <- err // let the cleanup report it too
			t.Fatalf("esash serve exited before serving: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("esash serve: no console socket at %s after %v; it printed:\n%s", sock, termDeadline, out.String())
		}
		time.Sleep(termPoll)
	}
}

var (
	hostKeysOnce sync.Once
	hostKeyFiles map[string][]byte
	hostKeysErr  error
)

// seedHostKeys gives a new data directory the SSH host keys made once for
// the whole test binary: every terminal appliance serves SSH (the daemon,
// and the in-process console too), and a dozen RSA-3072 keys generated at
// once under the race detector slowed the suite past its timeouts.
// Generating them is tested in sshd.
func seedHostKeys(t *testing.T, data string) {
	t.Helper()
	hostKeysOnce.Do(func() {
		dir, err := os.MkdirTemp("", "esash-hostkeys-")
		if err != nil {
			hostKeysErr = err
			return
		}
		defer os.RemoveAll(dir)
		if _, hostKeysErr = sshd.HostKeys(dir); hostKeysErr != nil {
			return
		}
		ents, err := os.ReadDir(filepath.Join(dir, sshd.HostKeyDir))
		if err != nil {
			hostKeysErr = err
			return
		}
		hostKeyFiles = map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sshd.HostKeyDir, e.Name()))
			if err != nil {
				hostKeysErr = err
				return
			}
			hostKeyFiles[e.Name()] = b
		}
	})
	if hostKeysErr != nil {
		t.Fatalf("host keys: %v", hostKeysErr)
	}
	kd := filepath.Join(data, sshd.HostKeyDir)
	if err := os.MkdirAll(kd, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range hostKeyFiles {
		if err := os.WriteFile(filepath.Join(kd, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
