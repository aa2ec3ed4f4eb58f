package sshd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"esash/accounts"
	"esash/config"
	"esash/shell"
)

// File transfer at the protocol level: the scp exchanges byte by byte and
// pkg/sftp's client, where OpenSSH's clients (cmd/esash/files_test.go)
// cannot be made to misbehave precisely.

// testFiles is cmd/esash's configFiles: the shell's helpers.
type testFiles struct{ s *shell.Session }

func (c testFiles) Open(name string) (*os.File, error) { return c.s.OpenConfigFile(name) }
func (c testFiles) List() ([]fs.FileInfo, error)       { return c.s.ListConfigFiles() }
func (c testFiles) Remove(name string) error           { return c.s.RemoveConfigFile(name) }
func (c testFiles) Create(name string) (Upload, error) {
	up, err := c.s.UploadConfigFile(name, 0o600)
	if err != nil {
		return nil, err
	}
	return up, nil
}

func (c testFiles) RemoveUploadTemps() (int, error) { return c.s.RemoveUploadTemps() }

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		path string
		want target
		err  error
	}{
		{"", target{dir: true}, nil},
		{".", target{dir: true}, nil},
		{"/", target{dir: true}, nil},
		{"/configuration", target{dir: true}, nil},
		{"configuration/", target{dir: true}, nil},
		{"x.p12", target{name: "x.p12"}, nil},
		{"/x.p12", target{name: "x.p12"}, nil},
		{"configuration/x.p12", target{name: "x.p12"}, nil},
		{"/configuration/x.p12", target{name: "x.p12"}, nil},
		{"/configuration/./x.p12", target{name: "x.p12"}, nil},
		{"/configuration/configuration", target{name: "configuration"}, nil},
		{"/etc/passwd", target{}, errOutside},
		{"/configuration/sub/x", target{}, errOutside},
		{"../config.db", target{}, errDotDot},
		{"/configuration/../config.db", target{}, errDotDot},
		{"/configuration/..", target{}, errDotDot},
		{"bad\nname", target{}, errBadName},
		{".upload-0123", target{}, errReserved},
	} {
		t.Run(c.path, func(t *testing.T) {
			got, err := resolve(c.path)
			if !errors.Is(err, c.err) || got != c.want {
				t.Errorf("resolve(%q) = %+v, %v; want %+v, %v", c.path, got, err, c.want, c.err)
			}
		})
	}
}

func TestParseSCPArgs(t *testing.T) {
	for _, c := range []struct {
		name, cmd string
		want      scpArgs
		err       string
	}{
		{"upload", "scp -t /configuration/", scpArgs{sink: true, paths: []string{"/configuration/"}}, ""},
		{"OpenSSH flags", "scp -v -r -p -d -t -- -x", scpArgs{sink: true, recursive: true, preserve: true, dirTarget: true, paths: []string{"-x"}}, ""},
		{"grouped", "scp -pf a b", scpArgs{source: true, preserve: true, paths: []string{"a", "b"}}, ""},
		{"neither", "scp x", scpArgs{}, "exactly one of -t"},
		{"both", "scp -t -f x", scpArgs{}, "exactly one of -t"},
		{"two targets", "scp -t a b", scpArgs{}, "exactly one target"},
		{"no path", "scp -f", scpArgs{}, "at least one path"},
		{"client option", "scp -S /bin/sh -t x", scpArgs{}, "unsupported option -S"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseSCPArgs(strings.Fields(c.cmd))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       header
		ok         bool
	}{
		{"file", "C0644 1234 backup.xml", header{kind: 'C', mode: 0o644, size: 1234, name: "backup.xml"}, true},
		{"space in name", "C0600 0 a b", header{kind: 'C', mode: 0o600, name: "a b"}, true},
		{"dir", "D0755 0 sub", header{kind: 'D', mode: 0o755, name: "sub"}, true},
		{"times", "T1700000000 0 1700000000 0", header{kind: 'T'}, true},
		{"end", "E", header{kind: 'E'}, true},
		{"slash", "C0644 1 ../x", header{}, false},
		{"dotdot", "C0644 1 ..", header{}, false},
		{"dot", "C0644 1 .", header{}, false},
		{"no name", "C0644 1 ", header{}, false},
		{"negative", "C0644 -1 x", header{}, false},
		{"plus", "C0644 +1 x", header{}, false},
		{"leading zero", "C0644 01 x", header{}, false},
		{"overflow", "C0644 99999999999999999999 x", header{}, false},
		{"bad mode", "C0648 1 x", header{}, false},
		{"short mode", "C644 1 x", header{}, false},
		{"bad times", "T1 0 x 0", header{}, false},
		{"E with text", "Ex", header{}, false},
		{"unknown", "X", header{}, false},
		{"empty", "", header{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseHeader(c.line)
			if (err == nil) != c.ok || c.ok && got != c.want {
				t.Fatalf("parseHeader(%q) = %+v, %v", c.line, got, err)
			}
		})
	}
}

// FuzzSCPHeader: any line parses or is refused without panic; what is
// accepted is a sane header that prints back to itself.
func FuzzSCPHeader(f *testing.F) {
	for _, s := range []string{"C0644 1234 backup.xml", "D0755 0 sub", "T1 0 2 0", "E", "C0644 1 ../x", "C0777 9223372036854775807 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h, err := parseHeader(line)
		if err != nil {
			return
		}
		switch h.kind {
		case 'C', 'D':
			if h.size < 0 || h.mode > 0o7777 || h.name == "" || h.name == "." || h.name == ".." || strings.Contains(h.name, "/") {
				t.Fatalf("%q accepted as %+v", line, h)
			}
			if back := fmt.Sprintf("%c%04o %d %s", h.kind, h.mode, h.size, h.name); back != line {
				t.Fatalf("%q accepted, prints back as %q", line, back)
			}
		case 'T', 'E':
		default:
			t.Fatalf("%q accepted as kind %q", line, h.kind)
		}
	})
}

