package main

// Fault proofs of the cluster (issue 13), on real daemons with real
// embedded etcd: the leader killed with SIGKILL during a run of commits,
// a cluster of five voters and a sixth machine that joins as a client, and
// the loss of the quorum under a running machine. Commits go through the
// CLI an administrator uses (SSH batch commands); the cluster's etcd is
// read directly with a member's certificate to check what every member
// holds.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/smtp"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
	"esash/store/etcdstore"
)

// formCluster makes ms one cluster: the first creates it, the others join
// it through the batch form over SSH, one after the other.
func formCluster(t *testing.T, ms []*sshAppliance, name string) {
	t.Helper()
	r := ms[0].withPassword("admin", adminPW, "", "clusterconfig create "+name+" "+ms[0].ip)
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("create: %d\n%s", r.code, r.out)
	}
	for _, m := range ms[1:] {
		r = m.withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[0].addr(), adminPW))
		if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
			t.Fatalf("join %s: %d\n%s", m.ip, r.code, r.out)
		}
	}
}

// batch runs one SSH batch command as admin; unlike withPassword it may
// run on any goroutine (it reports instead of failing the test).
func (a *sshAppliance) batch(cmd string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One connection per machine carries every command (ssh's
	// multiplexing): a login per commit would double the test's time.
	mux := []string{"-o", "ControlMaster=auto", "-o", "ControlPersist=30", "-o", "ControlPath=" + filepath.Join(a.tmp, "mux")}
	argv := append(append([]string{"-e", "ssh"}, mux...), a.passArgs("admin")...)
	c := exec.CommandContext(ctx, "sshpass", append(argv, cmd)...)
	c.Env = append(termEnv(), "SSHPASS="+adminPW)
	out, err := c.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), -1, fmt.Errorf("%q on %s did not finish: %w", cmd, a.ip, ctx.Err())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode(), nil
	}
	return string(out), 0, err
}

// kill9 ends the daemon with SIGKILL: no shutdown of its etcd member, its
// store or its listeners.
func (a *sshAppliance) kill9() {
	a.t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		a.t.Fatal(err)
	}
	<-a.done
	a.cmd = nil
}

// clusterInfoOf is the cluster state of a's data directory.
func clusterInfoOf(t *testing.T, a *sshAppliance) *clusterInfo {
	t.Helper()
	ci, err := readClusterInfo(filepath.Join(a.dir, clusterDirName))
	if err != nil || ci == nil {
		t.Fatalf("%s: cluster state %v, %v", a.ip, ci, err)
	}
	return ci
}

