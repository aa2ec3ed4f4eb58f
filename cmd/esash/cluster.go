package main

// The daemon's cluster (issue 13): the state a data directory keeps when
// the appliance is clustered, the embedded etcd member it starts at boot,
// and create. Joining is in clusterjoin.go.
//
// A clustered data directory has cluster/:
//
//	state.json   name, this machine's id, its member URLs, the endpoints
//	             (the voters' client URLs, kept up to date: clusterfollow.go)
//	tls/         the cluster CA (certificate and key: any member can
//	             admit a joiner), this member's certificate and key (0600)
//	cluster.key  the cluster data key (0600)
//	etcd/        the embedded member's data
//	known_hosts  SSH host keys of the members joined through (0600,
//	             knownhosts.go); the only file kept when the machine leaves
//
// state.json is written last: a directory without it is not clustered
// (a create or join that failed halfway leaves nothing that boots).
//
// Decisions:
//
//   - A member's etcd listens on the address given at create or, for a
//     joiner, its Management interface's IPv4, on etcd's own ports, 2379
//     (clients) and 2380 (peers), unless `esash serve --etcd-client-port
//     --etcd-peer-port` say otherwise. The ports are flags, not questions:
//     AsyncOS's dialogs ask none for cluster traffic, and the address
//     answer stays an address (scripts send one). A joiner without the
//     flags takes the ports of the cluster it joins (the join bundle
//     carries them), so one flag pair on the creator sets a whole
//     cluster's ports; the URLs are recorded in state.json at create or
//     join, and later flags do not move a member.
//   - Every member keeps the cluster CA's key: any member can admit a
//     joiner, as on AsyncOS any member can be the one joined through. It
//     sits with the member key in the data directory (0600).
//   - A joiner is reached at the address it joins from: its SSH
//     connection leaves from its Management interface, and its member
//     certificate names that address.
//   - The batch join trusts the member's SSH host key on first use and
//     refuses a changed one; the dialog shows the fingerprint and asks
//     (knownhosts.go).
//   - REMOVEMACHINE of another machine ends its membership, then removes
//     its etcd member (voter or learner), so quorum is counted over the
//     machines that remain; the removed machine notices, goes on
//     standalone at once and closes its member once the member was removed
//     (clusterfollow.go). Leaving removes the machine's own member after
//     its membership (etcdstore's Leave).
//   - External etcd (serve --etcd-endpoints --etcd-tls): machines are
//     clients only and share the client certificate given at create,
//     handed to joiners in the bundle (the site's CA stays the site's).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"esash/commands/clusterconfig"
	"esash/lifecycle"
	"esash/store"
	"esash/store/etcdstore"
)

const (
	clusterDirName = "cluster"
	clusterState   = "state.json"
	// Default etcd ports on the member's own address (etcd's own).
	defaultClientPort = 2379
	defaultPeerPort   = 2380
)

// clusterInfo is cluster/state.json.
type clusterInfo struct {
	Name    string `json:"name"`
	Machine string `json:"machine"`
	// PeerURL and ClientURL are this machine's embedded member; empty for
	// a machine that joined beyond MaxVoters (a client only).
	PeerURL   string   `json:"peer_url,omitempty"`
	ClientURL string   `json:"client_url,omitempty"`
	Endpoints []string `json:"endpoints"`
}

// clusterHook is the appliance's cluster while it runs.
type clusterHook struct {
	mu   sync.Mutex
	etcd *embed.Etcd
	cli  *clientv3.Client
	st   *etcdstore.Store
	// closed: the appliance stopped; a member that starts late closes.
	closed bool
	// boot starts the member at boot (bootMember); nil once stopped.
	boot *memberBoot
	// info is the cluster state as last written; follow is the
	// membership follower (clusterfollow.go).
	info   clusterInfo
	follow *follower
	// leaving serialises leaving: a session's Leave (sessionCluster) and
	// leftCluster, and the follower that sees this machine no member
	// meanwhile; selfLeft says a session's Leave succeeded.
	leaving  sync.Mutex
	selfLeft bool
}

func (a *appliance) clusterDir() string { return filepath.Join(a.dir, clusterDirName) }
func (a *appliance) clusterTLS() string { return filepath.Join(a.clusterDir(), "tls") }

