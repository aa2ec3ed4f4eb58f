package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"esash/config"
	"esash/store"
	"esash/store/etcdstore"
)

// clusterEnv shortens etcd's timeouts for the tests.
var clusterEnv = []string{"ESASH_ETCD_TICK_MS=50", "ESASH_ETCD_ELECTION_MS=500", "ESASH_CLUSTER_TIMEOUT=5s"}

// newClusterMachines starts n daemons, each on its own loopback address
// with SSH password login open for admin.
func newClusterMachines(t *testing.T, n int) []*sshAppliance {
	t.Helper()
	return newClusterMachinesEnv(t, n, clusterEnv)
}

// newClusterMachinesEnv is newClusterMachines with the daemons' env.
func newClusterMachinesEnv(t *testing.T, n int, env []string) []*sshAppliance {
	t.Helper()
	ms := make([]*sshAppliance, n)
	for i := range ms {
		ms[i] = newSSHAppliance(t, sshOpts{env: env})
		if out, code := ms[i].console("passwd\n" + adminPW + "\n" + adminPW + "\n"); code != 0 {
			t.Fatalf("passwd: %d\n%s", code, out)
		}
	}
	return ms
}

// editStopped commits edit into a stopped appliance's store.
func editStopped(t *testing.T, a *sshAppliance, edit func(*config.Config)) {
	t.Helper()
	db, err := store.Open(filepath.Join(a.dir, dbFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := store.NewDraft(db, "admin", "test")
	if err := d.Update(func(c *config.Config) error { edit(c); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(context.Background(), "test setup", false, nil); err != nil {
		t.Fatal(err)
	}
}

// starttlsOrg is the organization of the certificate the MTA at ip
// presents after STARTTLS (each test certificate's O is its name).
func starttlsOrg(t *testing.T, ip string) string {
	t.Helper()
	c, err := smtp.Dial(net.JoinHostPort(ip, "2525"))
	if err != nil {
		t.Fatalf("SMTP %s: %v", ip, err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { // the subject is what is checked
		t.Fatalf("STARTTLS %s: %v", ip, err)
	}
	st, _ := c.TLSConnectionState()
	if o := st.PeerCertificates[0].Subject.Organization; len(o) > 0 {
		return o[0]
	}
	return ""
}

// waitOrg waits until the MTA at ip presents the certificate named org.
func waitOrg(t *testing.T, ip, org string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := starttlsOrg(t, ip)
		if got == org {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the MTA at %s presents %q, want %q", ip, got, org)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterCreateJoin (issue 13): A creates a cluster, B and C join
// through the batch form over real SSH; a cluster-level change of the
// listener's certificate committed on B is served by the MTA of every
// machine; sessions start at the cluster level with its prompt.
func TestClusterCreateJoin(t *testing.T) {
	ms := newClusterMachines(t, 3)
	p := newPeerPKI(t)
	one, two := p.profile(t, "One", mxHost), p.profile(t, "Two", mxHost)
	ms[0].stop()
	editStopped(t, ms[0], func(c *config.Config) {
		useProfile(one, config.TLSInPreferred)(c)
		c.Certificates = append(c.Certificates, two)
	})
	ms[0].start()
	r := ms[0].withPassword("admin", adminPW, "", "clusterconfig create Test-Cluster "+ms[0].ip)
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("create: %d\n%s", r.code, r.out)
	}
	r = ms[1].withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[0].addr(), adminPW))
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("join B: %d\n%s", r.code, r.out)
	}
	// C joins through the dialog, a change staged: the warning first.
	dialog := fmt.Sprintf("sethostname c.example.com\nclusterconfig\ny\n3\n%s\n\nadmin\n%s\ny\nMain_Group\n", ms[1].ip, adminPW)
	r = ms[2].withPassword("admin", adminPW, dialog)
	for _, want := range []string{"pending changes that may be lost", "3. Join an existing cluster over SSH.",
		"Is this a valid key for this host?", "Choose the group within cluster Test-Cluster to join.", "cluster takes effect immediately"} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("join C through the dialog: no %q: %d\n%s", want, r.code, r.out)
		}
	}
	if log, err := os.ReadFile(filepath.Join(ms[1].dir, "logs", "cli_logs", "cli.current")); err != nil || strings.Contains(string(log), adminPW) || !strings.Contains(string(log), "clusterconfig join") {
		t.Fatalf("B's cli_logs must record the join without its password (%v):\n%s", err, log)
	}
	r = ms[2].withPassword("admin", adminPW, "", "clusterconfig list")
	if r.code != 0 || strings.Count(r.out, "Machine ") != 3 {
		t.Fatalf("list on C: %d\n%s", r.code, r.out)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "One")
	}
	r = ms[1].withPassword("admin", adminPW, "listenerconfig\nEDIT\n1\nCERTIFICATE\nTwo\n\n\ncommit\ncertificate Two for the cluster\nn\n")
	if r.code != 0 || !strings.Contains(r.out, "(Cluster Test-Cluster)> ") || !strings.Contains(r.out, "Changes committed") {
		t.Fatalf("commit on B: %d\n%s", r.code, r.out)
	}
	for _, m := range ms {
		waitOrg(t, m.ip, "Two")
	}

	// A machine that boots without a quorum runs its mirror: mail flows
	// with the last configuration, and the shell refuses commits.
	for _, m := range ms {
		m.stop()
	}
	ms[0].start()
	waitOrg(t, ms[0].ip, "Two")
	change := "listenerconfig\nEDIT\n1\nCERTIFICATE\nOne\n\n\ncommit\nback to One\nn\n"
	r = ms[0].withPassword("admin", adminPW, change)
	if !strings.Contains(r.out, "cluster has no quorum; commit refused") {
		t.Fatalf("commit without quorum: %d\n%s", r.code, r.out)
	}
	// With B back the cluster has its quorum (2 of 3) and commits again.
	ms[1].start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = ms[0].withPassword("admin", adminPW, change)
		if strings.Contains(r.out, "Changes committed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commit after B restarted: %d\n%s", r.code, r.out)
		}
	}
	waitOrg(t, ms[1].ip, "One")
}

