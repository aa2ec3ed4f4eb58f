// Package webtest drives real headless Chromium for the HTTPS tests: a
// browser profile that trusts a test root through an NSS database (the
// way an administrator's browser trusts a company CA, with full chain
// validation), host names mapped to loopback addresses, one-shot runs
// (--dump-dom, --screenshot) and a small DevTools client over
// --remote-debugging-pipe to fill in forms and take screenshots.
//
// Only tests import it. A missing browser fails the test:
// scripts/testdeps.sh installs chromium and libnss3-tools.
package webtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need returns the paths of chromium and certutil, failing the test when
// either is missing.
func Need(t testing.TB) (chromium, certutil string) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Fatal("chromium is not installed: the HTTPS tests use real headless Chromium; run `make deps` (scripts/testdeps.sh)")
	}
	p, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatal("certutil is not installed (Debian libnss3-tools): run `make deps` (scripts/testdeps.sh)")
	}
	return chromium, p
}

// Browser is a Chromium installation with its own HOME, whose NSS
// database trusts the given roots.
type Browser struct {
	t        testing.TB
	bin      string
	home     string
	resolver string
}

// New prepares a browser trusting roots (PEM) and resolving each host of
// hosts (name → IP) to its address; every other name fails to resolve.
func New(t testing.TB, roots []string, hosts map[string]string) *Browser {
	t.Helper()
	bin, certutil := Need(t)
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %q: %v\n%s", args, err, out)
		}
	}
	run("-N", "-d", "sql:"+db, "--empty-password")
	for i, r := range roots {
		f := filepath.Join(home, fmt.Sprintf("root%d.pem", i))
		if err := os.WriteFile(f, []byte(r), 0o600); err != nil {
			t.Fatal(err)
		}
		run("-A", "-d", "sql:"+db, "-t", "C,,", "-n", fmt.Sprintf("esash-test-root-%d", i), "-i", f)
	}
	var rules []string
	for name, ip := range hosts {
		rules = append(rules, "MAP "+name+" "+ip)
	}
	rules = append(rules, "MAP * ~NOTFOUND")
	return &Browser{t: t, bin: bin, home: home, resolver: strings.Join(rules, ", ")}
}

func (b *Browser) args(extra ...string) []string {
	return append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
		"--user-data-dir=" + b.t.TempDir(),
		"--host-resolver-rules=" + b.resolver,
	}, extra...)
}

func (b *Browser) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.bin, b.args(args...)...)
	cmd.Env = append(os.Environ(), "HOME="+b.home)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run starts Chromium once (for --dump-dom or --screenshot) and returns
// what it printed. The error is the process's.
func (b *Browser) Run(args ...string) (stdout, stderr string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := b.command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// LoadError is the "Page load failed: net::ERR_..." line Chromium prints
// when a one-shot run could not load its page, "" when there is none.
func LoadError(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if _, after, ok := strings.Cut(line, "Page load failed: "); ok {
			return strings.TrimSpace(after)
		}
	}
	return ""
}