// scpExec starts `cmd` (an scp server side) on a new session.
func scpExec(t *testing.T, c *gossh.Client, cmd string) (io.WriteCloser, *bufio.Reader, *gossh.Session) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Start(cmd); err != nil {
		t.Fatal(err)
	}
	return in, bufio.NewReader(out), s
}

// expect reads the server's status: "" for 0, else its message.
func expect(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	b, err := r.ReadByte()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if b == 0 {
		if want != "" {
			t.Fatalf("status 0, want %q", want)
		}
		return
	}
	msg, _ := r.ReadString('\n')
	if want == "" || !strings.Contains(msg, want) {
		t.Fatalf("status %d %q, want %q", b, msg, want)
	}
}

// wantFiles checks the configuration directory holds exactly these
// admin is an SSH connection of admin's, closed when the test ends.
func (f *fixture) admin(t *testing.T) *gossh.Client {
	t.Helper()
	c, err := f.dial("", "admin", gossh.Password(adminPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// adminSFTP is an SFTP client on a connection of admin's.
func (f *fixture) adminSFTP(t *testing.T) (*gossh.Client, *sftp.Client) {
	t.Helper()
	c := f.admin(t)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

// names (temporary files included).
func (f *fixture) wantFiles(t *testing.T, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(f.dir, "configuration"))
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("configuration directory holds %q, want %q", got, names)
	}
}

// waitLog waits for the server's log to show want.
func (f *fixture) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(f.log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never showed %q:\n%s", want, f.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSCPSink: refusals before the data (too large, a directory) and
// after it (the client reports a read error) leave nothing and the
// session goes on; a good file is committed with mode 0600; the exit
// status says something failed.
func TestSCPSink(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t), maxFile: 1000})
	c := f.admin(t)
	in, out, s := scpExec(t, c, "scp -d -t /configuration/")
	expect(t, out, "")
	io.WriteString(in, "C0644 5000 big.p12\n")
	expect(t, out, "scp: /configuration/big.p12: the file is larger than the appliance accepts (at most 1000 bytes)")
	io.WriteString(in, "D0755 0 sub\n")
	expect(t, out, "no subdirectories")
	io.WriteString(in, "T1700000000 0 1700000000 0\n")
	expect(t, out, "")
	io.WriteString(in, "C0644 5 ok.pem\n")
	expect(t, out, "")
	io.WriteString(in, "hello\x00")
	expect(t, out, "")
	io.WriteString(in, "C0644 3 bad.pem\n")
	expect(t, out, "")
	io.WriteString(in, "abc\x01scp: bad.pem: read error\n")
	expect(t, out, "nothing written: the client reported: scp: bad.pem: read error")
	io.WriteString(in, "C0644 3 bad\x7fname\n")
	expect(t, out, "control characters")
	in.Close()
	var ee *gossh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	f.wantFiles(t, "ok.pem")
	st, err := os.Stat(filepath.Join(f.dir, "configuration", "ok.pem"))
	if data, _ := os.ReadFile(filepath.Join(f.dir, "configuration", "ok.pem")); err != nil || string(data) != "hello" || st.Mode().Perm() != 0o600 {
		t.Errorf("ok.pem: %q %v %v", data, st.Mode(), err)
	}
	if !strings.Contains(f.log.String(), "The user admin uploaded /configuration/ok.pem (5 bytes) over SCP from 127.0.0.1.") {
		t.Errorf("log:\n%s", f.log)
	}

	// A header that is not one ends the session with a fatal error.
	in, out, s = scpExec(t, c, "scp -t x.pem")
	expect(t, out, "")
	io.WriteString(in, "C0644 12x x.pem\n")
	expect(t, out, "protocol error: malformed size in file header")
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("exit after a protocol error: %v, want status 1", err)
	}
}

