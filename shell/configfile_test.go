package shell

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fileCmd runs f with the session's data directory set to dir.
func fileCmd(dir string, f func(s *Session) error) Command {
	return testCmd{"file", func(s *Session, _ []string) error {
		s.DataDir = dir
		return f(s)
	}}
}

// TestConfigFileRoundTrip: WriteConfigFile makes the directory, writes
// with the mode asked and leaves no temporary file; ReadConfigFile reads it
// back.
func TestConfigFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	out, code, _ := runSession(t, false, "file\n", fileCmd(dir, func(s *Session) error {
		if err := s.WriteConfigFile("a.txt", []byte("one\n"), 0o600); err != nil {
			return err
		}
		if err := s.WriteConfigFile("a.txt", []byte("two\n"), 0o640); err != nil {
			return err
		}
		data, err := s.ReadConfigFile("a.txt")
		if err != nil {
			return err
		}
		s.Printf("read %q\n", data)
		return nil
	}))
	if code != 0 || !strings.Contains(out, `read "two\n"`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	cfg := filepath.Join(dir, "configuration")
	entries, _ := os.ReadDir(cfg)
	if len(entries) != 1 {
		t.Errorf("configuration directory holds %d files, want 1", len(entries))
	}
	if st, err := os.Stat(filepath.Join(cfg, "a.txt")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, %v; want 0640", st.Mode().Perm(), err)
	}
}

// TestConfigFileErrors: every refusal reads as AsyncOS's message.
func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "configuration")
	if err := os.MkdirAll(filepath.Join(cfg, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(cfg, "fifo"), 0o600); err != nil {
		t.Fatal("mkfifo:", err)
	}
	for _, tc := range []struct{ name, want string }{
		{"missing.txt", `Error reading file: the file "missing.txt" does not exist in the configuration directory.`},
		{"sub", `Error reading file: "sub" is not a regular file.`},
		{"fifo", `Error reading file: "fifo" is not a regular file.`},
		{"../x", CheckFileName("../x")},
	} {
		runSession(t, false, "file\n", fileCmd(dir, func(s *Session) error {
			_, err := s.ReadConfigFile(tc.name)
			if err == nil || err.Error() != tc.want {
				t.Errorf("ReadConfigFile(%q) = %v, want %q", tc.name, err, tc.want)
			}
			if tc.name == "missing.txt" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadConfigFile(%q) = %v, not fs.ErrNotExist", tc.name, err)
			}
			return nil
		}))
	}
	runSession(t, false, "file\n", fileCmd(dir, func(s *Session) error {
		if err := s.WriteConfigFile("sub", []byte("x"), 0o600); err == nil || err.Error() != "Error writing file." {
			t.Errorf("WriteConfigFile over a directory = %v", err)
		}
		if err := s.WriteConfigFile("a/b", []byte("x"), 0o600); err == nil || err.Error() != CheckFileName("a/b") {
			t.Errorf("WriteConfigFile(a/b) = %v", err)
		}
		return nil
	}))
}

// TestAskConfigFile: a bad name is asked again on a terminal and ends a
// script.
func TestAskConfigFile(t *testing.T) {
	cmd := fileCmd(t.TempDir(), func(s *Session) error {
		name, err := s.AskConfigFile("Enter the name of the file to import.", "")
		if err != nil {
			return err
		}
		s.Printf("name=%s\n", name)
		return nil
	})
	out, _, _ := runSession(t, true, "file\n../etc/passwd\nok.txt\n", cmd)
	want := "[]> ../etc/passwd\n" + CheckFileName("../etc/passwd") + "\nEnter the name of the file to import.\n[]> ok.txt\nname=ok.txt\n"
	if !strings.Contains(out, want) {
		t.Errorf("terminal output lacks %q:\n%s", want, out)
	}
	out, code, _ := runSession(t, false, "file\n../etc/passwd\nok.txt\n", cmd)
	if code == 0 || strings.Contains(out, "name=") {
		t.Errorf("a script went on after a bad file name (exit %d):\n%s", code, out)
	}
}