// etcdOf is a client of the etcd members of ms (those that run one),
// authenticated with the first machine's member certificate.
func etcdOf(t *testing.T, ms []*sshAppliance) *clientv3.Client {
	t.Helper()
	var eps []string
	for _, m := range ms {
		if ci := clusterInfoOf(t, m); ci.ClientURL != "" {
			eps = append(eps, ci.ClientURL)
		}
	}
	cli, err := etcdstore.Dial(eps, filepath.Join(ms[0].dir, clusterDirName, "tls"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// leaderOf is the machine whose etcd member leads the cluster.
func leaderOf(t *testing.T, cli *clientv3.Client, ms []*sshAppliance) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for i, m := range ms {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := cli.Status(ctx, clusterInfoOf(t, m).ClientURL)
			cancel()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no etcd member leads the cluster")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memberCopy is the cluster's head and history (revision: comment) as
// the etcd member of m holds them itself: serializable reads from that
// member alone.
func memberCopy(t *testing.T, m *sshAppliance, tlsDir string) (uint64, map[uint64]string) {
	t.Helper()
	cli, err := etcdstore.Dial([]string{clusterInfoOf(t, m).ClientURL}, tlsDir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/esa/v1/", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		t.Fatalf("%s: read its etcd member: %v", m.ip, err)
	}
	var head uint64
	history := map[uint64]string{}
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		if k == "/esa/v1/head" {
			var hv struct{ Rev uint64 }
			if err := json.Unmarshal(kv.Value, &hv); err != nil {
				t.Fatal(err)
			}
			head = hv.Rev
		}
		if n, ok := strings.CutPrefix(k, "/esa/v1/revs/"); ok {
			rev, _ := strconv.ParseUint(n, 10, 64)
			var rv struct{ Meta store.Meta }
			if err := json.Unmarshal(kv.Value, &rv); err != nil {
				t.Fatal(err)
			}
			history[rev] = rv.Meta.Comment
		}
	}
	return head, history
}

// appliedRev is the revision machine reports it runs (status/<id>/applied).
func appliedRev(ctx context.Context, cli *clientv3.Client, machine string) (uint64, string, error) {
	resp, err := cli.Get(ctx, "/esa/v1/status/"+machine+"/applied")
	if err != nil || len(resp.Kvs) != 1 {
		return 0, "", err
	}
	var st struct {
		Rev   uint64
		Error string
	}
	err = json.Unmarshal(resp.Kvs[0].Value, &st)
	return st.Rev, st.Error, err
}

// headRev is the cluster's revision (a linearizable read).
func headRev(t *testing.T, cli *clientv3.Client) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/esa/v1/head")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("cluster head: %v", err)
	}
	var hv struct{ Rev uint64 }
	if err := json.Unmarshal(resp.Kvs[0].Value, &hv); err != nil {
		t.Fatal(err)
	}
	return hv.Rev
}

// waitAllApplied waits until every machine of ms runs the cluster's head
// without an error, and returns that head.
func waitAllApplied(t *testing.T, cli *clientv3.Client, ms []*sshAppliance) uint64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		head := headRev(t, cli)
		behind := ""
		for _, m := range ms {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rev, applyErr, err := appliedRev(ctx, cli, clusterInfoOf(t, m).Machine)
			cancel()
			if applyErr != "" {
				t.Fatalf("%s could not activate revision %d: %s", m.ip, rev, applyErr)
			}
			if err != nil || rev != head {
				behind += fmt.Sprintf(" %s runs %d (%v);", m.ip, rev, err)
			}
		}
		if behind == "" {
			return head
		}
		if time.Now().After(deadline) {
			t.Fatalf("head %d not applied everywhere:%s", head, behind)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mirrorRoutes are the route domains of the configuration a stopped
// machine's local store holds, and that store's head.
func mirrorRoutes(t *testing.T, a *sshAppliance) ([]string, store.Snapshot) {
	t.Helper()
	db, err := store.Open(filepath.Join(a.dir, dbFile), store.Options{})
	if err != nil {
		t.Fatalf("%s: local store: %v", a.ip, err)
	}
	defer db.Close()
	head := db.Head()
	var out []string
	for _, r := range head.Config.Routes {
		out = append(out, r.Domain)
	}
	sort.Strings(out)
	return out, head
}

// commitRun is the outcome of the commits of TestClusterLeaderKilled.
type commitRun struct {
	mu        sync.Mutex
	acked     map[int]bool   // commit n returned success
	afterKill int            // acknowledged commits begun after the kill
	refused   map[int]string // what the refused ones said
	done      int
}

// TestClusterLeaderKilled (issue 13): the daemon whose etcd member leads a
// 3-machine cluster is killed with SIGKILL while the two others commit 100
// changes over SSH (a route each). The survivors go on committing; no
// acknowledged commit is lost (its revision is in the history every
// member holds, its route in every machine's configuration); the killed
// machine's local store kept the last revision it ran, it restarts from
// it and catches up; every member converges to the same head.
func TestClusterLeaderKilled(t *testing.T) {
	esashBinary(t) // built once per test binary: not this test's time
	begin := time.Now()
	ms := newClusterMachines(t, 3)
	formCluster(t, ms, "Faults")
	cli := etcdOf(t, ms)
	waitAllApplied(t, cli, ms)
	li := leaderOf(t, cli, ms)
	leader := ms[li]
	survivors := slices.Delete(slices.Clone(ms), li, li+1)
	t.Logf("cluster of 3 formed in %v; the leader is %s", time.Since(begin).Round(time.Millisecond), leader.ip)

	const commits, killAfter = 100, 30
	run := &commitRun{acked: map[int]bool{}, refused: map[int]string{}}
	kill := make(chan struct{})
	var killed atomic.Bool
	var wg sync.WaitGroup
	for i, m := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := i; n < commits; n += len(survivors) {
				after := killed.Load()
				out, code, err := m.batch(fmt.Sprintf("smtproutes new r%03d.example.org 127.0.0.2; commit \"fault %03d\"", n, n))
				run.mu.Lock()
				if err == nil && code == 0 && strings.Contains(out, "Changes committed") {
					run.acked[n] = true
					if after {
						run.afterKill++
					}
				} else {
					run.refused[n] = fmt.Sprintf("on %s (%d, %v): %s", m.ip, code, err, strings.TrimSpace(out))
				}
				run.done++
				if run.done == killAfter {
					close(kill)
				}
				run.mu.Unlock()
			}
		}()
	}
	<-kill
	leader.kill9()
	killed.Store(true)
	wg.Wait()
	t.Logf("%d commits acknowledged (%d begun after the kill), %d refused, in %v", len(run.acked), run.afterKill, len(run.refused), time.Since(begin).Round(time.Millisecond))
	for n, r := range run.refused {
		t.Logf("commit %d %s", n, r)
	}
	if run.afterKill == 0 {
		t.Fatal("the survivors acknowledged no commit after the leader was killed")
	}

	// The killed machine's store holds the last revision it ran.
	killedRoutes, mirror := mirrorRoutes(t, leader)
	if !strings.Contains(mirror.Meta.Source, "cluster Faults revision ") {
		t.Fatalf("the killed machine's local store runs %q, not a cluster revision", mirror.Meta.Source)
	}
	leader.start()
	head := waitAllApplied(t, cli, ms)
	t.Logf("the killed machine ran %d routes before its restart; all run head %d at %v", len(killedRoutes), head, time.Since(begin).Round(time.Millisecond))
	if len(killedRoutes) >= len(run.acked) {
		t.Fatalf("the killed machine had every route before its restart (%d): it was not killed during the commits", len(killedRoutes))
	}
	checkHistories(t, ms, head, run)
	for _, m := range ms {
		m.stop()
	}
	checkMirrors(t, ms, head, run.acked)
	t.Logf("TestClusterLeaderKilled took %v", time.Since(begin).Round(time.Millisecond))
}

