package destconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esash/config"
	"esash/shell/shelltest"
)

// newAppliance is a shell with destconfig over a fresh store whose factory
// configuration edit may change.
func newAppliance(t testing.TB, edit func(c *config.Config)) *shelltest.Appliance {
	t.Helper()
	return shelltest.NewAppliance(t, shelltest.Options{Factory: edit}, New())
}

func withEntries(n int) func(c *config.Config) {
	return func(c *config.Config) {
		for i := range n {
			e := config.DestControl{Domain: fmt.Sprintf("d%05d.example.com", i)}
			switch i % 4 {
			case 1:
				e.TLS = config.TLSOutRequired
			case 2:
				e.MaxConcurrency, e.RecipientLimit, e.RecipientMinutes = 10+i%90, 100, 60
			case 3:
				e.Domain = ".sub" + e.Domain
				e.DANE = config.DANEOpportunistic
			}
			c.Destinations.Entries = append(c.Destinations.Entries, e)
		}
	}
}

// TestInteractive: on a terminal a bad answer is asked again, and a
// refused import brings the menu back with nothing staged: the entry added
// before it is the only change.
func TestInteractive(t *testing.T) {
	a := newAppliance(t, nil)
	os.WriteFile(filepath.Join(a.Dir, "configuration", "bad.ini"), []byte("[DEFAULT]\ntls = sometimes\n"), 0o600)
	got, _, _ := a.Run(true, "destconfig\nnew\nbad_name.example.com\nok.example.com\n"+strings.Repeat("\n", 10)+
		"import\nbad.ini\nimport\nmissing.ini\nimport\n../etc/passwd\n\n\nshowchanges\n")
	for _, want := range []string{
		"[]> bad_name.example.com\nInvalid hostname format: valid characters are letters, digits, hyphens and dots.\nEnter the domain you wish to configure.\n[]> ok.example.com\n",
		"Import failed: line 2: The value of tls must be one of off, on, require, on_verify, require_verify, not \"sometimes\". Nothing was imported.\n",
		"Error reading file: the file \"missing.ini\" does not exist in the configuration directory.\n",
		"[]> ../etc/passwd\nThe value must be a file name in the configuration directory, without '/' or '..'.\nEnter the name of the file to import.\n[]> \n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	changes := got[strings.LastIndex(got, "> showchanges\n"):]
	if !strings.Contains(changes, "destinations.entries[ok.example.com]") || strings.Count(changes, "destinations.") != 1 {
		t.Errorf("staged changes after the refused imports:\n%s", changes)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	a := newAppliance(t, withEntries(200))
	out, code, s := a.Run(false, "destconfig\nexport\nall.ini\nclear\nimport\nall.ini\n\n")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if chs := s.Draft.Changes(); len(chs) != 0 {
		t.Errorf("export then import changed %d settings, first %s", len(chs), chs[0].Path)
	}
}

// Benchmarks of the command through a real session over a store holding
// 10,000 destination entries (go test -bench . ./commands/destconfig).

func benchSession(b *testing.B, a *shelltest.Appliance, input string, check func(out string)) {
	b.ReportAllocs()
	for b.Loop() {
		out, code, _ := a.Run(false, input)
		if code != 0 && code != 2 {
			b.Fatalf("exit %d: %s", code, out[max(0, len(out)-500):])
		}
		if check != nil {
			check(out)
		}
	}
}

func BenchmarkList10k(b *testing.B) {
	a := newAppliance(b, withEntries(10000))
	benchSession(b, a, "destconfig\nlist\n\n", func(out string) {
		if !strings.Contains(out, "d09998.example.com") {
			b.Fatal("LIST misses an entry")
		}
	})
}

func BenchmarkDetail10k(b *testing.B) {
	a := newAppliance(b, withEntries(10000))
	b.Run("all", func(b *testing.B) { benchSession(b, a, "destconfig\ndetail\nall\n\n", nil) })
	b.Run("one", func(b *testing.B) { benchSession(b, a, "destconfig\ndetail\nmx.subd09999.example.com\n\n", nil) })
}

func BenchmarkImport10k(b *testing.B) {
	a := newAppliance(b, nil)
	c := config.Factory(config.Certificate{})
	withEntries(10000)(c)
	file := config.FormatDestinations(&c.Destinations)
	if err := os.WriteFile(filepath.Join(a.Dir, "configuration", "big.ini"), file, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	benchSession(b, a, "destconfig\nimport\nbig.ini\n\n", func(out string) {
		if !strings.Contains(out, "Imported 10000 entries") {
			b.Fatal("import failed")
		}
	})
}