// TestSCPSource: -r sends the directory's regular files (not the link),
// -p their times; a missing file is a warning and the rest goes on.
func TestSCPSource(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	dir := filepath.Join(f.dir, "configuration")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "a.xml"), []byte("AAA"), 0o600)
	os.Symlink("/etc/hostname", filepath.Join(dir, "link"))
	c := f.admin(t)
	in, out, s := scpExec(t, c, "scp -r -p -f /configuration nope.xml")
	in.Write([]byte{0})
	var got bytes.Buffer
	readLine := func() string {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		got.WriteString(line)
		return line
	}
	if l := readLine(); l != "D0700 0 configuration\n" {
		t.Fatalf("got %q", l)
	}
	in.Write([]byte{0})
	if l := readLine(); !strings.HasPrefix(l, "T") {
		t.Fatalf("got %q, want times", l)
	}
	in.Write([]byte{0})
	if l := readLine(); l != "C0600 3 a.xml\n" {
		t.Fatalf("got %q", l)
	}
	in.Write([]byte{0})
	data := make([]byte, 4)
	if _, err := io.ReadFull(out, data); err != nil || string(data) != "AAA\x00" {
		t.Fatalf("data %q %v", data, err)
	}
	in.Write([]byte{0})
	if l := readLine(); l != "E\n" {
		t.Fatalf("got %q, want E (the link is not sent)", l)
	}
	in.Write([]byte{0})
	if l := readLine(); l != "\x01scp: /configuration/nope.xml: Error reading file: the file \"nope.xml\" does not exist in the configuration directory.\n" {
		t.Fatalf("got %q", l)
	}
	in.Close()
	var ee *gossh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}

	// With a pty the channel would alter the data: refused.
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	outPty, err := s.CombinedOutput("scp -f a.xml")
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 || !strings.Contains(string(outPty), "without a terminal") {
		t.Errorf("scp on a pty: %v %q", err, outPty)
	}
}

// TestSCPUploadCut: the connection drops halfway through a file's data:
// no file under the name, no temporary file left.
func TestSCPUploadCut(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	c := f.admin(t)
	in, out, _ := scpExec(t, c, "scp -t /configuration/cut.p12")
	expect(t, out, "")
	io.WriteString(in, "C0644 100000 cut.p12\n")
	expect(t, out, "")
	in.Write(bytes.Repeat([]byte("x"), 50000))
	c.Close()
	f.waitLog(t, `was refused writing "/configuration/cut.p12" over SCP: nothing written: 50000 of 100000 bytes received`)
	f.wantFiles(t)
}

