package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
	"esash/store/etcdstore"
)

// BenchmarkCluster is issue 13's benchmark, against real `esash serve`
// daemons with the production etcd timeouts (heartbeat 100 ms, election
// 1 s, call deadline 2 s: no ESASH_ETCD_* or ESASH_CLUSTER_TIMEOUT):
//
//	go test -run '^$' -bench '^BenchmarkCluster$' -benchtime 100x ./cmd/esash/
//
// (`make bench-cluster`). Four daemons on loopback addresses of their
// own: S stays standalone, A creates cluster Bench, B and C join it over
// SSH. Each commit is the change an administrator makes through the same
// path: a console session attached to the daemon (`esash --data DIR`,
// kept open) runs `listenerconfig` (EDIT, CERTIFICATE, the other of two
// certificates), then `commit <comment>`; the MTA's prepare and activate
// load the new certificate as on every commit.
//
//   - commit/standalone, commit/cluster-leader, commit/cluster-follower:
//     the time from writing the commit line to the session printing
//     "Changes committed" (p50-ms, p99-ms), on S, on the member that is
//     the etcd leader when the cluster formed, and on another member (its
//     Txn goes through the leader). On the cluster this is read, check,
//     dry-run prepare, the etcd Txn, and the committing machine's own
//     watcher applying the revision through its local store and services
//     (the commit answers once its machine runs it). cpu-ms/op is the CPU
//     time of the daemons (S; A+B+C) per commit.
//   - the cluster runs also report active-all-p50-ms and -p99-ms: from the
//     commit line to the moment the last of A, B, C has activated the
//     revision. "Activated" is the member's status/<id>/applied record
//     reaching the revision without error, which the watcher writes after
//     the services' activate returned; the benchmark sees it through an
//     etcd watch, so the figure includes the status Put's own raft round.
//     After the loop a STARTTLS probe on every member checks that its MTA
//     serves the last certificate.
//   - memory: VmRSS and VmHWM (/proc/PID/status) of S and of the members,
//     idle (before the commits) and after them; the members' figure is
//     the largest of A, B, C (the one with the largest VmRSS); added-* is
//     member minus standalone, also split into RssAnon (heap) and RssFile
//     (mapped files: etcd's database); disk-etcd-MB is A's etcd data
//     directory after the commits (the WAL preallocates 64 MB segments),
//     disk-etcd-db-MB its snap/ (the database and snapshots). Also the
//     share of a core each used while idle (cpu-idle-*-%, over 3 s; the
//     members' is the largest).
//
// ESASH_BENCH_PROFILE=DIR writes each daemon's CPU profile into DIR
// (ESASH_CPUPROFILE) for go tool pprof.
func BenchmarkCluster(b *testing.B) {
	bc := newBenchCluster(b)
	b.Run("commit/standalone", func(b *testing.B) {
		bc.commits(b, bc.s, nil)
	})
	b.Run("commit/cluster-leader", func(b *testing.B) {
		bc.commits(b, bc.leader, bc.members)
	})
	b.Run("commit/cluster-follower", func(b *testing.B) {
		bc.commits(b, bc.follower, bc.members)
	})
	b.Run("memory", func(b *testing.B) {
		for range b.N {
			// Nothing to repeat: the figures are of the runs above.
		}
		bc.reportMemory(b)
	})
}

// benchDaemon is one `esash serve` of the benchmark with a console session
// attached to it.
type benchDaemon struct {
	*sshAppliance
	name    string
	console *benchConsole
	prompt  string // the main prompt of its sessions
	// The certificates alternate as the listener's; next is the index of
	// the one the next commit on S sets (the listener starts on the
	// first), so next-1 commits were made.
	next int
	// machine is its cluster identity (members only).
	machine string
	idle    procMemory
	// idleCPU is the share of a core it used while idle.
	idleCPU float64
}

type benchCluster struct {
	s       *benchDaemon
	members []*benchDaemon
	certs   []config.Certificate
	cli     *clientv3.Client // the benchmark's own client of the cluster
	status  *statusWatch
	// leader and follower are the members whose sessions commit; next
	// is the cluster's counterpart of benchDaemon.next.
	leader, follower *benchDaemon
	next             int
}

var benchCertNames = []string{"One", "Two"}

