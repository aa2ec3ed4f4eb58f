package clusterconfig_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/commands/clusterconfig"
	"esash/config"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store/etcdstore/etcdtest"

	goldenfile "esash/internal/golden"
)

func TestClusterConfigGroups(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.2", "Test-Cluster", "m1", local)
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: st}, clusterconfig.New())
	if err != nil {
		t.Fatal(err)
	}
	a := &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}
	out, code, _ := a.Run(true, "clusterconfig\nADDGROUP\ndmz\nSETGROUP\n1\n2\nLIST\nCONNSTATUS\n\n")
	for _, want := range []string{
		"[]> ADDGROUP\nEnter the name of the new cluster group to create.\n[]> dmz\nCluster group dmz added.\n",
		"Choose the machine to move.\n1. esa.example.com\n[]> 1\nChoose the group for the machine.\n1. Main_Group\n2. dmz\n[]> 2\nMachine esa.example.com is now in group dmz.\n",
		"Cluster Test-Cluster\nGroup Main_Group:\nGroup dmz:\n    Machine esa.example.com\n",
		"Group dmz:\n    Machine esa.example.com: runs revision 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if out, code, _ := a.Run(false, "clusterconfig addgroup dmz\n"); code == 0 || !strings.Contains(out, "group already exists") {
		t.Errorf("adding a group twice: exit %d\n%s", code, out)
	}
}

func TestClusterConfigStandalone(t *testing.T) {
	out, code, _ := shelltest.RunSession(t, false, "clusterconfig\n", clusterconfig.New())
	if !strings.Contains(out, clusterconfig.Standalone) || code == 0 {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// The clustered menu's other operations on a one-machine cluster, ending
// with the machine leaving: its sessions are standalone from then on.
func TestClusterConfigClusteredMenu(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.3", "Test-Cluster", "m1", local)
	left := 0
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: st, LeftCluster: func() { left++ }}, clusterconfig.New())
	if err != nil {
		t.Fatal(err)
	}
	a := &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}
	// Another session with a change staged at the cluster level.
	var other bytes.Buffer
	s2 := sh.NewSession(shell.SessionConfig{In: shell.NewScriptReader(strings.NewReader(""), &other), Out: &other, Err: &other, User: "admin", Source: "test"})
	if err := s2.Draft.Update(func(c *config.Config) error { c.Destinations.Default.MaxMsgsPerConn = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	out, _, _ := a.Run(true, strings.Join([]string{
		"clusterconfig addgroup dmz",
		"clusterconfig", "DELETEGROUP", "1", // Main_Group has this machine
		"clusterconfig", "RENAMEGROUP", "2", "edge", "DELETEGROUP", "2", "DELETEGROUP", "1", // the last group
		"clusterconfig", "SETNAME", "Renamed", "LIST", "REMOVEMACHINE", "1", "N", "",
		"clusterconfig", "REMOVEMACHINE", "1", "Y",
		"clusterconfig",
	}, "\n")+"\n")
	golden(t, "clustered_menu", out)
	if left != 1 {
		t.Errorf("LeftCluster hook ran %d times, want 1", left)
	}
	if got := st.Members(); len(got) != 0 {
		t.Errorf("members after leaving: %v", got)
	}
	// The other session is standalone at its next command, without the
	// cluster change it had staged.
	sh.RunBatch(s2, "clusterconfig list")
	if !strings.Contains(other.String(), "This machine left the cluster: the uncommitted changes were discarded.\n"+clusterconfig.Standalone) ||
		s2.Draft.Changed() || s2.Prompt() != "esa.example.com> " {
		t.Errorf("the other session after leaving (prompt %q):\n%s", s2.Prompt(), other.String())
	}
	if st.Name() != "Renamed" {
		t.Errorf("cluster name %q", st.Name())
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name+".golden"), got)
}

// DISCONNECT and RECONNECT on a one-machine cluster: the machine
// disconnects itself, clusterconfig then says it is disconnected and
// offers to reconnect it; LIST and CONNSTATUS show the state; the batch
// forms and the refused PREPJOIN.
func TestClusterConfigDisconnect(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.5", "Test-Cluster", "m1", local)
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: st}, clusterconfig.New())
	if err != nil {
		t.Fatal(err)
	}
	a := &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}
	out, _, _ := a.Run(true, strings.Join([]string{
		"clusterconfig", "RECONNECT", "DISCONNECT", "1", "N", "DISCONNECT", "1", "Y", "DISCONNECT", "",
		"clusterconfig", "N", "LIST", "CONNSTATUS", "RECONNECT", "1", "N", "",
		"clusterconfig", "Y", "LIST", "",
		"clusterconfig prepjoin print",
	}, "\n")+"\n")
	golden(t, "disconnect_menu", out)
	if _, held := st.Held(); held {
		t.Error("the machine is still disconnected after the reconnect")
	}
	for _, tc := range []struct {
		name, script, want string
		code               int
	}{
		{"disconnect", "clusterconfig disconnect esa.example.com\n", "Machine esa.example.com disconnected", 0},
		{"twice", "clusterconfig disconnect m1\n", `Not a valid machine: "m1". Every machine of the cluster is disconnected already.`, 1},
		{"reconnect a machine not disconnected", "clusterconfig reconnect nowhere\n", `Not a valid machine: "nowhere". The disconnected machines are esa.example.com.`, 1},
		{"reconnect", "clusterconfig reconnect m1\n", "Machine esa.example.com reconnected", 0},
		{"reconnect unknown", "clusterconfig reconnect nowhere\n", `Not a valid machine: "nowhere". No machine of the cluster is disconnected.`, 1},
		{"prepjoin", "clusterconfig prepjoin new 1234 h key\n", clusterconfig.PrepJoinRefused, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, _ := a.Run(false, tc.script)
			if !strings.Contains(out, tc.want) || (code == 0) != (tc.code == 0) {
				t.Errorf("exit %d, want %d; no %q in:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}
