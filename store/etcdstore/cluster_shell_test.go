package etcdstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"esash/config"

	"esash/shell"
)

// The cluster store is what the shell's sessions see of the cluster.
var _ shell.Cluster = (*Store)(nil)

func TestListMembers(t *testing.T) {
	ms := newCluster(t, 2, 3*time.Second)
	cl, err := ms[1].st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if name, list := cl.Name, cl.Members; name != "Test-Cluster" || len(cl.Groups) != 1 || cl.Groups[0] != DefaultGroup || len(list) != 2 || list[1].Hostname != "m2.example.com" || list[1].Group != DefaultGroup || list[1].Applied < 2 {
		t.Errorf("List = %+v", cl)
	}
	if got := ms[0].st.Members(); len(got) != 2 || got["m1"] != "m1.example.com" {
		t.Errorf("Members = %v", got)
	}
}

// A machine whose services cannot take a revision keeps the previous one,
// raises the alert, and LIST shows why.
func TestApplyFailureKeepsPrevious(t *testing.T) {
	ms := newCluster(t, 2, 3*time.Second)
	ms[1].mu.Lock()
	ms[1].refuse = func(c *config.Config) error {
		if c.Destinations.Default.MaxMsgsPerConn == 13 {
			return errors.New("refused by the test's services")
		}
		return nil
	}
	ms[1].mu.Unlock()
	before := ms[1].running()
	res, err := edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 13 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	if ms[1].running() != before || ms[1].local.Head().Config.Destinations.Default.MaxMsgsPerConn == 13 {
		t.Error("m2 runs a revision its services refused")
	}
	if ms[0].running().Destinations.Default.MaxMsgsPerConn != 13 {
		t.Error("m1 does not run the revision")
	}
	ms[1].mu.Lock()
	alerts := len(ms[1].applyErrs)
	ms[1].mu.Unlock()
	if alerts != 1 {
		t.Errorf("m2 raised %d alerts, want 1", alerts)
	}
	cl, err := ms[0].st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if list := cl.Members; len(list) != 2 || !strings.Contains(list[1].ApplyError, "refused by the test's services") {
		t.Errorf("List = %+v, want m2's error", cl.Members)
	}
}