func readClusterInfo(dir string) (*clusterInfo, error) {
	raw, err := os.ReadFile(filepath.Join(dir, clusterState))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster state: %w", err)
	}
	var ci clusterInfo
	if err := json.Unmarshal(raw, &ci); err != nil {
		return nil, fmt.Errorf("cluster state %s: %w", clusterState, err)
	}
	return &ci, nil
}

func writeClusterInfo(dir string, ci clusterInfo) error {
	raw, _ := json.MarshalIndent(ci, "", "  ")
	tmp := filepath.Join(dir, clusterState+".tmp")
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("cluster state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, clusterState))
}

// clusterTimeouts are the etcd call deadline and the member's heartbeat
// and election timeout; tests shorten them (ESASH_CLUSTER_TIMEOUT,
// ESASH_ETCD_TICK_MS, ESASH_ETCD_ELECTION_MS).
func clusterTimeouts() (timeout time.Duration, tick, election uint, err error) {
	if timeout, err = envDuration("ESASH_CLUSTER_TIMEOUT"); err != nil {
		return
	}
	for _, v := range []struct {
		name string
		to   *uint
	}{{"ESASH_ETCD_TICK_MS", &tick}, {"ESASH_ETCD_ELECTION_MS", &election}} {
		if s := os.Getenv(v.name); s != "" {
			n, perr := strconv.ParseUint(s, 10, 32)
			if perr != nil {
				return 0, 0, 0, fmt.Errorf("%s: %w", v.name, perr)
			}
			*v.to = uint(n)
		}
	}
	if tick == 0 || election == 0 {
		tick, election = 0, 0
	}
	return timeout, tick, election, nil
}

// memberConfig is this machine's embedded member.
func (a *appliance) memberConfig(ci clusterInfo) (etcdstore.MemberConfig, error) {
	peer, err := url.Parse(ci.PeerURL)
	if err != nil {
		return etcdstore.MemberConfig{}, fmt.Errorf("cluster peer URL: %w", err)
	}
	client, err := url.Parse(ci.ClientURL)
	if err != nil {
		return etcdstore.MemberConfig{}, fmt.Errorf("cluster client URL: %w", err)
	}
	_, tick, election, err := clusterTimeouts()
	if err != nil {
		return etcdstore.MemberConfig{}, err
	}
	return etcdstore.MemberConfig{Name: ci.Machine, Dir: filepath.Join(a.clusterDir(), "etcd"), TLSDir: a.clusterTLS(),
		PeerURL: *peer, ClientURL: *client, InitialCluster: ci.Machine + "=" + peer.String(),
		TickMs: tick, ElectionMs: election, Logger: zap.NewNop()}, nil
}

// bootCluster attaches the cluster a clustered data directory belongs to.
// Mail never waits for etcd: the member starts in the background, the
// client connects lazily, and until a quorum answers the services run the
// local mirror and the shell refuses commits (etcdstore.ErrNoQuorum).
// A script with no daemon (member false) is a client of the others only:
// its member runs in the daemon.
func (a *appliance) bootCluster(stderr func(string, ...any), member bool) error {
	ci, err := readClusterInfo(a.clusterDir())
	if err != nil || ci == nil {
		return err
	}
	if ci.PeerURL != "" && member {
		mc, err := a.memberConfig(*ci)
		if err != nil {
			return err
		}
		// An existing member's data directory decides; the initial
		// cluster is ignored. Waiting for a quorum may take long.
		a.cluster.bootMember(func(ctx context.Context) (*embed.Etcd, error) {
			return etcdstore.StartMemberContext(ctx, mc, 24*time.Hour)
		}, stderr)
	}
	if err := a.openClusterStore(*ci, nil); err != nil {
		// closeCluster, not only stopBoot: a member that was ready
		// already is the hook's, and nothing else would close it.
		a.closeCluster(context.Background())
		return err
	}
	return a.followCluster(*ci)
}

// memberBoot is the goroutine that starts this machine's member at boot;
// closeCluster cancels it and waits for it, so an appliance closed while
// its member still waits for a quorum leaves no member running.
type memberBoot struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// bootMember starts the member with start in a goroutine owned by h; a
// failure other than the cancellation is reported.
func (h *clusterHook) bootMember(start func(context.Context) (*embed.Etcd, error), report func(string, ...any)) {
	ctx, cancel := context.WithCancel(context.Background())
	b := &memberBoot{cancel: cancel, done: make(chan struct{})}
	h.mu.Lock()
	h.boot = b
	h.mu.Unlock()
	go func() {
		defer close(b.done)
		e, err := start(ctx)
		if err != nil {
			// Only the cancellation's own error goes unsaid: a start
			// that failed of itself is reported even if closing began
			// meanwhile.
			if !errors.Is(err, context.Canceled) {
				report("cluster: %v", err)
			}
			return
		}
		if !h.setEtcd(e) {
			e.Close()
		}
	}()
}

// stopBoot cancels the boot goroutine, if any, and waits for it: the
// member it started is h's then, or closed. Every caller waits (two
// closeClusters at once: a machine removed while the appliance closes).
func (h *clusterHook) stopBoot() {
	h.mu.Lock()
	b := h.boot
	h.mu.Unlock()
	if b == nil {
		return
	}
	b.cancel()
	<-b.done
	h.mu.Lock()
	if h.boot == b {
		h.boot = nil
	}
	h.mu.Unlock()
}

// setEtcd records the member; false when the cluster closed meanwhile.
func (h *clusterHook) setEtcd(e *embed.Etcd) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.etcd = e
	return true
}