func newBenchCluster(b *testing.B) *benchCluster {
	b.Helper()
	bc := &benchCluster{next: 1}
	begin := time.Now()
	for _, n := range benchCertNames {
		bc.certs = append(bc.certs, benchCert(b, n))
	}
	var env []string
	start := func(name string) *benchDaemon {
		if dir := os.Getenv("ESASH_BENCH_PROFILE"); dir != "" {
			env = []string{"ESASH_CPUPROFILE=" + filepath.Join(dir, name+".pprof")}
		}
		d := &benchDaemon{sshAppliance: newSSHAppliance(b, sshOpts{env: env}), name: name, next: 1}
		if out, code := d.sshAppliance.console("passwd\n" + adminPW + "\n" + adminPW + "\n"); code != 0 {
			b.Fatalf("passwd on %s: %d\n%s", name, code, out)
		}
		return d
	}
	bc.s = start("S")
	for _, n := range []string{"A", "B", "C"} {
		bc.members = append(bc.members, start(n))
	}
	// S and A (whose configuration becomes the cluster's) hold both
	// certificates, the listener on the first, STARTTLS offered.
	for _, d := range []*benchDaemon{bc.s, bc.members[0]} {
		d.stop()
		editStoppedTB(b, d.sshAppliance, func(c *config.Config) {
			c.Certificates = append(c.Certificates, bc.certs...)
			c.Listeners[0].Certificate = bc.certs[0].Name
			c.Listeners[0].DefaultPolicy.TLS = config.TLSInPreferred
		})
		d.start()
	}
	b.Logf("4 daemons started after %s", time.Since(begin).Round(time.Millisecond))
	all := append([]*benchDaemon{bc.s}, bc.members...)
	settleIdle(b, all)
	a := bc.members[0]
	if r := a.withPassword("admin", adminPW, "", "clusterconfig create Bench "+a.ip); r.code != 0 {
		b.Fatalf("create: %d\n%s", r.code, r.out)
	}
	for _, d := range bc.members[1:] {
		r := d.withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", a.addr(), adminPW))
		if r.code != 0 {
			b.Fatalf("join %s: %d\n%s", d.name, r.code, r.out)
		}
	}
	b.Logf("daemons started, cluster formed after %s", time.Since(begin).Round(time.Millisecond))
	bc.watchCluster(b)
	// The members' idle figure: the cluster formed, every member running
	// its revision, nothing committed yet.
	settleIdle(b, bc.members)
	bc.s.openConsole(b, config.Factory(config.Certificate{}).Hostname+"> ")
	bc.findLeader(b)
	bc.leader.openConsole(b, "(Cluster Bench)> ")
	bc.follower.openConsole(b, "(Cluster Bench)> ")
	return bc
}

// settleIdle lets daemons that just started or formed a cluster reach
// their idle state, then reads their memory and their CPU use over a
// few idle seconds (an etcd member's heartbeats cost CPU even then).
func settleIdle(b *testing.B, ds []*benchDaemon) {
	b.Helper()
	time.Sleep(2 * time.Second)
	for _, d := range ds {
		d.idle = readProcMemory(b, d.cmd.Process.Pid)
	}
	const span = 3 * time.Second
	before := make([]time.Duration, len(ds))
	for i, d := range ds {
		before[i] = daemonsCPU(b, []*benchDaemon{d})
	}
	time.Sleep(span)
	for i, d := range ds {
		d.idleCPU = float64(daemonsCPU(b, []*benchDaemon{d})-before[i]) / float64(span)
	}
}

// watchCluster dials the cluster with A's member certificate, learns each
// member's identity and starts watching the applied statuses.
func (bc *benchCluster) watchCluster(b *testing.B) {
	b.Helper()
	a := bc.members[0]
	ci, err := readClusterInfo(filepath.Join(a.dir, clusterDirName))
	if err != nil || ci == nil {
		b.Fatalf("A's cluster state: %v", err)
	}
	if bc.cli, err = etcdstore.Dial(ci.Endpoints, filepath.Join(a.dir, clusterDirName, "tls"), 10*time.Second); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bc.cli.Close() })
	for _, d := range bc.members {
		ci, err := readClusterInfo(filepath.Join(d.dir, clusterDirName))
		if err != nil || ci == nil {
			b.Fatalf("%s is not clustered: %v", d.name, err)
		}
		d.machine = ci.Machine
	}
	bc.status = watchStatus(b, bc.cli)
}

