package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/store/etcdstore"
)

// History, rollbackconfig, commitdetail and commit confirmed across a
// cluster (issue 13), through the CLI of three real daemons.

// newCertCluster starts three daemons, A serving certificate One with Two
// available, and makes them a cluster: A creates it, B and C join. Its
// commit-confirmed minutes are seconds (ESASH_CONFIRM_UNIT).
func newCertCluster(t *testing.T) []*sshAppliance {
	t.Helper()
	ms := newClusterMachinesEnv(t, 3, append(slices.Clone(clusterEnv), "ESASH_CONFIRM_UNIT=1s"))
	p := newPeerPKI(t)
	one, two := p.profile(t, "One", mxHost), p.profile(t, "Two", mxHost)
	ms[0].stop()
	editStopped(t, ms[0], func(c *config.Config) {
		useProfile(one, config.TLSInPreferred)(c)
		c.Certificates = append(c.Certificates, two)
	})
	ms[0].start()
	if r := ms[0].withPassword("admin", adminPW, "", "clusterconfig create Test-Cluster "+ms[0].ip); r.code != 0 {
		t.Fatalf("create: %d\n%s", r.code, r.out)
	}
	for _, m := range ms[1:] {
		if r := m.withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[0].addr(), adminPW)); r.code != 0 {
			t.Fatalf("join %s: %d\n%s", m.ip, r.code, r.out)
		}
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "One")
	}
	return ms
}

// useCert is the dialog that makes the listener serve cert, ending with
// the commit line given.
func useCert(cert, commit string) string {
	return "listenerconfig\nEDIT\n1\nCERTIFICATE\n" + cert + "\n\n\n" + commit + "\n"
}

// detailRev is the revision commitdetail on m shows.
func detailRev(t *testing.T, m *sshAppliance) (uint64, string) {
	t.Helper()
	r := m.withPassword("admin", adminPW, "", "commitdetail")
	match := regexp.MustCompile(`(?m)^Revision: (\d+)$`).FindStringSubmatch(r.out)
	if r.code != 0 || match == nil {
		t.Fatalf("commitdetail on %s: %d\n%s", m.ip, r.code, r.out)
	}
	n, _ := strconv.ParseUint(match[1], 10, 64)
	return n, r.out
}

// TestClusterHistoryConfirmed: history and commit confirmed on one
// cluster of three daemons (one cluster: forming it is most of the time).
func TestClusterHistoryConfirmed(t *testing.T) {
	begin := time.Now()
	ms := newCertCluster(t)
	t.Logf("cluster ready after %s", time.Since(begin))
	clusterHistory(t, ms)
	t.Logf("history done after %s", time.Since(begin))
	clusterConfirmed(t, ms)
	t.Logf("commit confirmed done after %s", time.Since(begin))
}

// clusterHistory: a commit made on A is B's commitdetail, with its
// author and changes; rollbackconfig on C lists the cluster's history and
// rolls the whole cluster back: every member's MTA serves the earlier
// certificate, and A's commitdetail shows the rollback from C. All end
// serving Two.
func clusterHistory(t *testing.T, ms []*sshAppliance) {
	r := ms[0].withPassword("admin", adminPW, useCert("Two", "commit\nto Two from A\ny"))
	if r.code != 0 || !strings.Contains(r.out, "Changes committed") {
		t.Fatalf("commit on A: %d\n%s", r.code, r.out)
	}
	toTwo, detail := detailRev(t, ms[1])
	if !regexp.MustCompile(`(?m)^Committed by: admin \(ssh:`).MatchString(detail) || !strings.Contains(detail, "Comment: to Two from A\n") ||
		!strings.Contains(detail, `-> "Two"`) {
		t.Fatalf("commitdetail on B does not show A's commit with its author and change:\n%s", detail)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "Two")
	}
	r = ms[1].withPassword("admin", adminPW, useCert("One", "commit\nback to One from B\ny"))
	if r.code != 0 || !strings.Contains(r.out, "Changes committed") {
		t.Fatalf("commit on B: %d\n%s", r.code, r.out)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "One")
	}
	// C's history lists A's revision first (B's is the head); it is
	// rolled back to and committed at once.
	r = ms[2].withPassword("admin", adminPW, "rollbackconfig\nROLLBACK\n1\ny\ny\n\n")
	want := fmt.Sprintf("1. Revision %d, ", toTwo)
	if r.code != 0 || !strings.Contains(r.out, want) || !strings.Contains(r.out, "admin (ssh:") || !strings.Contains(r.out, "to Two from A") ||
		!strings.Contains(r.out, "Changes committed") {
		t.Fatalf("rollbackconfig on C: no %q or no commit: %d\n%s", want, r.code, r.out)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "Two")
	}
	_, detail = detailRev(t, ms[0])
	if !strings.Contains(detail, fmt.Sprintf("Comment: Rollback to revision %d\n", toTwo)) || !strings.Contains(detail, `-> "Two"`) {
		t.Fatalf("commitdetail on A does not show C's rollback:\n%s", detail)
	}
}

// killDaemon ends a's daemon with SIGKILL: no clean stop, its etcd lease
// lives until it expires.
func killDaemon(t *testing.T, a *sshAppliance) {
	t.Helper()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.cmd = nil
}