// openClusterStore opens the cluster store over ci's endpoints (the client
// cli, or a new one), attaches it to the shell and the lifecycle.
func (a *appliance) openClusterStore(ci clusterInfo, cli *clientv3.Client) error {
	timeout, _, _, err := clusterTimeouts()
	if err != nil {
		return err
	}
	// A client of the caller's stays the caller's until the store opens.
	own := cli == nil
	if own {
		if cli, err = etcdstore.Dial(ci.Endpoints, a.clusterTLS(), 5*time.Second); err != nil {
			return err
		}
	}
	key, err := etcdstore.ReadDataKey(a.clusterDir())
	if err != nil {
		if own {
			cli.Close()
		}
		return err
	}
	st, err := etcdstore.Open(context.Background(), etcdstore.Options{Client: cli, Machine: ci.Machine, Mirror: a.db,
		DataKey: key, Prepare: a.prepare, Timeout: timeout,
		OnApplyError: func(rev uint64, err error) {
			a.cliLog.Criticalf("cluster revision %d could not be activated on this machine: %v", rev, err)
		},
		OnHistoryError: func(err error) {
			if err != nil {
				a.cliLog.Warningf("cluster history not pruned: %v; revisions and audit entries accumulate in etcd until a prune works", err)
				return
			}
			a.cliLog.Infof("cluster history pruned again")
		}})
	if err != nil {
		if own {
			cli.Close()
		}
		return err
	}
	a.cluster.mu.Lock()
	a.cluster.cli, a.cluster.st, a.cluster.info = cli, st, ci
	a.cluster.mu.Unlock()
	a.shell.AttachCluster(sessionCluster{st, a})
	return a.services.Started("cluster", lifecycle.CloserFunc(a.closeCluster))
}

// closeUnowned closes a client the cluster store did not take over.
func (a *appliance) closeUnowned(cli *clientv3.Client) {
	a.cluster.mu.Lock()
	owned := a.cluster.cli == cli
	a.cluster.mu.Unlock()
	if !owned {
		cli.Close()
	}
}

// closeCluster stops the watcher, the client and the member.
// The follower has returned first (unless it is the follower closing, on
// its way out): it uses the client and the store.
func (a *appliance) closeCluster(ctx context.Context) error {
	h := &a.cluster
	h.stopBoot()
	h.mu.Lock()
	st, cli, e, f := h.st, h.cli, h.etcd, h.follow
	h.st, h.cli, h.etcd, h.follow, h.closed = nil, nil, nil, nil, true
	h.mu.Unlock()
	f.stop(ctx)
	if st != nil {
		st.Close()
	}
	if cli != nil {
		cli.Close()
	}
	if e != nil {
		e.Close()
	}
	return nil
}

// clusterConfig is the clusterconfig command: a script with no daemon
// cannot create or join (its etcd member would stop with it).
func (a *appliance) clusterConfig(script bool) clusterconfig.Command {
	if script {
		return clusterconfig.New()
	}
	return clusterconfig.WithFormer(clusterFormer{a})
}

// clusterFormer is what clusterconfig creates and joins clusters with.
type clusterFormer struct{ a *appliance }

var _ clusterconfig.Former = clusterFormer{}