// findLeader picks the member whose etcd member leads and one that does
// not.
func (bc *benchCluster) findLeader(b *testing.B) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range bc.members {
		ci, err := readClusterInfo(filepath.Join(d.dir, clusterDirName))
		if err != nil || ci == nil {
			b.Fatalf("%s is not clustered: %v", d.name, err)
		}
		st, err := bc.cli.Status(ctx, ci.ClientURL)
		if err != nil {
			b.Fatalf("status of %s's member: %v", d.name, err)
		}
		if st.Header.MemberId == st.Leader {
			bc.leader = d
		} else if bc.follower == nil {
			bc.follower = d
		}
	}
	if bc.leader == nil || bc.follower == nil {
		b.Fatal("no leader and follower among the members")
	}
	b.Logf("leader %s, follower %s", bc.leader.name, bc.follower.name)
}

// commits runs b.N commits on d; members, when not nil, are the machines
// whose activation is awaited after each.
func (bc *benchCluster) commits(b *testing.B, d *benchDaemon, members []*benchDaemon) {
	procs := []*benchDaemon{d}
	if members != nil {
		procs = members
	}
	next := &d.next
	if members != nil {
		next = &bc.next // the members share the cluster's listener
	}
	cpu := daemonsCPU(b, procs)
	var commitLat, activeLat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		cert := benchCertNames[*next%len(benchCertNames)]
		*next++
		// The empty line first: a session refreshes its draft when it
		// shows the prompt, not when a command arrives, so a session that
		// sat at its prompt while another machine committed would edit
		// what it saw then (reported with the benchmark, shell.Run).
		d.console.send(b, "\nlistenerconfig\nEDIT\n1\nCERTIFICATE\n"+cert+"\n\n\n")
		d.console.expect(b, d.prompt)
		d.console.expect(b, d.prompt)
		var rev uint64
		if members != nil {
			rev = bc.head(b) + 1
		}
		b.StartTimer()
		begin := time.Now()
		d.console.send(b, fmt.Sprintf("commit bench %s %d\n", cert, i))
		d.console.expect(b, "Changes committed")
		commitLat = append(commitLat, time.Since(begin))
		if members != nil {
			last := bc.status.waitAll(b, machines(members), rev)
			activeLat = append(activeLat, last.Sub(begin))
		}
		b.StopTimer()
		d.console.expect(b, d.prompt)
	}
	b.StopTimer()
	b.ReportMetric(float64(daemonsCPU(b, procs)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	reportQuantiles(b, "", commitLat)
	reportQuantiles(b, "active-all-", activeLat)
	// Every member's MTA serves the certificate of the last commit.
	want := benchCertNames[(*next-1)%len(benchCertNames)]
	for _, m := range procs {
		if got := benchStartTLSOrg(b, m.ip); got != want {
			b.Fatalf("%s's MTA presents %q after the commits, want %q", m.name, got, want)
		}
	}
}

func machines(ds []*benchDaemon) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.machine)
	}
	return out
}

