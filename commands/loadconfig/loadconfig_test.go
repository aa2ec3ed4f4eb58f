package loadconfig_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"esash/commands/ldapconfig"
	"esash/commands/loadconfig"
	"esash/commands/saveconfig"
	"esash/commands/sethostname"
	"esash/commands/showconfig"
	"esash/config"
	"esash/shell/shelltest"
)

var now = shelltest.Now

// newAppliance is a store and shell in a temporary data directory, with
// the commands that save, show and load configurations.
func newAppliance(t *testing.T) *shelltest.Appliance {
	t.Helper()
	a := shelltest.NewAppliance(t, shelltest.Options{},
		ldapconfig.New(), saveconfig.New(), showconfig.New(), loadconfig.New(), sethostname.New())
	a.Source = "script"
	return a
}

// run feeds a script to a session and returns what it printed.
func run(a *shelltest.Appliance, script string) (string, int) {
	out, code, _ := a.Run(false, script)
	return out, code
}

const ldapServer = "ldapconfig\nnew\ncorp\nldap.example.com\nn\n2\ncn=esa\nbind-secret-1\nbind-secret-1\nn\n2\n\n\n\n\ncommit ldap\n"

// TestAudit: every export and load is in the audit trail, the plain one
// included, and no entry holds a secret.
func TestAudit(t *testing.T) {
	a := newAppliance(t)
	if out, code := run(a, ldapServer+"saveconfig 3\nshowconfig 1\n"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	b := newAppliance(t)
	name := config.ExportFileName(now)
	data, err := os.ReadFile(filepath.Join(a.Dir, "configuration", name))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.Dir, "configuration", "backup.xml"), data, 0o600)
	if out, code := run(b, "loadconfig backup.xml\ncommit loaded\n"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var got []string
	for _, app := range []*shelltest.Appliance{a, b} {
		entries, err := app.DB.AuditLog(10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			got = append(got, e.Action+": "+e.Detail)
			if strings.Contains(e.Detail, "bind-secret-1") || strings.Contains(e.Detail, "PRIVATE KEY") {
				t.Errorf("audit entry holds a secret: %+v", e)
			}
		}
	}
	for _, want := range []string{
		"export: saveconfig " + name + ", passphrases plain",
		"export: showconfig, passphrases masked",
		"load: loadconfig backup.xml (passphrases plain): ",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no audit entry %q in %q", want, got)
		}
	}
	// The loaded configuration is the saved one.
	if d := config.Diff(a.DB.Head().Config, b.DB.Head().Config); len(d) != 0 {
		t.Errorf("loaded configuration differs: %v", d)
	}
}

// TestLoadLeavesRunningConfig: loadconfig stages; only commit applies.
func TestLoadLeavesRunningConfig(t *testing.T) {
	a := newAppliance(t)
	run(a, "saveconfig 1\n")
	before := a.DB.Head().Rev
	out, code := run(a, "sethostname\nmail1.example.com\ncommit renamed\nloadconfig "+config.ExportFileName(now)+"\n")
	if code != 2 || !strings.Contains(out, "Values have been loaded.") {
		t.Fatalf("exit %d (want 2: staged, not committed):\n%s", code, out)
	}
	if h := a.DB.Head(); h.Rev != before+1 || h.Config.Hostname != "mail1.example.com" {
		t.Errorf("running configuration changed by loadconfig: rev %d hostname %s", h.Rev, h.Config.Hostname)
	}
}