// confirmRevertOf waits until m's commitdetail shows the automatic revert
// of revision rev, and returns its revision and the machine that made it.
func confirmRevertOf(t *testing.T, m *sshAppliance, rev uint64) (uint64, string) {
	t.Helper()
	want := fmt.Sprintf("Comment: Automatic rollback of revision %d by admin: not confirmed in time", rev)
	by := regexp.MustCompile(`(?m)^Committed by: system \(confirm on (\S+)\)$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, detail := detailRev(t, m)
		if match := by.FindStringSubmatch(detail); match != nil && strings.Contains(detail, want) {
			return n, match[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no revert of revision %d:\n%s", m.ip, rev, detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// machineID is m's identity in its cluster.
func machineID(t *testing.T, m *sshAppliance) string {
	t.Helper()
	ci, err := readClusterInfo(filepath.Join(m.dir, clusterDirName))
	if err != nil || ci == nil {
		t.Fatalf("%s: cluster state %v", m.ip, err)
	}
	return ci.Machine
}

// confirmHolder asks m's etcd which machine reverts confirmed commits.
func confirmHolder(t *testing.T, m *sshAppliance) string {
	t.Helper()
	ci, err := readClusterInfo(filepath.Join(m.dir, clusterDirName))
	if err != nil || ci == nil {
		t.Fatalf("%s: cluster state %v", m.ip, err)
	}
	cli, err := etcdstore.Dial(ci.Endpoints, filepath.Join(m.dir, clusterDirName, "tls"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := etcdstore.ConfirmHolder(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var pendingRev = regexp.MustCompile(`Revision (\d+) will be rolled back automatically at`)

// commitConfirmedOn stages cert on m and commits it confirmed for the
// given minutes (seconds here); it returns the revision.
func commitConfirmedOn(t *testing.T, m *sshAppliance, cert string, minutes int) uint64 {
	t.Helper()
	r := m.withPassword("admin", adminPW, useCert(cert, fmt.Sprintf("commit confirmed %d %s, confirmed or not", minutes, cert)))
	match := pendingRev.FindStringSubmatch(r.out)
	if r.code != 0 || match == nil {
		t.Fatalf("commit confirmed on %s: %d\n%s", m.ip, r.code, r.out)
	}
	n, _ := strconv.ParseUint(match[1], 10, 64)
	return n
}

// clusterConfirmed, from every member serving Two: a commit confirmed on
// A is confirmed by the same administrator on B and stays; a second one,
// not confirmed, is reverted on every member, by one member (no revision
// comes between); a third is reverted by another member after A, which
// held the right to revert, is killed.
func clusterConfirmed(t *testing.T, ms []*sshAppliance) {
	kept := commitConfirmedOn(t, ms[0], "One", 8)
	confirmed := fmt.Sprintf("Revision %d is confirmed and will not be rolled back.", kept)
	deadline := time.Now().Add(60 * time.Second)
	for {
		// B sees the pending commit once its watch has it.
		r := ms[1].withPassword("admin", adminPW, "commit\n")
		if strings.Contains(r.out, confirmed) {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(r.out, "There is no data to commit.") {
			t.Fatalf("commit on B does not confirm revision %d: %d\n%s", kept, r.code, r.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "One")
	}

	// Not confirmed: each member runs it, then the revert. Its deadline
	// is after the first one's, which stays: no revision comes between.
	risky := commitConfirmedOn(t, ms[0], "Two", 12)
	for _, m := range ms {
		waitOrg(t, m.ip, "Two")
	}
	revert, _ := confirmRevertOf(t, ms[2], risky)
	for _, m := range ms {
		waitOrg(t, m.ip, "One")
	}
	if risky != kept+1 || revert != risky+1 {
		t.Fatalf("revisions: kept %d, risky %d, its revert %d: want one after the other", kept, risky, revert)
	}

	// A commits and dies before the deadline: B or C reverts, once. A,
	// which formed the cluster, normally holds the right to revert, so
	// another member takes it over (a lease A lost under load would make
	// it B's or C's already: TestConfirmedCommitHolderDies in etcdstore
	// kills the holder whichever it is).
	if h := confirmHolder(t, ms[1]); h != machineID(t, ms[0]) {
		t.Logf("the confirm holder is %q, not A (%s)", h, machineID(t, ms[0]))
	}
	orphan := commitConfirmedOn(t, ms[0], "Two", 4)
	killDaemon(t, ms[0])
	if orphan != revert+1 {
		t.Fatalf("revision %d after the revert %d: want no revision between", orphan, revert)
	}
	again, by := confirmRevertOf(t, ms[1], orphan)
	if again != orphan+1 || (by != machineID(t, ms[1]) && by != machineID(t, ms[2])) {
		t.Fatalf("revision %d reverted by revision %d on %s, want %d on B or C", orphan, again, by, orphan+1)
	}
	for _, m := range ms[1:] {
		waitOrg(t, m.ip, "One")
	}
	if h := confirmHolder(t, ms[1]); h != machineID(t, ms[1]) && h != machineID(t, ms[2]) {
		t.Fatalf("the confirm holder after A died is %q, want B or C", h)
	}
	// C's history (the head aside) holds the first revert only.
	r := ms[2].withPassword("admin", adminPW, "rollbackconfig\nROLLBACK\n1\nn\n\n")
	if n := strings.Count(r.out, "system (confirm on "); n != 1 || !strings.Contains(r.out, fmt.Sprintf("Revision %d, ", revert)) {
		t.Fatalf("history on C: %d reverts, want revision %d alone:\n%s", n, revert, r.out)
	}
}