// TestConfigFileSymlinks (issue 12, item 9): links in the configuration
// directory, or in its place, are never followed: not to read, not to
// write, wherever they point.
func TestConfigFileSymlinks(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "configuration")
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(outside, []byte("precious\n"), 0o644)
	os.WriteFile(filepath.Join(cfg, "inside.txt"), []byte("inside\n"), 0o600)
	os.Symlink(outside, filepath.Join(cfg, "out"))
	os.Symlink("inside.txt", filepath.Join(cfg, "in"))
	untouched := func() {
		t.Helper()
		st, err := os.Stat(outside)
		b, _ := os.ReadFile(outside)
		if err != nil || st.Mode().Perm() != 0o644 || string(b) != "precious\n" {
			t.Fatalf("the file outside changed: %v %v %q", st.Mode(), err, b)
		}
	}
	for _, name := range []string{"out", "in"} {
		runSession(t, false, "file\n", fileCmd(dir, func(s *Session) error {
			want := `Error reading file: "` + name + `" is a symbolic link, which the configuration directory does not follow.`
			if _, err := s.ReadConfigFile(name); err == nil || err.Error() != want {
				t.Errorf("ReadConfigFile(%q) = %v, want %q", name, err, want)
			}
			if err := s.WriteConfigFile(name, []byte("export\n"), 0o600); err != nil {
				t.Errorf("WriteConfigFile(%q) = %v", name, err)
			}
			return nil
		}))
		// The export replaced the link with a file of its own.
		st, err := os.Lstat(filepath.Join(cfg, name))
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Errorf("%s after the export: %v %v", name, st.Mode(), err)
		}
		untouched()
	}
	if b, _ := os.ReadFile(filepath.Join(cfg, "inside.txt")); string(b) != "inside\n" {
		t.Errorf("the export through a link inside changed its target: %q", b)
	}

	// The configuration directory itself a link to somewhere else.
	dir2 := t.TempDir()
	elsewhere := filepath.Dir(outside)
	os.Symlink(elsewhere, filepath.Join(dir2, "configuration"))
	runSession(t, false, "file\n", fileCmd(dir2, func(s *Session) error {
		want := "the configuration directory is not a directory (a symbolic link is not followed)"
		if _, err := s.ReadConfigFile("precious"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("read through a linked directory = %v", err)
		}
		if err := s.WriteConfigFile("precious", []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("write through a linked directory = %v", err)
		}
		if f, err := s.CreateConfigFile("new.xml", 0o600); err == nil {
			f.Close()
			t.Errorf("create through a linked directory succeeded")
		}
		return nil
	}))
	untouched()
	if _, err := os.Stat(filepath.Join(elsewhere, "new.xml")); err == nil {
		t.Error("a file was created through the linked directory")
	}
}

// TestCreateConfigFile: a new file only (O_EXCL), never through a link.
func TestCreateConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "configuration")
	outside := filepath.Join(t.TempDir(), "target")
	os.MkdirAll(cfg, 0o700)
	os.Symlink(outside, filepath.Join(cfg, "dangling"))
	runSession(t, false, "file\n", fileCmd(dir, func(s *Session) error {
		f, err := s.CreateConfigFile("a.xml", 0o600)
		if err != nil {
			t.Fatalf("CreateConfigFile: %v", err)
		}
		f.Write([]byte("a"))
		f.Close()
		if _, err := s.CreateConfigFile("a.xml", 0o600); !errors.Is(err, fs.ErrExist) {
			t.Errorf("CreateConfigFile over an existing file = %v, want fs.ErrExist", err)
		}
		if _, err := s.CreateConfigFile("dangling", 0o600); !errors.Is(err, fs.ErrExist) {
			t.Errorf("CreateConfigFile over a dangling link = %v, want fs.ErrExist", err)
		}
		return nil
	}))
	if _, err := os.Stat(outside); err == nil {
		t.Error("a file was created through a dangling link")
	}
}
