package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"esash/store/etcdstore"
)

// Membership tests of issue 13: REMOVEMACHINE removes the etcd member
// and the removed machine goes on standalone; endpoints follow
// membership; the etcd ports are settable; the batch join checks host
// keys on first use.

// membersEnv follows the membership every 300 ms instead of 30 s.
var membersEnv = append(slices.Clone(clusterEnv), "ESASH_CLUSTER_SYNC=300ms")

// newMemberMachines is newClusterMachines with membersEnv.
func newMemberMachines(t *testing.T, n int) []*sshAppliance {
	t.Helper()
	return newClusterMachinesEnv(t, n, membersEnv)
}

// stateOf is m's cluster/state.json (nil: standalone).
func stateOf(t *testing.T, m *sshAppliance) *clusterInfo {
	t.Helper()
	ci, err := readClusterInfo(filepath.Join(m.dir, clusterDirName))
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// eventually retries check until it returns "" or a minute passes.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mustRun runs a batch command as admin and wants exit 0 and want.
func mustRun(t *testing.T, m *sshAppliance, cmd, want string) string {
	t.Helper()
	r := m.withPassword("admin", adminPW, "", cmd)
	if r.code != 0 || !strings.Contains(r.out, want) {
		t.Fatalf("%s on %s: %d, want %q\n%s", maskJoinPassword(cmd), m.ip, r.code, want, r.out)
	}
	return r.out
}

// etcdMembers lists the etcd member names m's member knows.
func etcdMembers(t *testing.T, m *sshAppliance) []string {
	t.Helper()
	ci := stateOf(t, m)
	cli, err := etcdstore.Dial([]string{ci.ClientURL}, filepath.Join(m.dir, clusterDirName, "tls"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mem := range resp.Members {
		names = append(names, mem.Name)
	}
	slices.Sort(names)
	return names
}

// wantStandalone waits until m left its cluster by itself.
func wantStandalone(t *testing.T, m *sshAppliance) {
	t.Helper()
	eventually(t, m.ip+" standalone after its removal", func() string {
		r := m.withPassword("admin", adminPW, "", "clustermode cluster")
		if !strings.Contains(r.out, "only available on cluster system") {
			return "clustermode answers:\n" + r.out
		}
		if stateOf(t, m) != nil {
			return "its data directory still has a cluster state"
		}
		return ""
	})
}

// TestClusterRemoveMachine: REMOVEMACHINE of another machine removes its
// etcd member too. The machine removed (here the one the others joined
// through) notices, goes on standalone and commits on its own; the
// others' endpoint lists follow the membership; after a second removal
// the last machine commits alone with the two others stopped, which it
// could not if quorum still counted them.
func TestClusterRemoveMachine(t *testing.T) {
	begin := time.Now()
	step := func(what string) { t.Logf("%s after %s", what, time.Since(begin).Round(time.Millisecond)) }
	ms := newMemberMachines(t, 3)
	a, b, c := ms[0], ms[1], ms[2]
	step("started")
	mustRun(t, a, "clusterconfig create Members "+a.ip, "cluster takes effect immediately")
	for _, m := range []*sshAppliance{b, c} {
		mustRun(t, m, fmt.Sprintf("clusterconfig join %s admin %s Main_Group", a.addr(), adminPW), "cluster takes effect immediately")
	}
	step("joined")
	cis := []*clusterInfo{stateOf(t, a), stateOf(t, b), stateOf(t, c)}
	var all []string
	for _, ci := range cis {
		all = append(all, ci.ClientURL)
	}
	slices.Sort(all)
	// A created the cluster alone: its endpoints follow the joins.
	eventually(t, "A's endpoints", func() string {
		if got := stateOf(t, a).Endpoints; !slices.Equal(got, all) {
			return fmt.Sprintf("%v, want %v", got, all)
		}
		return ""
	})

	step("endpoints followed")
	mustRun(t, b, "clusterconfig removemachine "+cis[0].Machine, "removed from the cluster")
	step("A removed")
	if got := etcdMembers(t, b); slices.Contains(got, cis[0].Machine) || len(got) != 2 {
		t.Fatalf("etcd members after removing A: %v", got)
	}
	wantStandalone(t, a)
	mustRun(t, a, "sethostname alone.example.com; commit standalone", "Changes committed")
	for _, m := range []*sshAppliance{b, c} {
		eventually(t, m.ip+"'s endpoints after A's removal", func() string {
			if got := stateOf(t, m).Endpoints; slices.Contains(got, cis[0].ClientURL) || len(got) != 2 {
				return fmt.Sprintf("%v still lists A (%s)", got, cis[0].ClientURL)
			}
			return ""
		})
	}
	step("A standalone")
	a.stop()

	mustRun(t, b, "clusterconfig removemachine "+cis[2].Machine, "removed from the cluster")
	wantStandalone(t, c)
	c.stop()
	if got := etcdMembers(t, b); !slices.Equal(got, []string{cis[1].Machine}) {
		t.Fatalf("etcd members after removing C: %v", got)
	}
	step("C removed")
	b.restart()
	eventually(t, "a commit on B alone", func() string {
		// sethostname is machine-level: the §1.4 question switches.
		r := b.withPassword("admin", adminPW, "sethostname last.example.com\nY\ncommit\nalone\nn\n")
		if !strings.Contains(r.out, "Changes committed") {
			return r.out
		}
		return ""
	})
}

// freePortPair is a port free on every ip.
func freeCommonPort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		free := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no port free on every address")
	return 0
}

// hostKeyFingerprint is the SSH host key fingerprint the server at addr
// offers.
func hostKeyFingerprint(t *testing.T, addr string) string {
	t.Helper()
	var fp string
	errSeen := errors.New("seen")
	_, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "nobody", Timeout: 10 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			fp = gossh.FingerprintSHA256(key)
			return errSeen
		}})
	if !errors.Is(err, errSeen) {
		t.Fatalf("host key of %s: %v", addr, err)
	}
	return fp
}

