package clusterconfig_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/commands/clusterconfig"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store/etcdstore/etcdtest"
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