// checkHistories: the etcd member of every machine holds the same head
// and every revision up to it, the acknowledged commits among them; a
// commit reported refused is not among them, and every other failure
// names its cause.
func checkHistories(t *testing.T, ms []*sshAppliance, head uint64, run *commitRun) {
	t.Helper()
	tlsDir := filepath.Join(ms[0].dir, clusterDirName, "tls")
	var first map[uint64]string
	for _, m := range ms {
		h, history := memberCopy(t, m, tlsDir)
		if h != head || len(history) != int(head) {
			t.Fatalf("%s holds head %d and %d revisions, want %d", m.ip, h, len(history), head)
		}
		if first == nil {
			first = history
		} else if !maps.Equal(first, history) {
			t.Fatalf("%s holds another history than %s", m.ip, ms[0].ip)
		}
	}
	comments := map[string]bool{}
	for _, c := range first {
		comments[c] = true
	}
	for n := range run.acked {
		if !comments[fmt.Sprintf("fault %03d", n)] {
			t.Errorf("acknowledged commit %d is not in the history", n)
		}
	}
	for n, msg := range run.refused {
		switch {
		case strings.Contains(msg, "commit refused") && comments[fmt.Sprintf("fault %03d", n)]:
			t.Errorf("commit %d was reported refused, and took effect: %s", n, msg)
		case !strings.Contains(msg, "cluster has no quorum") && !strings.Contains(msg, "did not confirm") &&
			!strings.Contains(msg, "try again") && !strings.Contains(msg, "not yet active here"):
			t.Errorf("commit %d failed for no reason of the fault: %s", n, msg)
		}
	}
}

