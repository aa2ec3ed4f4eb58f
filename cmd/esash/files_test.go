package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// File transfer end to end: `esash serve` against OpenSSH's scp (SFTP,
// its default), scp -O (the legacy protocol) and sftp -b.

// xferBase are sshBase's options for scp and sftp (-P, not -p), to port.
func (a *sshAppliance) xferBase(port string) []string {
	base := a.sshBase()
	for i := range base {
		if base[i] == "-p" {
			base[i], base[i+1] = "-P", port
		}
	}
	return base
}

// remote is user@esa:path.
func (a *sshAppliance) remote(user, path string) string { return user + "@" + a.ip + ":" + path }

// xferKey runs scp or sftp (tool and its arguments) as admin with the
// admin key.
func (a *sshAppliance) xferKey(tool string, args ...string) sshResult {
	a.t.Helper()
	argv := append([]string{tool}, a.xferBase("2222")...)
	argv = append(argv, "-i", a.key("admin"), "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no")
	return a.run(nil, "", append(argv, args...)...)
}

// xferPass runs scp or sftp by password (sshpass), with stdin (sftp's
// commands: -b would forbid passwords).
func (a *sshAppliance) xferPass(pw, stdin, tool string, args ...string) sshResult {
	a.t.Helper()
	argv := append([]string{"sshpass", "-e", tool}, a.xferBase("2222")...)
	argv = append(argv, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
		"-o", "NumberOfPasswordPrompts=1")
	return a.run([]string{"SSHPASS=" + pw}, stdin, append(argv, args...)...)
}