// TestSFTPUploadCut: the same over SFTP, and a file over the size limit.
func TestSFTPUploadCut(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t), maxFile: 100000})
	c, sc := f.adminSFTP(t)
	big, err := sc.Create("/configuration/big.p12")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := big.Write(bytes.Repeat([]byte("x"), 150000))
	cerr := big.Close()
	if werr == nil && cerr == nil {
		t.Error("an upload over the limit succeeded")
	}
	fw, err := sc.Create("configuration/cut.p12")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bytes.Repeat([]byte("x"), 50000)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	f.waitLog(t, `was refused writing "/configuration/cut.p12" over SFTP: nothing written: the session ended during the upload`)
	f.waitLog(t, `was refused writing "/configuration/big.p12" over SFTP: nothing written: the file is larger`)
	f.wantFiles(t)
}

// TestSFTPRoles: an operator's sftp subsystem is refused; an
// administrator demoted during a session is refused at the next file.
func TestSFTPRoles(t *testing.T) {
	users := append(testUsers(t), config.User{Name: "bob", FullName: "Bob", Role: config.RoleAdmin, PasswordHash: hash(t, "bob-pass-123")})
	f := newFixture(t, fixtureOpts{users: users})
	op, err := f.dial("", "alice", gossh.PublicKeys(aliceKey()))
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := sftp.NewClient(op); err == nil {
		t.Error("an operator opened an SFTP session")
	}
	f.waitLog(t, `The user alice from 127.0.0.1 was refused opening "sftp" over SFTP: file transfer is for administrators only (the account alice has the operator role)`)

	bob, err := f.dial("", "bob", gossh.Password("bob-pass-123"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sc, err := sftp.NewClient(bob)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sc.Create("first.pem")
	if err == nil {
		_, err = w.Write([]byte("one"))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatalf("an administrator's upload: %v", err)
	}
	if infos, err := sc.ReadDir("/configuration"); err != nil || len(infos) != 1 || infos[0].Name() != "first.pem" {
		t.Fatalf("listing: %v %v", infos, err)
	}
	f.commit(func(c *config.Config) { accounts.FindUser(c, "bob").Role = config.RoleOperator })
	if _, err := sc.Create("second.pem"); err == nil || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("upload after the demotion: %v, want permission denied", err)
	}
	if _, err := sc.Open("first.pem"); err == nil {
		t.Error("download after the demotion succeeded")
	}
	f.wantFiles(t, "first.pem")
}

// TestSFTPWholeFiles: an upload replaces a whole file, so appending,
// resuming into an existing file and leaving holes are refused, and the
// file keeps what it had.
func TestSFTPWholeFiles(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	os.MkdirAll(filepath.Join(f.dir, "configuration"), 0o700)
	os.WriteFile(filepath.Join(f.dir, "configuration", "keep.pem"), []byte("kept"), 0o600)
	_, sc := f.adminSFTP(t)
	for _, flags := range []int{os.O_WRONLY | os.O_APPEND, os.O_WRONLY} {
		if _, err := sc.OpenFile("keep.pem", flags); err == nil {
			t.Errorf("open with flags %#x succeeded", flags)
		}
	}
	w, err := sc.Create("holes.pem")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("tail"), 100); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("a file with a hole was accepted")
	}
	f.wantFiles(t, "keep.pem")
	if data, _ := os.ReadFile(filepath.Join(f.dir, "configuration", "keep.pem")); string(data) != "kept" {
		t.Errorf("keep.pem: %q", data)
	}
}

// TestSFTPOpenFilesBounded: one SFTP session cannot hold more than
// maxOpenFiles files open at once: each open upload holds two
// descriptors and a temporary file, and pkg/sftp keeps handles without
// limit, so a client could otherwise exhaust the appliance's descriptors
// (the MTA's too). Closing one frees its place.
func TestSFTPOpenFilesBounded(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	_, sc := f.adminSFTP(t)
	var open []*sftp.File
	for i := range maxOpenFiles {
		w, err := sc.Create(fmt.Sprintf("f%d.pem", i))
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		open = append(open, w)
	}
	if _, err := sc.Create("one-too-many.pem"); err == nil {
		t.Fatalf("the session opened more than %d files at once", maxOpenFiles)
	}
	if _, err := sc.Open("f0.pem"); err == nil {
		t.Fatalf("a download opened past the limit of %d files", maxOpenFiles)
	}
	f.waitLog(t, `was refused writing "/one-too-many.pem" over SFTP: too many files open`)
	if err := open[0].Close(); err != nil {
		t.Fatal(err)
	}
	w, err := sc.Create("after-close.pem")
	if err != nil {
		t.Fatalf("open after a close: %v", err)
	}
	w.Close()
	for _, w := range open[1:] {
		w.Close()
	}
}