// checkMirrors: every stopped machine's local store runs the head, with
// the route of every acknowledged commit.
func checkMirrors(t *testing.T, ms []*sshAppliance, head uint64, acked map[int]bool) {
	t.Helper()
	var first []string
	for _, m := range ms {
		routes, snap := mirrorRoutes(t, m)
		if want := fmt.Sprintf("cluster Faults revision %d ", head); !strings.HasPrefix(snap.Meta.Source, want) {
			t.Fatalf("%s runs %q, want %q…", m.ip, snap.Meta.Source, want)
		}
		if first == nil {
			first = routes
		} else if !slices.Equal(first, routes) {
			t.Fatalf("%s runs the routes %v, %s %v", m.ip, routes, ms[0].ip, first)
		}
		for n := range acked {
			if _, found := slices.BinarySearch(routes, fmt.Sprintf("r%03d.example.org", n)); !found {
				t.Errorf("%s lost the route of acknowledged commit %d", m.ip, n)
			}
		}
	}
}

// TestClusterSixthMachineClient (issue 13): five machines form a cluster
// of five voting etcd members; a sixth joins as a client only (at most
// etcdstore.MaxVoters vote, further machines are clients), runs every
// commit and commits itself.
func TestClusterSixthMachineClient(t *testing.T) {
	esashBinary(t) // built once per test binary: not this test's time
	begin := time.Now()
	ms := newClusterMachines(t, 6)
	formCluster(t, ms[:5], "Six")
	// The sixth joins through a member that did not create the cluster.
	r := ms[5].withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[2].addr(), adminPW))
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("join of the sixth machine: %d\n%s", r.code, r.out)
	}
	t.Logf("cluster of 6 formed in %v", time.Since(begin).Round(time.Millisecond))
	cli := etcdOf(t, ms[:5])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var voters []string
	for _, m := range list.Members {
		if m.IsLearner {
			t.Errorf("member %s is still a learner", m.Name)
			continue
		}
		voters = append(voters, m.Name)
	}
	var want []string
	for _, m := range ms[:5] {
		want = append(want, clusterInfoOf(t, m).Machine)
	}
	slices.Sort(voters)
	slices.Sort(want)
	if !slices.Equal(voters, want) {
		t.Fatalf("voting members %v, want the first five machines %v", voters, want)
	}
	sixth := clusterInfoOf(t, ms[5])
	if sixth.PeerURL != "" || sixth.ClientURL != "" || len(sixth.Endpoints) != etcdstore.MaxVoters {
		t.Fatalf("the sixth machine's cluster state %+v; want a client of the five voters", sixth)
	}
	for _, port := range []int{defaultClientPort, defaultPeerPort} {
		if c, err := net.Dial("tcp", net.JoinHostPort(ms[5].ip, strconv.Itoa(port))); err == nil {
			c.Close()
			t.Fatalf("the sixth machine runs an etcd member (port %d)", port)
		}
	}

	// A commit of a voter and one of the client: every machine runs both.
	for _, c := range []struct {
		m      *sshAppliance
		domain string
	}{{ms[0], "voter.example.org"}, {ms[5], "client.example.org"}} {
		out, code, err := c.m.batch("smtproutes new " + c.domain + " 127.0.0.2; commit \"" + c.domain + "\"")
		if err != nil || code != 0 || !strings.Contains(out, "Changes committed") {
			t.Fatalf("commit on %s: %d, %v\n%s", c.m.ip, code, err, out)
		}
	}
	head := waitAllApplied(t, cli, ms)
	r = ms[5].withPassword("admin", adminPW, "", "clusterconfig list")
	if r.code != 0 || strings.Count(r.out, "Machine ") != 6 {
		t.Fatalf("list on the sixth machine: %d\n%s", r.code, r.out)
	}
	ms[5].stop()
	routes, snap := mirrorRoutes(t, ms[5])
	if !slices.Contains(routes, "voter.example.org") || !slices.Contains(routes, "client.example.org") ||
		!strings.HasPrefix(snap.Meta.Source, fmt.Sprintf("cluster Six revision %d ", head)) {
		t.Fatalf("the sixth machine's local store runs %q with the routes %v", snap.Meta.Source, routes)
	}
	t.Logf("TestClusterSixthMachineClient took %v", time.Since(begin).Round(time.Millisecond))
}

