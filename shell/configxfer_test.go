package shell

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// dirNames lists a directory, hidden files included.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestConfigUpload: nothing is under the name before Commit; Commit puts
// the whole file there with the mode asked; Abort leaves the old file and
// no temporary one.
func TestConfigUpload(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "configuration")
	s := &Session{DataDir: dir}
	up, err := s.UploadConfigFile("a.p12", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("one"))
	if _, err := os.Stat(filepath.Join(cfg, "a.p12")); err == nil {
		t.Fatal("the name exists before Commit")
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(cfg, "a.p12")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("after Commit: %v %v", st, err)
	}
	up, err = s.UploadConfigFile("a.p12", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("half"))
	if err := up.Abort(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(cfg, "a.p12")); string(data) != "one" {
		t.Errorf("after Abort: %q, want the old content", data)
	}
	if got := dirNames(t, cfg); got != "a.p12" {
		t.Errorf("directory holds %q", got)
	}
	if err := up.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// TestConfigUploadLinks: a link under the name is refused, also one that
// appears during the upload, and the link's target is untouched; a link
// in place of the directory is refused.
func TestConfigUploadLinks(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "configuration")
	os.Mkdir(cfg, 0o700)
	outside := filepath.Join(dir, "outside")
	os.WriteFile(outside, []byte("outside"), 0o600)
	os.Symlink(outside, filepath.Join(cfg, "link"))
	s := &Session{DataDir: dir}
	if _, err := s.UploadConfigFile("link", 0o600); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("upload over a link: %v", err)
	}
	up, err := s.UploadConfigFile("late", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("data"))
	os.Symlink(outside, filepath.Join(cfg, "late"))
	if err := up.Commit(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("commit over a link made meanwhile: %v", err)
	}
	if data, _ := os.ReadFile(outside); string(data) != "outside" {
		t.Errorf("the link's target was written: %q", data)
	}
	if got := dirNames(t, cfg); got != "late link" {
		t.Errorf("directory holds %q", got)
	}
	if err := s.RemoveConfigFile("link"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("remove of a link: %v", err)
	}

	linked := t.TempDir()
	os.Symlink(filepath.Join(dir, "configuration"), filepath.Join(linked, "configuration"))
	s = &Session{DataDir: linked}
	if _, err := s.UploadConfigFile("x", 0o600); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("upload into a linked directory: %v", err)
	}
	if _, err := s.ListConfigFiles(); err == nil {
		t.Error("listing a linked directory succeeded")
	}
}

// TestListAndRemoveConfigFiles: the listing shows links as links and
// leaves out uploads in progress; removal takes regular files only.
func TestListAndRemoveConfigFiles(t *testing.T) {
	dir := t.TempDir()
	s := &Session{DataDir: dir}
	if infos, err := s.ListConfigFiles(); err != nil || len(infos) != 0 {
		t.Fatalf("missing directory: %v %v", infos, err)
	}
	up, err := s.UploadConfigFile("b.pem", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	cfg := filepath.Join(dir, "configuration")
	os.WriteFile(filepath.Join(cfg, "a.xml"), []byte("abc"), 0o600)
	os.Symlink("/etc/hostname", filepath.Join(cfg, "link"))
	os.Mkdir(filepath.Join(cfg, "sub"), 0o700)
	infos, err := s.ListConfigFiles()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileInfo{}
	for _, fi := range infos {
		got[fi.Name()] = fi
	}
	if len(got) != 3 || got["a.xml"].Size() != 3 || !got["a.xml"].Mode().IsRegular() ||
		got["link"].Mode()&fs.ModeSymlink == 0 || !got["sub"].IsDir() {
		t.Fatalf("listing: %v", infos)
	}
	if err := s.RemoveConfigFile("a.xml"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveConfigFile("a.xml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second removal: %v", err)
	}
	if err := s.RemoveConfigFile("sub"); err == nil {
		t.Error("removed a directory")
	}
	if err := s.RemoveConfigFile("../config.db"); err == nil {
		t.Error("removed outside the directory")
	}
}