// startExternalEtcd runs an etcd the site would run already, one member
// with its own CA on ip, and returns its client URL and a directory with
// a client certificate for it.
func startExternalEtcd(t *testing.T, ip string) (string, string) {
	t.Helper()
	ca, server, client := t.TempDir(), t.TempDir(), t.TempDir()
	if err := etcdstore.NewCA(ca); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{server, client} {
		if err := etcdstore.IssueMember(ca, d, "site-etcd", net.ParseIP(ip)); err != nil {
			t.Fatal(err)
		}
	}
	port := func() string {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	peer := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, port())}
	cu := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, port())}
	e, err := etcdstore.StartMember(etcdstore.MemberConfig{Name: "site-etcd", Dir: t.TempDir(), TLSDir: server,
		PeerURL: peer, ClientURL: cu, InitialCluster: "site-etcd=" + peer.String(),
		TickMs: 50, ElectionMs: 500, Logger: zap.NewNop()}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return cu.String(), client
}

// TestClusterExternalEtcd: a cluster created with --etcd-endpoints lives
// in the site's etcd; no machine starts a member, a joiner is a client
// with the same client certificate, and both see each other's revisions.
func TestClusterExternalEtcd(t *testing.T) {
	ms := newClusterMachines(t, 2)
	endpoint, tlsDir := startExternalEtcd(t, nextLoopback())
	ms[0].restart("--etcd-endpoints", endpoint, "--etcd-tls", tlsDir)
	r := ms[0].withPassword("admin", adminPW, "", "clusterconfig create Site "+ms[0].ip)
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("create: %d\n%s", r.code, r.out)
	}
	// A group the cluster does not have: refused, B stays standalone.
	r = ms[1].withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Nowhere", ms[0].addr(), adminPW))
	if r.code == 0 || !strings.Contains(r.out, "no such group") {
		t.Fatalf("join into no group: %d\n%s", r.code, r.out)
	}
	if entries, _ := os.ReadDir(filepath.Join(ms[1].dir, clusterDirName)); len(entries) > 1 || len(entries) == 1 && entries[0].Name() != knownHostsFile {
		t.Fatalf("a refused join left more than the known SSH host keys in the cluster directory: %v", entries)
	}
	if r = ms[1].withPassword("admin", adminPW, "", "clustermode cluster"); !strings.Contains(r.out, "only available on cluster system") {
		t.Fatalf("B is not standalone after a refused join:\n%s", r.out)
	}
	r = ms[1].withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[0].addr(), adminPW))
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("join: %d\n%s", r.code, r.out)
	}
	for _, m := range ms {
		ci, err := readClusterInfo(filepath.Join(m.dir, clusterDirName))
		if err != nil || ci == nil || ci.PeerURL != "" || len(ci.Endpoints) != 1 || ci.Endpoints[0] != endpoint {
			t.Fatalf("%s: cluster state %+v, %v; want a client of %s only", m.ip, ci, err, endpoint)
		}
		if c, err := net.Dial("tcp", net.JoinHostPort(m.ip, strconv.Itoa(defaultClientPort))); err == nil {
			c.Close()
			t.Fatalf("%s runs an etcd member on an external cluster", m.ip)
		}
	}
	if r = ms[1].withPassword("admin", adminPW, "", "clusterconfig addgroup Europe"); r.code != 0 {
		t.Fatalf("addgroup on B: %d\n%s", r.code, r.out)
	}
	r = ms[0].withPassword("admin", adminPW, "", "clusterconfig list")
	if !strings.Contains(r.out, "Group Europe:") || strings.Count(r.out, "Machine ") != 2 {
		t.Fatalf("list on A: %d\n%s", r.code, r.out)
	}
}

func TestMaskJoinPassword(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"join", "clusterconfig join 10.0.0.1:2222 admin s3cret Main_Group", "clusterconfig join 10.0.0.1:2222 admin ******** Main_Group"},
		{"upper case", "CLUSTERCONFIG JOIN h admin s3cret g", "CLUSTERCONFIG JOIN h admin ******** g"},
		{"other operation", "clusterconfig addgroup s3cret", "clusterconfig addgroup s3cret"},
		{"dialog", "clusterconfig", "clusterconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maskJoinPassword(tc.in); got != tc.want {
				t.Errorf("maskJoinPassword(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