// TestClusterQuorumLossDaemon (issue 13): two of three daemons stopped. On
// the survivor a commit through the CLI is refused with the cause named,
// the shell still reads the configuration, and the MTA still accepts
// mail.
func TestClusterQuorumLossDaemon(t *testing.T) {
	esashBinary(t) // built once per test binary: not this test's time
	begin := time.Now()
	ms := newClusterMachines(t, 3)
	ms[0].stop()
	editStopped(t, ms[0], func(c *config.Config) {
		// Mail for .test is accepted and stays queued: every domain is
		// routed to a closed loopback port.
		c.Listeners[0].AcceptDomains = []string{".test"}
		c.Routes = []config.Route{{Domain: "ALL", Hosts: []config.RouteHost{{Host: "127.0.0.1", Port: 9}}}}
	})
	ms[0].start()
	formCluster(t, ms, "Quorum")
	out, code, err := ms[1].batch(`smtproutes new before.example.org 127.0.0.2; commit "with quorum"`)
	if err != nil || code != 0 || !strings.Contains(out, "Changes committed") {
		t.Fatalf("commit with quorum: %d, %v\n%s", code, err, out)
	}
	waitAllApplied(t, etcdOf(t, ms), ms)
	ms[1].stop()
	ms[2].stop()
	t.Logf("cluster formed, two of three stopped after %v", time.Since(begin).Round(time.Millisecond))

	survivor := ms[0]
	out, code, err = survivor.batch(`smtproutes new after.example.org 127.0.0.2; commit "without quorum"`)
	if err != nil || code == 0 || !strings.Contains(out, "cluster has no quorum; commit refused") {
		t.Fatalf("commit without quorum: %d, %v\n%s", code, err, out)
	}
	t.Logf("the refusal: %s", strings.TrimSpace(out))
	out, code, err = survivor.batch("smtproutes print")
	if err != nil || code != 0 || !strings.Contains(out, "before.example.org") || strings.Contains(out, "after.example.org") {
		t.Fatalf("smtproutes print without quorum: %d, %v\n%s", code, err, out)
	}
	sendMail(t, net.JoinHostPort(survivor.ip, "2525"), "bob@esash.test")
	out, code, err = survivor.batch("showqueue")
	if err != nil || code != 0 || !strings.Contains(out, "bob@esash.test") {
		t.Fatalf("showqueue without quorum: %d, %v\n%s", code, err, out)
	}
	t.Logf("TestClusterQuorumLossDaemon took %v", time.Since(begin).Round(time.Millisecond))
}

// sendMail delivers one message to the MTA at addr; it fails the test
// unless the MTA accepts it (250 after DATA).
func sendMail(t *testing.T, addr, rcpt string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("SMTP %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@sender.test"); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		t.Fatalf("RCPT %s: %v", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	fmt.Fprintf(w, "From: alice@sender.test\r\nTo: %s\r\nSubject: without quorum\r\n\r\nMail does not wait for etcd.\r\n", rcpt)
	if err := w.Close(); err != nil {
		t.Fatalf("the message was not accepted: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}