func (a *sshAppliance) confDir() string { return filepath.Join(a.dir, "configuration") }

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSSHFileTransfer: saveconfig then download with each client and each
// spelling of the path; upload a CA certificate (scp -O) and a PKCS#12
// file (scp, sftp) that certconfig IMPORT takes at once; paths outside
// the directory, '..' and a symbolic link refused both ways.
func TestSSHFileTransfer(t *testing.T) {
	t.Parallel()
	needTools(t, "scp", "sftp", "openssl")
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	local := t.TempDir()

	// Download after saveconfig.
	r := a.withKey("admin", "admin", "", "saveconfig 1")
	name := regexp.MustCompile(`(?m)^(\S+\.xml)$`).FindString(r.out)
	if r.code != 0 || name == "" {
		t.Fatalf("saveconfig: %d\n%s", r.code, r.out)
	}
	saved := readFile(t, filepath.Join(a.confDir(), name))
	for i, dl := range [][]string{
		{"scp", a.remote("admin", "/configuration/"+name)},
		{"scp", "-O", a.remote("admin", "/configuration/"+name)},
		{"scp", "-O", a.remote("admin", "configuration/"+name)},
		{"scp", a.remote("admin", name)},
		{"scp", "-O", a.remote("admin", "/configuration/*.xml")},
	} {
		dst := filepath.Join(local, "dl", string(rune('a'+i)))
		os.MkdirAll(dst, 0o700)
		if r := a.xferKey(dl[0], append(dl[1:], dst+"/")...); r.code != 0 {
			t.Fatalf("%q: %d\n%s", dl, r.code, r.out)
		}
		if got := readFile(t, filepath.Join(dst, name)); got != saved {
			t.Errorf("%q: downloaded file differs from the saved one", dl)
		}
	}
	batch := writeFile(t, filepath.Join(local, "get.batch"), "pwd\ncd /configuration\nls\nget "+name+" "+local+"/sftp.xml\n")
	if r := a.xferKey("sftp", "-b", batch, "admin@"+a.ip); r.code != 0 ||
		!strings.Contains(r.out, name) || readFile(t, filepath.Join(local, "sftp.xml")) != saved {
		t.Fatalf("sftp -b get: %d\n%s", r.code, r.out)
	}

	// Upload, then certconfig IMPORT reads the files at once.
	key, ca, p12 := filepath.Join(local, "k.pem"), filepath.Join(local, "ca.pem"), filepath.Join(local, "up.p12")
	openssl(t, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
		"-out", ca, "-subj", "/CN=up.example.com", "-days", "800")
	openssl(t, "pkcs12", "-export", "-in", ca, "-inkey", key, "-passout", "pass:s3cret", "-out", p12)
	if r := a.xferKey("scp", "-O", ca, a.remote("admin", "/configuration/")); r.code != 0 {
		t.Fatalf("scp -O upload: %d\n%s", r.code, r.out)
	}
	if r := a.xferKey("scp", p12, a.remote("admin", "configuration/up.p12")); r.code != 0 {
		t.Fatalf("scp upload: %d\n%s", r.code, r.out)
	}
	put := writeFile(t, filepath.Join(local, "put.batch"), "put "+p12+" /configuration/up2.p12\n")
	if r := a.xferKey("sftp", "-b", put, "admin@"+a.ip); r.code != 0 {
		t.Fatalf("sftp -b put: %d\n%s", r.code, r.out)
	}
	for _, n := range []string{"ca.pem", "up.p12", "up2.p12"} {
		if st, err := os.Stat(filepath.Join(a.confDir(), n)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("uploaded %s: %v %v, want mode 0600", n, st.Mode(), err)
		}
	}
	r = a.withKey("admin", "admin", "certconfig\ncertauthority\ncustom\nimport\nca.pem\nN\n\n\n"+
		"certificate\nimport\nup\nup.p12\ns3cret\nN\nimport\nup2\nup2.p12\ns3cret\nN\n\n\ncommit\nuploaded\nN\n")
	if r.code != 0 || !strings.Contains(r.out, "Imported 1 custom certificate authority: up.example.com.") ||
		!strings.Contains(r.out, "Certificate profile up imported from up.p12") ||
		!strings.Contains(r.out, "Certificate profile up2 imported from up2.p12") || !strings.Contains(r.out, "Changes committed:") {
		t.Fatalf("certconfig IMPORT of the uploads: %d\n%s", r.code, r.out)
	}

	// Outside the directory, '..', and a link: refused both ways.
	secret := writeFile(t, filepath.Join(local, "secret"), "outside\n")
	if err := os.Symlink(secret, filepath.Join(a.confDir(), "link")); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"scp -O outside", []string{"-O", a.remote("admin", "/etc/hostname"), local + "/x1"}, "outside the configuration directory"},
		{"scp outside", []string{a.remote("admin", "/etc/hostname"), local + "/x2"}, ""},
		{"scp -O dotdot", []string{"-O", a.remote("admin", "../config.db"), local + "/x3"}, "'..' is not accepted"},
		{"scp -O link", []string{"-O", a.remote("admin", "/configuration/link"), local + "/x4"}, "symbolic link"},
		{"scp link", []string{a.remote("admin", "/configuration/link"), local + "/x5"}, ""},
		{"scp -O upload outside", []string{"-O", ca, a.remote("admin", local+"/x6")}, "outside the configuration directory"},
		{"scp upload outside", []string{ca, a.remote("admin", local+"/x7")}, ""},
		{"scp -O upload link", []string{"-O", ca, a.remote("admin", "/configuration/link")}, "symbolic link"},
		{"scp upload link", []string{ca, a.remote("admin", "/configuration/link")}, ""},
	}
	for _, c := range refusals {
		r := a.xferKey("scp", c.args...)
		if r.code == 0 || !strings.Contains(r.out, c.want) {
			t.Errorf("%s: %d, want a failure saying %q:\n%s", c.name, r.code, c.want, r.out)
		}
	}
	for i := 1; i <= 7; i++ {
		if _, err := os.Stat(filepath.Join(local, "x"+string(rune('0'+i)))); err == nil {
			t.Errorf("refused transfer %d left a file", i)
		}
	}
	if readFile(t, secret) != "outside\n" {
		t.Error("an upload wrote through the link")
	}
	sftpOut := writeFile(t, filepath.Join(local, "out.batch"), "get /etc/hostname "+local+"/x8\n")
	if r := a.xferKey("sftp", "-b", sftpOut, "admin@"+a.ip); r.code == 0 {
		t.Errorf("sftp -b get /etc/hostname succeeded:\n%s", r.out)
	}
	log := a.authLog()
	for _, want := range []string{
		"The user admin downloaded /configuration/" + name,
		"The user admin uploaded /configuration/ca.pem (",
		"over SCP from 127.0.0.1.", "over SFTP from 127.0.0.1.",
		`was refused reading "/configuration/link" over SCP: Error reading file: "link" is a symbolic link`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("authentication log lacks %q:\n%s", want, log)
		}
	}
}

func openssl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %q: %v\n%s", args, err, out)
	}
}