// TestClusterPortsAndHostKeys: the creator's --etcd-peer-port and
// --etcd-client-port are the ports of a joiner without flags too (the
// join bundle carries them). The batch join records the member's SSH
// host key (cluster/known_hosts, 0600), kept when the machine leaves; once
// that member's key changed a batch join is refused, naming the host and
// both fingerprints; the interactive dialog asks and accepts the new key.
func TestClusterPortsAndHostKeys(t *testing.T) {
	ms := newMemberMachines(t, 2)
	a, b := ms[0], ms[1]
	peer, client := freeCommonPort(t, a.ip, b.ip), freeCommonPort(t, a.ip, b.ip)
	flags := []string{"--etcd-peer-port", strconv.Itoa(peer), "--etcd-client-port", strconv.Itoa(client)}
	a.restart(flags...)
	mustRun(t, a, "clusterconfig create Ports "+a.ip, "cluster takes effect immediately")
	join := fmt.Sprintf("clusterconfig join %s admin %s Main_Group", a.addr(), adminPW)
	mustRun(t, b, join, "cluster takes effect immediately")
	for _, m := range ms {
		ci := stateOf(t, m)
		wantPeer := "https://" + net.JoinHostPort(m.ip, strconv.Itoa(peer))
		wantClient := "https://" + net.JoinHostPort(m.ip, strconv.Itoa(client))
		if ci.PeerURL != wantPeer || ci.ClientURL != wantClient {
			t.Fatalf("%s: member URLs %s %s, want %s %s", m.ip, ci.PeerURL, ci.ClientURL, wantPeer, wantClient)
		}
		if conn, err := net.Dial("tcp", net.JoinHostPort(m.ip, strconv.Itoa(defaultClientPort))); err == nil {
			conn.Close()
			t.Fatalf("%s: something listens on etcd's default client port", m.ip)
		}
	}

	known := filepath.Join(b.dir, clusterDirName, knownHostsFile)
	first := hostKeyFingerprint(t, a.addr())
	checkKnown := func(want string) {
		t.Helper()
		fi, err := os.Stat(known)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("known hosts %s: %v, mode %v; want 0600", known, err, fi)
		}
		keys, err := knownHosts{known}.keys(a.addr())
		if err != nil || len(keys) != 1 || gossh.FingerprintSHA256(keys[0]) != want {
			t.Fatalf("known key of %s: %d keys, %v; want %s", a.addr(), len(keys), err, want)
		}
	}
	checkKnown(first)
	mustRun(t, b, "clusterconfig removemachine "+stateOf(t, b).Machine, "left the cluster")
	checkKnown(first)
	if got := etcdMembers(t, a); len(got) != 1 {
		log, _ := os.ReadFile(filepath.Join(b.dir, "logs", "cli_logs", "cli.current"))
		t.Fatalf("etcd members after B left: %v\n%s", got, log)
	}

	// A gets a new host key.
	a.stop()
	if err := os.RemoveAll(filepath.Join(a.dir, "ssh")); err != nil {
		t.Fatal(err)
	}
	a.start(flags...)
	second := hostKeyFingerprint(t, a.addr())
	if second == first {
		t.Fatal("A kept its host key")
	}
	r := b.withPassword("admin", adminPW, "", join)
	for _, want := range []string{"WARNING:  The host key of " + a.addr() + " has changed", first, second} {
		if r.code == 0 || !strings.Contains(r.out, want) {
			t.Fatalf("batch join after A's key changed: %d, no %q\n%s", r.code, want, r.out)
		}
	}
	if stateOf(t, b) != nil {
		t.Fatal("a refused join left B clustered")
	}
	checkKnown(first)
	dialog := fmt.Sprintf("clusterconfig\n3\n%s\n\nadmin\n%s\ny\nMain_Group\n", a.ip, adminPW)
	r = b.withPassword("admin", adminPW, dialog)
	if !strings.Contains(r.out, "Public host key fingerprint: "+second) || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("join through the dialog: %d\n%s", r.code, r.out)
	}
	checkKnown(second)
}