// Address is the Management interface's IPv4 address.
func (f clusterFormer) Address() string {
	if c := f.a.db.Head().Config; len(c.Interfaces) > 0 {
		return c.Interfaces[0].IPv4
	}
	return ""
}

func (f clusterFormer) clustered() error {
	if ci, err := readClusterInfo(f.a.clusterDir()); err != nil || ci != nil {
		return errors.Join(err, etcdstore.ErrExists)
	}
	return nil
}

// newMachineID is a machine's identity in the cluster: its hostname's
// first label and a random suffix (a rebuilt machine is a new member).
func newMachineID(hostname string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	label, _, _ := strings.Cut(hostname, ".")
	if label == "" {
		label = "esa"
	}
	return label + "-" + hex.EncodeToString(b)
}

// etcdPorts are the ports of a machine's etcd member; 0 is not given.
type etcdPorts struct{ peer, client int }

// or fills the ports p lacks from q.
func (p etcdPorts) or(q etcdPorts) etcdPorts {
	if p.peer == 0 {
		p.peer = q.peer
	}
	if p.client == 0 {
		p.client = q.client
	}
	return p
}

// defaultPorts are etcd's own.
var defaultPorts = etcdPorts{peer: defaultPeerPort, client: defaultClientPort}

// checkEtcdPorts validates serve's --etcd-peer-port and --etcd-client-port.
func checkEtcdPorts(peer, client int) error {
	for _, p := range []struct {
		flag string
		port int
	}{{"--etcd-peer-port", peer}, {"--etcd-client-port", client}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("%s %d: a port is a number from 1 to 65535", p.flag, p.port)
		}
	}
	if peer != 0 && peer == client {
		return fmt.Errorf("--etcd-peer-port and --etcd-client-port are both %d: the member needs two ports", peer)
	}
	return nil
}

// portsOf are the ports of the member URLs peer and client (0 where
// there is none).
func portsOf(peer, client string) etcdPorts {
	port := func(raw string) int {
		u, err := url.Parse(raw)
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(u.Port())
		return n
	}
	return etcdPorts{peer: port(peer), client: port(client)}
}

func memberURLs(ip string, p etcdPorts) (peer, client string) {
	return "https://" + net.JoinHostPort(ip, strconv.Itoa(p.peer)),
		"https://" + net.JoinHostPort(ip, strconv.Itoa(p.client))
}

// externalEtcd is an etcd the site runs already (serve --etcd-endpoints
// --etcd-tls): a cluster created on it starts no member, every machine is
// a client with the client certificate given.
type externalEtcd struct{ endpoints, tlsDir string }

