package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeT records what Check reports instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic(f) }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic(f) }
func run(f *fakeT, path, got string) bool {
	defer func() { recover() }()
	Check(f, path, got)
	return !f.failed
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.golden")
	tests := []struct {
		name   string
		update bool
		got    string
		wantOK bool
	}{
		{"missing file fails", false, "a", false},
		{"update records", true, "a\n", true},
		{"same passes", false, "a\n", true},
		{"different fails", false, "b\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.update {
				t.Setenv("ESASH_UPDATE", "1")
			} else {
				t.Setenv("ESASH_UPDATE", "")
			}
			if ok := run(&fakeT{TB: t}, path, tt.got); ok != tt.wantOK {
				t.Fatalf("Check ok = %v, want %v", ok, tt.wantOK)
			}
		})
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Fatalf("recorded %q, %v", b, err)
	}
}