// TestClusterClientFollowsVoters: a machine beyond the voters (a client
// only, ESASH_CLUSTER_VOTERS=2 makes one with three machines) knows the
// voters of its join at first. Its endpoint list follows them: after the
// voter it joined through is removed, rejoins on other etcd ports and the
// other voter is removed, the client restarted finds the cluster at the
// one voter left, which no address of its join reaches.
func TestClusterClientFollowsVoters(t *testing.T) {
	ms := newClusterMachinesEnv(t, 3, append(slices.Clone(membersEnv), "ESASH_CLUSTER_VOTERS=2"))
	a, b, c := ms[0], ms[1], ms[2]
	joinVia := func(m, via *sshAppliance) {
		t.Helper()
		mustRun(t, m, fmt.Sprintf("clusterconfig join %s admin %s Main_Group", via.addr(), adminPW), "cluster takes effect immediately")
	}
	mustRun(t, a, "clusterconfig create Clients "+a.ip, "cluster takes effect immediately")
	joinVia(b, a)
	joinVia(c, a)
	first := stateOf(t, c)
	if first.PeerURL != "" || len(first.Endpoints) != 2 {
		t.Fatalf("C should be a client of the two voters: %+v", first)
	}
	aID := stateOf(t, a).Machine
	mustRun(t, b, "clusterconfig removemachine "+aID, "removed from the cluster")
	wantStandalone(t, a)
	a.restart("--etcd-client-port", strconv.Itoa(freeCommonPort(t, a.ip)), "--etcd-peer-port", strconv.Itoa(freeCommonPort(t, a.ip)))
	joinVia(a, b)
	mustRun(t, a, "clusterconfig removemachine "+stateOf(t, b).Machine, "removed from the cluster")
	wantStandalone(t, b)
	b.stop()
	want := []string{stateOf(t, a).ClientURL}
	if slices.Contains(first.Endpoints, want[0]) {
		t.Fatalf("A's new client URL %s was among C's first endpoints %v", want[0], first.Endpoints)
	}
	eventually(t, "C's endpoints", func() string {
		if got := stateOf(t, c).Endpoints; !slices.Equal(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	c.restart()
	eventually(t, "C finds the cluster after its restart", func() string {
		r := c.withPassword("admin", adminPW, "", "clusterconfig list")
		if r.code != 0 || strings.Count(r.out, "Machine ") != 2 {
			return r.out
		}
		return ""
	})
}