// Noise drops Chromium's complaints about the missing desktop bus, which
// say nothing about the test.
func Noise(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "dbus") || strings.Contains(line, "unexpected operator") || line == "" {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// ScreenshotDir is where screenshots are kept after the test: they are
// evidence for people, so they outlive the test's temporary directory.
// ESASH_SCREENSHOTS overrides it.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ESASH_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "esash-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Session is one Chromium process driven over the DevTools protocol on
// a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, messages ending in
// NUL), with one page attached.
type Session struct {
	t       testing.TB
	cmd     *exec.Cmd
	in      io.WriteCloser
	stderr  *syncBuffer
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan message
	events  chan message
	done    chan struct{}
	session string
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start launches Chromium with a blank page to drive; it is closed when
// the test ends.
func (b *Browser) Start() *Session {
	t := b.t
	t.Helper()
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := b.command(context.Background(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd} // fd 3, fd 4
	s := &Session{t: t, cmd: cmd, in: ourEnd, stderr: &syncBuffer{}, waiting: map[int]chan message{},
		events: make(chan message, 256), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	chromeEnd.Close()
	go s.read(fromChrome)
	t.Cleanup(s.Close)

	var target struct {
		TargetInfos []struct {
			TargetID string `json:"targetId"`
			Type     string `json:"type"`
		} `json:"targetInfos"`
	}
	s.call("", "Target.getTargets", nil, &target)
	id := ""
	for _, ti := range target.TargetInfos {
		if ti.Type == "page" {
			id = ti.TargetID
		}
	}
	if id == "" {
		var created struct {
			TargetID string `json:"targetId"`
		}
		s.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &created)
		id = created.TargetID
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	s.call("", "Target.attachToTarget", map[string]any{"targetId": id, "flatten": true}, &att)
	s.session = att.SessionID
	s.Call("Page.enable", nil, nil)
	return s
}

func (s *Session) read(r io.ReadCloser) {
	defer close(s.done)
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(bytes.TrimSuffix(raw, []byte{0}), &m) != nil {
			continue
		}
		if m.ID != 0 {
			s.mu.Lock()
			ch := s.waiting[m.ID]
			delete(s.waiting, m.ID)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case s.events <- m:
		default: // nobody waits for this many events
		}
	}
}

// Call sends a command to the page and decodes its result into out.
func (s *Session) Call(method string, params, out any) {
	s.t.Helper()
	s.call(s.session, method, params, out)
}

func (s *Session) call(session, method string, params, out any) {
	s.t.Helper()
	if err := s.try(session, method, params, out); err != nil {
		s.t.Fatalf("chromium %s: %v\n%s", method, err, Noise(s.stderr.String()))
	}
}

func (s *Session) try(session, method string, params, out any) error {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	ch := make(chan message, 1)
	s.waiting[id] = ch
	s.mu.Unlock()
	p, _ := json.Marshal(params)
	if params == nil {
		p = []byte("{}")
	}
	req, _ := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := s.in.Write(append(req, 0)); err != nil {
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s (%d)", m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-s.done:
		return errors.New("chromium exited")
	case <-time.After(60 * time.Second):
		return errors.New("no answer in 60s")
	}
}

// drain forgets the events received so far.
func (s *Session) drain() {
	for {
		select {
		case <-s.events:
		default:
			return
		}
	}
}

// waitLoad waits for the page's load event. Given the loader of a
// navigation (Page.navigate's loaderId), it waits for the load of that
// navigation's document only: the load event of the page before it (an
// error page, say) can arrive after Navigate drained the events when the
// machine is busy, and reading the DOM then races the new document.
func (s *Session) waitLoad(loaderID string) {
	s.t.Helper()
	deadline := time.After(60 * time.Second)
	navigated := loaderID == ""
	for {
		select {
		case m := <-s.events:
			if m.SessionID != s.session {
				continue
			}
			switch m.Method {
			case "Page.frameNavigated":
				var p struct {
					Frame struct {
						ParentID string `json:"parentId"`
						LoaderID string `json:"loaderId"`
					} `json:"frame"`
				}
				if json.Unmarshal(m.Params, &p) == nil && p.Frame.ParentID == "" && p.Frame.LoaderID == loaderID {
					navigated = true
				}
			case "Page.loadEventFired":
				if navigated {
					return
				}
			}
		case <-s.done:
			s.t.Fatalf("chromium exited\n%s", Noise(s.stderr.String()))
		case <-deadline:
			s.t.Fatalf("chromium: the page did not load in 60s\n%s", Noise(s.stderr.String()))
		}
	}
}

// Navigate loads url and returns Chromium's error for it ("" when the
// page loaded), such as "net::ERR_CERT_AUTHORITY_INVALID".
func (s *Session) Navigate(url string) string {
	s.t.Helper()
	s.drain()
	var res struct {
		ErrorText string `json:"errorText"`
		LoaderID  string `json:"loaderId"`
	}
	s.Call("Page.navigate", map[string]any{"url": url}, &res)
	if res.ErrorText != "" {
		return res.ErrorText
	}
	s.waitLoad(res.LoaderID)
	return ""
}

// Eval runs JavaScript in the page (the test's, not the appliance's: its
// pages have none) and returns the value as JSON.
func (s *Session) Eval(expr string) json.RawMessage {
	s.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	s.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		s.t.Fatalf("chromium: %s: %s", expr, res.ExceptionDetails.Text)
	}
	return res.Result.Value
}

// Submit runs expr, which submits a form, and waits for the page it
// leads to.
func (s *Session) Submit(expr string) {
	s.t.Helper()
	s.drain()
	s.Eval(expr)
	s.waitLoad("")
}

// HTML is the page's DOM as markup.
func (s *Session) HTML() string {
	s.t.Helper()
	var v string
	json.Unmarshal(s.Eval("document.documentElement.outerHTML"), &v)
	return v
}

// URL is the page's address.
func (s *Session) URL() string {
	s.t.Helper()
	var v string
	json.Unmarshal(s.Eval("location.href"), &v)
	return v
}

// Screenshot saves the whole page as PNG in ScreenshotDir and returns
// the path.
func (s *Session) Screenshot(name string) string {
	s.t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	s.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil || len(png) == 0 {
		s.t.Fatalf("chromium screenshot: %v", err)
	}
	path := filepath.Join(ScreenshotDir(s.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// Close ends the browser.
func (s *Session) Close() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.try("", "Browser.close", nil, nil)
	s.in.Close()
	done := make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}