// TestSFTPExclusiveCreate: an open with O_EXCL of a file that exists
// fails and leaves it as it was (a no-clobber upload), as on a disk.
func TestSFTPExclusiveCreate(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	os.MkdirAll(filepath.Join(f.dir, "configuration"), 0o700)
	os.WriteFile(filepath.Join(f.dir, "configuration", "keep.pem"), []byte("kept"), 0o600)
	_, sc := f.adminSFTP(t)
	if w, err := sc.OpenFile("keep.pem", os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_TRUNC); err == nil {
		w.Write([]byte("clobbered"))
		w.Close()
		t.Error("an exclusive create of an existing file succeeded")
	}
	if data, _ := os.ReadFile(filepath.Join(f.dir, "configuration", "keep.pem")); string(data) != "kept" {
		t.Errorf("keep.pem: %q", data)
	}
	w, err := sc.OpenFile("new.pem", os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_TRUNC)
	if err != nil {
		t.Fatalf("an exclusive create of a new file: %v", err)
	}
	w.Write([]byte("new"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.wantFiles(t, "keep.pem", "new.pem")
}

// TestSFTPHoleAfterOverlap: writing the same range twice does not make up
// for a range never written: the file still has a hole and is refused.
func TestSFTPHoleAfterOverlap(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	_, sc := f.adminSFTP(t)
	w, err := sc.Create("overlap.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 0, 20} {
		if _, err := w.WriteAt(bytes.Repeat([]byte("x"), 10), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil {
		t.Error("a file with a hole at 10-20 was accepted")
	}
	f.wantFiles(t)
}

func TestAddSpan(t *testing.T) {
	tests := []struct {
		name   string
		writes []span
		want   []span
	}{
		{"in order", []span{{0, 10}, {10, 20}}, []span{{0, 20}}},
		{"out of order", []span{{10, 20}, {0, 10}}, []span{{0, 20}}},
		{"hole", []span{{0, 10}, {20, 30}}, []span{{0, 10}, {20, 30}}},
		{"overlap", []span{{0, 10}, {0, 10}, {20, 30}}, []span{{0, 10}, {20, 30}}},
		{"fills a hole", []span{{0, 10}, {20, 30}, {5, 25}}, []span{{0, 30}}},
		{"before all", []span{{20, 30}, {0, 5}}, []span{{0, 5}, {20, 30}}},
		{"spans many", []span{{0, 1}, {2, 3}, {4, 5}, {1, 4}}, []span{{0, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []span
			for _, w := range tt.writes {
				got = addSpan(got, w.from, w.to)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSFTPOpenDirsBounded: directory handles count against the same
// limit as files: each holds a copy of the listing until closed, and
// pkg/sftp keeps handles without limit.
func TestSFTPOpenDirsBounded(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	h := &sftpHandlers{x: f.srv.newXfer("admin", "127.0.0.1", "SFTP")}
	var open []sftp.ListerAt
	for i := range maxOpenFiles {
		l, err := h.Filelist(sftp.NewRequest("List", "/configuration"))
		if err != nil {
			t.Fatalf("opendir %d: %v", i, err)
		}
		open = append(open, l)
	}
	if _, err := h.Filelist(sftp.NewRequest("List", "/configuration")); err == nil {
		t.Fatalf("more than %d directory handles open at once", maxOpenFiles)
	}
	if _, err := h.Filelist(sftp.NewRequest("Stat", "/configuration")); err != nil {
		t.Errorf("a stat, which holds no handle, was refused: %v", err)
	}
	c, ok := open[0].(io.Closer)
	if !ok {
		t.Fatal("a directory handle cannot be closed")
	}
	c.Close()
	if _, err := h.Filelist(sftp.NewRequest("List", "/configuration")); err != nil {
		t.Errorf("opendir after a close: %v", err)
	}
}

// plantLeftover writes an upload temporary as a crash leaves it.
func plantLeftover(t *testing.T, dataDir, name string) {
	t.Helper()
	dir := filepath.Join(dataDir, "configuration")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUploadLeftoversRemoved: the temporary file a crash left behind is
// removed when the server starts; one left after start (an Abort whose
// unlink failed) is never listed over SFTP nor sent by scp -r, and is
// removed after the next failed upload when no other upload is running.
func TestUploadLeftoversRemoved(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t), before: func(dir string) {
		plantLeftover(t, dir, ".upload-0123456789abcdef")
		plantLeftover(t, dir, "kept.pem")
	}})
	f.wantFiles(t, "kept.pem")
	f.waitLog(t, "Removed 1 temporary file(s) of unfinished uploads from /configuration (at start).")

	plantLeftover(t, f.dir, ".upload-fedcba9876543210")
	c, sc := f.adminSFTP(t)
	infos, err := sc.ReadDir("/configuration")
	if err != nil || len(infos) != 1 || infos[0].Name() != "kept.pem" {
		t.Fatalf("listing = %v, %v; want kept.pem alone", infos, err)
	}
	// A refused upload (scp's client reports a read error) fails after
	// its temporary file was made: the sweep follows.
	in, out, s := scpExec(t, c, "scp -t /configuration/bad.pem")
	expect(t, out, "")
	io.WriteString(in, "C0644 3 bad.pem\n")
	expect(t, out, "")
	io.WriteString(in, "abc\x01scp: bad.pem: read error\n")
	expect(t, out, "nothing written")
	in.Close()
	s.Wait()
	f.waitLog(t, "Removed 1 temporary file(s) of unfinished uploads from /configuration (after a failed upload).")
	f.wantFiles(t, "kept.pem")
}

// TestConfigDirLimits: uploads stop at the directory's bounds, with an
// error naming the limit: a new name when it holds as many files as it
// may (replacing a file of the directory still works), bytes announced by
// scp before any data, bytes over SFTP as they arrive; nothing is left.
func TestConfigDirLimits(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	f.srv.uploads.mu.Lock()
	f.srv.uploads.maxFiles, f.srv.uploads.maxBytes = 2, 100
	f.srv.uploads.mu.Unlock()
	c := f.admin(t)
	in, out, s := scpExec(t, c, "scp -d -t /configuration/")
	expect(t, out, "")
	for _, name := range []string{"a.pem", "b.pem"} {
		io.WriteString(in, "C0644 10 "+name+"\n")
		expect(t, out, "")
		io.WriteString(in, "0123456789\x00")
		expect(t, out, "")
	}
	io.WriteString(in, "C0644 10 c.pem\n")
	expect(t, out, "scp: /configuration/c.pem: the configuration directory holds as many files as it may: at most 2 files (MaxConfigFiles); remove one first")
	io.WriteString(in, "C0644 91 a.pem\n")
	expect(t, out, "the configuration directory would exceed the space it may use: at most 100 bytes in all (MaxConfigBytes), 10 used")
	io.WriteString(in, "C0644 20 a.pem\n") // replacing a.pem: 10 + 20 fits
	expect(t, out, "")
	io.WriteString(in, "01234567890123456789\x00")
	expect(t, out, "")
	in.Close()
	s.Wait()

	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := sc.Create("/configuration/b.pem")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := fw.Write(bytes.Repeat([]byte("x"), 150))
	cerr := fw.Close()
	if werr == nil && cerr == nil {
		t.Fatal("an SFTP upload past the directory's bytes succeeded")
	}
	f.waitLog(t, `was refused writing "/configuration/b.pem" over SFTP: nothing written: the configuration directory would exceed the space it may use: at most 100 bytes in all (MaxConfigBytes)`)
	if _, err := sc.Create("/configuration/c.pem"); err == nil || !strings.Contains(err.Error(), "at most 2 files") {
		t.Errorf("SFTP create of a third file: %v", err)
	}
	f.wantFiles(t, "a.pem", "b.pem")
	if data, _ := os.ReadFile(filepath.Join(f.dir, "configuration", "b.pem")); string(data) != "0123456789" {
		t.Errorf("b.pem = %q, want its previous content", data)
	}
}
