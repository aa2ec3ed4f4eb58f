package showconfig_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"esash/commands/showconfig"
	"esash/config"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store/etcdstore"
	"esash/store/etcdstore/etcdtest"
)

var originLine = regexp.MustCompile(`(?m)^  <!-- origin: ([^>]*) -->\n  <([a-z_]+)`)

// origins reads the origin comments of a showconfig transcript: the
// element each precedes, and what it says.
func origins(out string) map[string]string {
	got := map[string]string{}
	for _, m := range originLine.FindAllStringSubmatch(out, -1) {
		got[m[2]] = m[1]
	}
	return got
}

// On a clustered machine each section says where it comes from: the
// cluster, the group's override, the machine's own sections.
func TestShowconfigOrigins(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.21", "Test-Cluster", "m1", local)
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: st}, showconfig.New())
	if err != nil {
		t.Fatal(err)
	}
	a := &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}

	out, code, _ := a.Run(false, "showconfig 1\n")
	got := origins(out)
	if code != 0 || got["destinations"] != "cluster" || got["hostname"] != "machine esa.example.com" ||
		got["interfaces"] != "machine esa.example.com" || len(got) != len(config.Sections()) {
		t.Errorf("exit %d, origins %v\n%s", code, got, out)
	}

	// A group override of destinations, committed at the group's level.
	group := config.Level{Kind: config.LevelGroup, Name: etcdstore.DefaultGroup}
	var buf bytes.Buffer
	s := sh.NewSession(shell.SessionConfig{In: shell.NewScriptReader(strings.NewReader(""), &buf), Out: &buf, Err: &buf, User: "admin", Source: "test"})
	if err := s.SetLevel(group); err != nil {
		t.Fatal(err)
	}
	if err := s.Draft.Update(func(c *config.Config) error { c.Destinations.Default.MaxMsgsPerConn = 7; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Draft.Commit(context.Background(), "group override", false, nil); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	code = sh.RunBatch(s, "showconfig 1")
	got = origins(buf.String())
	if code != 0 || got["destinations"] != "group Main_Group" || got["listeners"] != "cluster" || got["hostname"] != "machine esa.example.com" {
		t.Errorf("at the group: exit %d, origins %v\n%s", code, got, buf.String())
	}
	// The machine's effective configuration takes the group's.
	if err := s.SetLevel(config.Level{Kind: config.LevelMachine, Name: "m1"}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	code = sh.RunBatch(s, "showconfig 1")
	if got := origins(buf.String()); code != 0 || got["destinations"] != "group Main_Group" || !strings.Contains(buf.String(), "<max_messages_per_connection>7<") {
		t.Errorf("at the machine: exit %d, origins %v", code, got)
	}
}

// A standalone appliance's showconfig has no origin comment.
func TestShowconfigStandaloneHasNoOrigins(t *testing.T) {
	out, code, _ := shelltest.RunSession(t, false, "showconfig 1\n", showconfig.New())
	if code != 0 || strings.Contains(out, "origin:") || !strings.Contains(out, "<destinations>") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