// copyTLS copies the external etcd's CA and client certificate into dir.
func (x externalEtcd) copyTLS(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{etcdstore.CAFile, etcdstore.CertFile, etcdstore.KeyFile} {
		raw, err := os.ReadFile(filepath.Join(x.tlsDir, name))
		if err != nil {
			return fmt.Errorf("external etcd TLS: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Create makes a new cluster: a new CA, this machine's member on address,
// the cluster written from the committed configuration. With an external
// etcd, its endpoints and client certificate instead.
func (f clusterFormer) Create(ctx context.Context, name, address string, meta store.Meta) (err error) {
	a := f.a
	if err := f.clustered(); err != nil {
		return err
	}
	ip := net.ParseIP(address)
	if ip == nil {
		return fmt.Errorf("address %q: not an IP address", address)
	}
	defer func() {
		if err != nil {
			a.closeCluster(ctx)
			a.forgetCluster()
		}
	}()
	cfg := a.db.Head().Config
	ci := clusterInfo{Name: name, Machine: newMachineID(cfg.Hostname)}
	key := etcdstore.NewDataKey()
	if err := os.MkdirAll(a.clusterDir(), 0o700); err != nil {
		return err
	}
	if err := etcdstore.WriteDataKey(a.clusterDir(), key); err != nil {
		return err
	}
	if a.external.endpoints != "" {
		ci.Endpoints = strings.Split(a.external.endpoints, ",")
		if err := a.external.copyTLS(a.clusterTLS()); err != nil {
			return err
		}
	} else if err := a.startFirstMember(&ci, ip); err != nil {
		return err
	}
	cli, err := etcdstore.Dial(ci.Endpoints, a.clusterTLS(), 5*time.Second)
	if err != nil {
		return err
	}
	if err := etcdstore.Create(ctx, cli, key, name, ci.Machine, cfg, meta); err != nil {
		cli.Close()
		return err
	}
	if err := a.attachNew(ctx, ci, cli, func(*etcdstore.Store) (uint64, error) { return 1, nil }); err != nil {
		a.closeUnowned(cli)
		return err
	}
	return nil
}

// startFirstMember makes the cluster CA and starts the cluster's first
// etcd member on ip.
func (a *appliance) startFirstMember(ci *clusterInfo, ip net.IP) error {
	ci.PeerURL, ci.ClientURL = memberURLs(ip.String(), a.ports.or(defaultPorts))
	ci.Endpoints = []string{ci.ClientURL}
	if err := etcdstore.NewCA(a.clusterTLS()); err != nil {
		return err
	}
	if err := etcdstore.IssueMember(a.clusterTLS(), a.clusterTLS(), ci.Machine, ip); err != nil {
		return err
	}
	mc, err := a.memberConfig(*ci)
	if err != nil {
		return err
	}
	e, err := etcdstore.StartMember(mc, 30*time.Second)
	if err != nil {
		return err
	}
	a.cluster.mu.Lock()
	a.cluster.etcd = e
	a.cluster.mu.Unlock()
	return nil
}

// attachNew opens the store of a cluster just created or joined, runs
// member (the membership revision), waits until this machine runs it, and
// records the state. On failure the shell is standalone again.
func (a *appliance) attachNew(ctx context.Context, ci clusterInfo, cli *clientv3.Client, member func(*etcdstore.Store) (uint64, error)) (err error) {
	a.cluster.mu.Lock()
	a.cluster.closed = false
	a.cluster.mu.Unlock()
	a.cluster.leaving.Lock()
	a.cluster.selfLeft = false
	a.cluster.leaving.Unlock()
	if err := a.openClusterStore(ci, cli); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			a.shell.AttachCluster(nil)
		}
	}()
	a.cluster.mu.Lock()
	st := a.cluster.st
	a.cluster.mu.Unlock()
	rev, err := member(st)
	if err != nil {
		return err
	}
	if err := st.WaitApplied(ctx, rev); err != nil {
		return err
	}
	if err := writeClusterInfo(a.clusterDir(), ci); err != nil {
		return err
	}
	return a.followCluster(ci)
}

// maskJoinPassword hides the password of `clusterconfig join <host>
// <user> <password> <group>` in what cli_logs records of a command.
func maskJoinPassword(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) < 5 || !strings.EqualFold(f[0], "clusterconfig") || !strings.EqualFold(f[1], "join") {
		return cmd
	}
	f[4] = "********"
	return strings.Join(f, " ")
}

// leftCluster is shell.Options.LeftCluster (clusterconfig REMOVEMACHINE
// of this machine, after the cluster store's Leave removed its etcd
// member): the machine goes on standalone with the configuration its
// local store mirrors; its member stops, and the data directory forgets
// the cluster (the next boot is standalone).
func (a *appliance) leftCluster() {
	a.cluster.leaving.Lock()
	defer a.cluster.leaving.Unlock()
	a.closeCluster(context.Background())
	a.forgetCluster()
}

// leftClusterFollower is leftCluster for the follower (ctx is its own):
// it gives up when the follower is stopped while it waits for a
// session's leaving, whose closeCluster waits for the follower.
func (a *appliance) leftClusterFollower(ctx context.Context) {
	if !lockLeaving(ctx, &a.cluster.leaving) {
		return
	}
	defer a.cluster.leaving.Unlock()
	a.closeCluster(ctx)
	a.forgetCluster()
}

// clusterMachine is this machine's identity in its cluster ("" when
// standalone).
func (a *appliance) clusterMachine() string {
	a.cluster.mu.Lock()
	defer a.cluster.mu.Unlock()
	return a.cluster.info.Machine
}

// maxVoters is the most voting members a joiner lets the cluster have:
// etcdstore.MaxVoters, or fewer with ESASH_CLUSTER_VOTERS (tests make a
// client-only machine without starting five members).
func maxVoters() (int, error) {
	v := os.Getenv("ESASH_CLUSTER_VOTERS")
	if v == "" {
		return etcdstore.MaxVoters, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > etcdstore.MaxVoters {
		return 0, fmt.Errorf("ESASH_CLUSTER_VOTERS %q: a number from 1 to %d", v, etcdstore.MaxVoters)
	}
	return n, nil
}
