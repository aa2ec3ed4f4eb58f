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