// head is the cluster's revision now.
func (bc *benchCluster) head(b testing.TB) uint64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := bc.cli.Get(ctx, "/esa/v1/head") // the key layout of etcdstore's doc.go
	if err != nil || len(resp.Kvs) != 1 {
		b.Fatalf("cluster head: %v", err)
	}
	var hv struct {
		Rev uint64 `json:"rev"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &hv); err != nil {
		b.Fatal(err)
	}
	return hv.Rev
}

func reportQuantiles(b *testing.B, prefix string, s []time.Duration) {
	if len(s) == 0 {
		return
	}
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(s[len(s)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(s[len(s)*99/100]), prefix+"p99-ms")
}

func (bc *benchCluster) reportMemory(b *testing.B) {
	mb := func(kb int64) float64 { return float64(kb) / 1024 }
	now := readProcMemory(b, bc.s.cmd.Process.Pid)
	var memIdle, memNow procMemory
	for _, d := range bc.members {
		memIdle = memIdle.max(d.idle)
		memNow = memNow.max(readProcMemory(b, d.cmd.Process.Pid))
	}
	b.ReportMetric(mb(bc.s.idle.rss), "rss-standalone-idle-MB")
	b.ReportMetric(mb(memIdle.rss), "rss-member-idle-MB")
	b.ReportMetric(mb(memIdle.rss-bc.s.idle.rss), "rss-added-idle-MB")
	b.ReportMetric(mb(now.rss), "rss-standalone-after-MB")
	b.ReportMetric(mb(memNow.rss), "rss-member-after-MB")
	b.ReportMetric(mb(memNow.rss-now.rss), "rss-added-after-MB")
	var memberCPU float64
	for _, d := range bc.members {
		memberCPU = max(memberCPU, d.idleCPU)
	}
	b.ReportMetric(100*bc.s.idleCPU, "cpu-idle-standalone-%")
	b.ReportMetric(100*memberCPU, "cpu-idle-member-%")
	b.ReportMetric(mb(memNow.anon-now.anon), "rss-anon-added-after-MB")
	b.ReportMetric(mb(memNow.file-now.file), "rss-file-added-after-MB")
	etcdDir := filepath.Join(bc.members[0].dir, clusterDirName, "etcd")
	b.ReportMetric(float64(dirSize(b, etcdDir))/(1<<20), "disk-etcd-MB")
	b.ReportMetric(float64(dirSize(b, filepath.Join(etcdDir, "member", "snap")))/(1<<20), "disk-etcd-db-MB")
	b.ReportMetric(mb(now.hwm), "hwm-standalone-MB")
	b.ReportMetric(mb(memNow.hwm), "hwm-member-MB")
	b.ReportMetric(float64(bc.s.next-1), "commits-standalone")
	b.ReportMetric(float64(bc.next-1), "commits-cluster")
}

// procMemory is VmRSS, VmHWM and VmRSS's parts RssAnon (the heap, the
// stacks) and RssFile (mapped files: etcd's bbolt database) of a process,
// in KiB.
type procMemory struct{ rss, hwm, anon, file int64 }

func (m procMemory) max(o procMemory) procMemory {
	if o.rss > m.rss {
		m.rss, m.anon, m.file = o.rss, o.anon, o.file
	}
	m.hwm = max(m.hwm, o.hwm)
	return m
}

func readProcMemory(b testing.TB, pid int) procMemory {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	var m procMemory
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n
		case "VmHWM":
			m.hwm = n
		case "RssAnon":
			m.anon = n
		case "RssFile":
			m.file = n
		}
	}
	return m
}

// dirSize is the bytes of the files under dir.
func dirSize(b testing.TB, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// daemonsCPU is the CPU time (user and system) the daemons have used.
func daemonsCPU(b testing.TB, ds []*benchDaemon) time.Duration {
	b.Helper()
	var total time.Duration
	for _, d := range ds {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		// Fields after the command name in parentheses: utime and stime
		// are the 14th and 15th of the whole line, in clock ticks.
		s := string(raw)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * (time.Second / 100) // USER_HZ
	}
	return total
}

// statusWatch records when each machine's applied status first reached
// each revision.
type statusWatch struct {
	mu      sync.Mutex
	applied map[string]appliedAt // machine → newest status
	changed chan struct{}
}

type appliedAt struct {
	rev uint64
	at  time.Time
	err string
}

func watchStatus(b *testing.B, cli *clientv3.Client) *statusWatch {
	w := &statusWatch{applied: map[string]appliedAt{}, changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	const prefix = "/esa/v1/status/" // status/<id>/applied, etcdstore's doc.go
	ready := make(chan struct{})
	go func() {
		wch := cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		close(ready)
		for resp := range wch {
			now := time.Now()
			w.mu.Lock()
			for _, ev := range resp.Events {
				id, ok := strings.CutSuffix(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/applied")
				var st struct {
					Rev   uint64 `json:"rev"`
					Error string `json:"error"`
				}
				if !ok || json.Unmarshal(ev.Kv.Value, &st) != nil {
					continue
				}
				w.applied[id] = appliedAt{rev: st.Rev, at: now, err: st.Error}
			}
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	<-ready
	return w
}

// waitAll waits until every machine applied rev and returns when the
// last one did.
func (w *statusWatch) waitAll(b testing.TB, ids []string, rev uint64) time.Time {
	b.Helper()
	deadline := time.After(60 * time.Second)
	for {
		w.mu.Lock()
		var last time.Time
		done := true
		for _, id := range ids {
			a := w.applied[id]
			if a.rev >= rev && a.err != "" {
				w.mu.Unlock()
				b.Fatalf("machine %s could not activate revision %d: %s", id, a.rev, a.err)
			}
			if a.rev < rev {
				done = false
				break
			}
			if a.at.After(last) {
				last = a.at
			}
		}
		changed := w.changed
		w.mu.Unlock()
		if done {
			return last
		}
		select {
		case <-changed:
		case <-deadline:
			b.Fatalf("revision %d not applied on every member within 60s: %v", rev, w.applied)
		}
	}
}

// benchConsole is a console session kept open on a daemon: lines go to
// its input, its output is searched in order.
type benchConsole struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	mu      sync.Mutex
	out     []byte
	pos     int // what expect consumed
	grew    chan struct{}
	readErr error
}

func (d *benchDaemon) openConsole(b *testing.B, prompt string) {
	b.Helper()
	c := &benchConsole{grew: make(chan struct{})}
	c.cmd = exec.Command(d.bin, "--data", d.dir)
	c.cmd.Env = d.env
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw
	if err := c.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		err := c.cmd.Wait()
		pw.CloseWithError(fmt.Errorf("console exited: %v", err))
	}()
	go c.read(pr)
	b.Cleanup(func() {
		c.in.Close()
		c.cmd.Process.Kill()
	})
	d.console, d.prompt = c, prompt
	c.expect(b, prompt)
}

func (c *benchConsole) read(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		c.mu.Lock()
		c.out = append(c.out, buf[:n]...)
		if err != nil {
			c.readErr = err
		}
		close(c.grew)
		c.grew = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *benchConsole) send(b testing.TB, lines string) {
	b.Helper()
	if _, err := io.WriteString(c.in, lines); err != nil {
		b.Fatalf("console input: %v", err)
	}
}

// expect waits until want appears in the output after what was consumed,
// and consumes up to its end.
func (c *benchConsole) expect(b testing.TB, want string) {
	b.Helper()
	deadline := time.After(60 * time.Second)
	for {
		c.mu.Lock()
		i := strings.Index(string(c.out[c.pos:]), want)
		grew, err := c.grew, c.readErr
		if i >= 0 {
			c.pos += i + len(want)
			c.mu.Unlock()
			return
		}
		tail := string(c.out[max(0, len(c.out)-2000):])
		c.mu.Unlock()
		if err != nil {
			b.Fatalf("console: %v before %q:\n%s", err, want, tail)
		}
		select {
		case <-grew:
		case <-deadline:
			b.Fatalf("console: no %q within 60s:\n%s", want, tail)
		}
	}
}

// editStoppedTB commits edit into a stopped appliance's store.
func editStoppedTB(b testing.TB, a *sshAppliance, edit func(*config.Config)) {
	b.Helper()
	db, err := store.Open(filepath.Join(a.dir, dbFile), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	d := store.NewDraft(db, "admin", "bench")
	if err := d.Update(func(c *config.Config) error { edit(c); return nil }); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Commit(context.Background(), "bench setup", false, nil); err != nil {
		b.Fatal(err)
	}
}

// benchCert is a self-signed certificate whose organization is its name
// (what the STARTTLS probe reads).
func benchCert(b testing.TB, name string) config.Certificate {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:  pkix.Name{CommonName: "mx.bench.test", Organization: []string{name}},
		DNSNames: []string{"mx.bench.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(72 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		b.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return config.Certificate{Name: name,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
}

// benchStartTLSOrg is the organization of the certificate the MTA at ip
// presents after STARTTLS.
func benchStartTLSOrg(b testing.TB, ip string) string {
	b.Helper()
	c, err := smtp.Dial(net.JoinHostPort(ip, "2525"))
	if err != nil {
		b.Fatalf("SMTP %s: %v", ip, err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { // the subject is what is checked
		b.Fatalf("STARTTLS %s: %v", ip, err)
	}
	st, _ := c.TLSConnectionState()
	if o := st.PeerCertificates[0].Subject.Organization; len(o) > 0 {
		return o[0]
	}
	return ""
}