// TestSSHFileTransferRoles: operators and read-only operators log in but
// transfer nothing, either way, with either protocol.
func TestSSHFileTransferRoles(t *testing.T) {
	t.Parallel()
	needTools(t, "scp", "sftp")
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	r := a.withKey("admin", "admin", "userconfig\nnew\nro\nRead Only\n3\nro-pass-123\nro-pass-123\nnew\nop\nOperator\n2\nop-pass-123\nop-pass-123\n\ncommit\nroles\n\n")
	if r.code != 0 {
		t.Fatalf("add accounts: %s", r.out)
	}
	os.MkdirAll(a.confDir(), 0o700)
	writeFile(t, filepath.Join(a.confDir(), "backup.xml"), "<config/>\n")
	local := t.TempDir()
	up := writeFile(t, filepath.Join(local, "up.pem"), "data\n")
	for _, u := range []struct{ user, pw string }{{"op", "op-pass-123"}, {"ro", "ro-pass-123"}} {
		for _, c := range []struct {
			name  string
			args  []string
			stdin string
		}{
			{"scp -O get", []string{"scp", "-O", a.remote(u.user, "/configuration/backup.xml"), local + "/"}, ""},
			{"scp get", []string{"scp", a.remote(u.user, "/configuration/backup.xml"), local + "/"}, ""},
			{"scp -O put", []string{"scp", "-O", up, a.remote(u.user, "/configuration/")}, ""},
			{"scp put", []string{"scp", up, a.remote(u.user, "/configuration/")}, ""},
			{"sftp", []string{"sftp", u.user + "@" + a.ip}, "get backup.xml " + local + "/sftp.xml\n"},
		} {
			r := a.xferPass(u.pw, c.stdin, c.args[0], c.args[1:]...)
			if r.code == 0 || !strings.Contains(r.out, "file transfer is for administrators only") {
				t.Errorf("%s %s: %d, want a refusal for administrators only:\n%s", u.user, c.name, r.code, r.out)
			}
		}
	}
	for _, n := range []string{"backup.xml", "sftp.xml"} {
		if _, err := os.Stat(filepath.Join(local, n)); err == nil {
			t.Errorf("a non-administrator downloaded %s", n)
		}
	}
	if _, err := os.Stat(filepath.Join(a.confDir(), "up.pem")); err == nil {
		t.Error("a non-administrator uploaded up.pem")
	}
	if log := a.authLog(); !strings.Contains(log, "The user op from 127.0.0.1 was refused") ||
		!strings.Contains(log, "(the account ro has the readonly role)") {
		t.Errorf("authentication log lacks the refusals:\n%s", log)
	}
}

// TestSSHUploadCut: the connection is cut in the middle of an upload (a
// proxy stops forwarding after some of the file): nothing appears under
// the name, no temporary file stays, with either protocol.
func TestSSHUploadCut(t *testing.T) {
	t.Parallel()
	needTools(t, "scp")
	a := newSSHAppliance(t, sshOpts{adminKey: true})
	local := t.TempDir()
	big := filepath.Join(local, "big.p12")
	if err := os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef"), 256<<10), 0o600); err != nil { // 4 MB
		t.Fatal(err)
	}
	for i, mode := range [][]string{{"-O"}, nil} {
		port := cutProxy(t, a.addr(), 1<<20)
		dst := "/configuration/cut" + string(rune('0'+i)) + ".p12"
		argv := append([]string{"scp"}, a.xferBase(port)...)
		argv = append(argv, "-i", a.key("admin"), "-o", "BatchMode=yes", "-o", "HostKeyAlias="+a.ip)
		argv = append(append(argv, mode...), big, "admin@127.0.0.1:"+dst)
		if r := a.run(nil, "", argv...); r.code == 0 {
			t.Fatalf("scp %q through a cut connection succeeded:\n%s", mode, r.out)
		}
		// The server notices the cut in its own time.
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(a.authLog(), `was refused writing "`+dst+`"`) {
			if time.Now().After(deadline) {
				t.Fatalf("scp %q: the server logged no abandoned upload:\n%s", mode, a.authLog())
			}
			time.Sleep(20 * time.Millisecond)
		}
		entries, _ := os.ReadDir(a.confDir())
		for _, e := range entries {
			t.Errorf("scp %q: the cut upload left %s", mode, e.Name())
		}
	}
	if log := a.authLog(); !strings.Contains(log, "nothing written") {
		t.Errorf("authentication log does not say the upload was dropped:\n%s", log)
	}
}

// cutProxy forwards one connection to target and cuts it once limit bytes
// have gone from the client to the server; it returns its port.
func cutProxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		var once sync.Once
		cut := func() { once.Do(func() { c.Close(); s.Close() }) }
		go func() { io.Copy(c, s); cut() }()
		io.CopyN(s, c, limit)
		cut()
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
