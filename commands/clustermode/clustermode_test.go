package clustermode_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/commands/clustermode"
	"esash/config"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store/etcdstore"
	"esash/store/etcdstore/etcdtest"
)

// setTLS stages a destination TLS change (a configuration command of any
// level); setHost stages a hostname (machine-only).
type setTLS struct{}

func (setTLS) Name() string    { return "settls" }
func (setTLS) Summary() string { return "test: stage a destination TLS change" }
func (setTLS) Run(s *shell.Session, _ []string) error {
	return s.Draft.Update(func(c *config.Config) error { c.Destinations.Default.TLS = config.TLSOutPreferred; return nil })
}

type setHost struct{}

func (setHost) Name() string    { return "sethost" }
func (setHost) Summary() string { return "test: stage a hostname" }
func (setHost) Run(s *shell.Session, _ []string) error {
	return s.Draft.Update(func(c *config.Config) error { c.Hostname = "other.example.com"; return nil })
}

// clustered is an appliance that created a one-member cluster on a real
// embedded etcd (mutual TLS on a loopback address of its own).
func clustered(t *testing.T) (*shelltest.Appliance, *etcdstore.Store) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.1", "Test-Cluster", "m1", local)
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: st}, clustermode.New(), setTLS{}, setHost{})
	if err != nil {
		t.Fatal(err)
	}
	return &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}, st
}

func TestClusterModeLevels(t *testing.T) {
	a, st := clustered(t)
	out, code, _ := a.Run(false, "clustermode machine esa.example.com\nsettls\ncommit machine tls\nclustermode cluster\nsethost\ncommit\nhost\n\n")
	for _, want := range []string{
		"(Cluster Test-Cluster)> clustermode machine esa.example.com\n(Machine esa.example.com)> settls",
		"(Machine esa.example.com)> clustermode cluster\n(Cluster Test-Cluster)> sethost",
		"hostname can only be configured in machine mode",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q:\n%s", want, out)
		}
	}
	if code == 0 {
		t.Errorf("a script whose commit failed exited 0")
	}
	eff, origins, err := st.Effective()
	if err != nil {
		t.Fatal(err)
	}
	if eff.Destinations.Default.TLS != config.TLSOutPreferred || origins["destinations"] != (config.Level{Kind: config.LevelMachine, Name: "m1"}) {
		t.Errorf("destinations TLS %q from %v, want preferred from the machine", eff.Destinations.Default.TLS, origins["destinations"])
	}
	if a.DB.Head().Config.Destinations.Default.TLS != config.TLSOutPreferred {
		t.Error("the local store does not mirror the committed revision")
	}
}

func TestClusterModeInteractive(t *testing.T) {
	a, _ := clustered(t)
	out, _, s := a.Run(true, "clustermode\n2\n1\n")
	want := "Choose the configuration mode\n1. Cluster\n2. Group\n3. Machine\n[1]> 2\nChoose the group to configure.\n1. Main_Group\n[]> 1\n(Group Main_Group)> "
	if !strings.Contains(out, want) {
		t.Errorf("transcript:\n%s\nwant:\n%s", out, want)
	}
	if s.Level() != (config.Level{Kind: config.LevelGroup, Name: "Main_Group"}) {
		t.Errorf("level = %v", s.Level())
	}
}

// A standalone appliance: one line, no question, the script goes on.
func TestClusterModeStandalone(t *testing.T) {
	out, code, _ := shelltest.RunSession(t, false, "clustermode cluster\nsettls\ncommit\nc\n\n", clustermode.New(), setTLS{})
	want := "esa.example.com> clustermode cluster\n" + clustermode.Standalone + "\nesa.example.com> settls\n"
	if !strings.HasPrefix(out, want) || code != 0 {
		t.Errorf("exit %d, transcript:\n%s\nwant it to begin:\n%s", code, out, want)
	}
}
