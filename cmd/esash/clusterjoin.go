package main

// Joining a cluster (issue 13). The joiner authenticates to an existing
// member over SSH with an administrator's credentials, as AsyncOS joins
// over SSH, and runs the hidden exec command joinBundleCommand there. The
// member answers an administrator with the join bundle: the cluster CA, a
// member certificate for the joiner's address signed by it, the data key
// and the voters' client URLs. With it the joiner starts its own etcd
// member as a learner, is promoted to voter once in sync (beyond
// MaxVoters it stays a client), and joins the group: one revision.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	gossh "golang.org/x/crypto/ssh"

	"esash/commands/clusterconfig"
	"esash/config"
	"esash/sshd"
	"esash/store"
	"esash/store/etcdstore"
)

// joinBundleCommand is the hidden exec command of a member that hands an
// administrator the join bundle: `esash-cluster-join <machine> <ip>`.
const joinBundleCommand = "esash-cluster-join"

// joinBundle is what a joiner receives.
type joinBundle struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	Endpoints []string `json:"endpoints"`
	// Files of the joiner's tls/ (etcdstore.CAFile, CAKey, CertFile,
	// KeyFile) and the data key, base64.
	Files   map[string][]byte `json:"files"`
	DataKey []byte            `json:"data_key"`
	// PeerPort and ClientPort are the ports of the cluster's members (of
	// the member joined through, else of a voter): the joiner's member
	// uses them unless its serve flags say otherwise.
	PeerPort   int `json:"peer_port,omitempty"`
	ClientPort int `json:"client_port,omitempty"`
	// External: the cluster runs on an external etcd; the joiner is a
	// client with the members' client certificate and starts no member.
	External bool `json:"external,omitempty"`
}

// serveJoinBundle answers joinBundleCommand; ok is false for any other
// session. Only an administrator gets a bundle.
func (a *appliance) serveJoinBundle(ss sshd.Session) (code int, ok bool) {
	if ss.Command == nil || !strings.HasPrefix(*ss.Command, joinBundleCommand+" ") {
		return 0, false
	}
	fail := func(err error) (int, bool) {
		fmt.Fprintf(ss.Stderr, "%s: %v\n", joinBundleCommand, err)
		return 1, true
	}
	if ss.Role != config.RoleAdmin {
		return fail(errors.New("joining a cluster needs an administrator's account"))
	}
	args := strings.Fields(*ss.Command)
	if len(args) != 3 || net.ParseIP(args[2]) == nil {
		return fail(errors.New("usage: " + joinBundleCommand + " <machine> <ip>"))
	}
	b, err := a.joinBundleFor(ss.Ctx, args[1], net.ParseIP(args[2]))
	if err != nil {
		return fail(err)
	}
	if err := json.NewEncoder(ss.Stdout).Encode(b); err != nil {
		return fail(err)
	}
	a.cliLog.Infof("User %s (%s) received the join bundle of cluster %s for machine %s (%s)", ss.User, ss.Source, b.Name, args[1], args[2])
	return 0, true
}

func (a *appliance) joinBundleFor(ctx context.Context, machine string, ip net.IP) (*joinBundle, error) {
	a.cluster.mu.Lock()
	st, cli := a.cluster.st, a.cluster.cli
	a.cluster.mu.Unlock()
	if st == nil {
		return nil, etcdstore.ErrNotClustered
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	members, err := cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cluster members: %w", err)
	}
	b := &joinBundle{Name: st.Name(), Groups: st.Groups(), Files: map[string][]byte{}}
	if _, serr := os.Stat(filepath.Join(a.clusterTLS(), etcdstore.CAKey)); errors.Is(serr, os.ErrNotExist) {
		// An external etcd's CA is the site's: hand over the client
		// certificate this machine uses.
		err = a.externalBundle(b)
	} else {
		err = a.memberBundle(b, members.Members, machine, ip)
	}
	if err != nil {
		return nil, err
	}
	if b.DataKey, err = etcdstore.ReadDataKey(a.clusterDir()); err != nil {
		return nil, err
	}
	return b, nil
}

// memberBundle fills b for a joiner that runs its own member: the voters'
// client URLs, the CA and a member certificate for ip.
func (a *appliance) memberBundle(b *joinBundle, members []*etcdserverpb.Member, machine string, ip net.IP) error {
	self := a.clusterMachine()
	for _, m := range members {
		if m.IsLearner || len(m.PeerURLs) == 0 || len(m.ClientURLs) == 0 {
			continue
		}
		b.Endpoints = append(b.Endpoints, m.ClientURLs...)
		if b.PeerPort == 0 || m.Name == self {
			p := portsOf(m.PeerURLs[0], m.ClientURLs[0])
			b.PeerPort, b.ClientPort = p.peer, p.client
		}
	}
	tmp, err := os.MkdirTemp("", "esash-join")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := etcdstore.IssueMember(a.clusterTLS(), tmp, machine, ip); err != nil {
		return err
	}
	for _, f := range []struct{ dir, name string }{{a.clusterTLS(), etcdstore.CAKey}, {tmp, etcdstore.CAFile}, {tmp, etcdstore.CertFile}, {tmp, etcdstore.KeyFile}} {
		if b.Files[f.name], err = os.ReadFile(filepath.Join(f.dir, f.name)); err != nil {
			return err
		}
	}
	return nil
}

// externalBundle fills b for a cluster on an external etcd.
func (a *appliance) externalBundle(b *joinBundle) error {
	ci, err := readClusterInfo(a.clusterDir())
	if err != nil || ci == nil {
		return errors.Join(err, etcdstore.ErrNotClustered)
	}
	b.External, b.Endpoints = true, ci.Endpoints
	for _, name := range []string{etcdstore.CAFile, etcdstore.CertFile, etcdstore.KeyFile} {
		if b.Files[name], err = os.ReadFile(filepath.Join(a.clusterTLS(), name)); err != nil {
			return err
		}
	}
	return nil
}

// invitation is a bundle received, not yet accepted.
type invitation struct {
	f       clusterFormer
	machine string
	ip      net.IP
	b       *joinBundle
	// memberID is the etcd member this machine added, removed again if
	// the join fails after it.
	memberID uint64
}

func (i *invitation) Name() string     { return i.b.Name }
func (i *invitation) Groups() []string { return i.b.Groups }
func (i *invitation) Close()           {}

// Contact logs in to host:port over SSH from this machine's address and
// fetches the join bundle.
func (f clusterFormer) Contact(ctx context.Context, host string, port int, user, password string, hostKey func(string) (bool, error)) (clusterconfig.Invitation, error) {
	if err := f.clustered(); err != nil {
		return nil, err
	}
	ip := net.ParseIP(f.Address())
	if ip == nil {
		return nil, fmt.Errorf("this machine's Management interface has no IPv4 address to join from")
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	cfg := &gossh.ClientConfig{User: user, Timeout: 15 * time.Second,
		Auth: []gossh.AuthMethod{gossh.Password(password), gossh.KeyboardInteractive(
			func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range ans {
					ans[i] = password
				}
				return ans, nil
			})},
		HostKeyCallback: knownHosts{filepath.Join(f.a.clusterDir(), knownHostsFile)}.callback(addr, hostKey)}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", host, err)
	}
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("log in to %s as %s: %w", host, user, err)
	}
	client := gossh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	machine := newMachineID(f.a.db.Head().Config.Hostname)
	var stderr strings.Builder
	sess.Stderr = &stderr
	out, err := sess.Output(joinBundleCommand + " " + machine + " " + ip.String())
	if err != nil {
		return nil, fmt.Errorf("%s refused to admit this machine: %s", host, firstLine(stderr.String(), err))
	}
	var b joinBundle
	if err := json.NewDecoder(bufio.NewReader(strings.NewReader(string(out)))).Decode(&b); err != nil {
		return nil, fmt.Errorf("join bundle from %s: %w", host, err)
	}
	return &invitation{f: f, machine: machine, ip: ip, b: &b}, nil
}

func firstLine(s string, err error) string {
	if s = strings.TrimSpace(s); s == "" {
		return err.Error()
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Accept writes the bundle, starts this machine's member (a learner, then
// a voter) and joins group.
func (i *invitation) Accept(ctx context.Context, group string, meta store.Meta) (err error) {
	a := i.f.a
	if err := i.f.clustered(); err != nil {
		return err
	}
	if !contains(i.b.Groups, group) {
		return fmt.Errorf("group %q: %w (the groups are %s)", group, etcdstore.ErrNoGroup, strings.Join(i.b.Groups, ", "))
	}
	var cli *clientv3.Client
	defer func() {
		if err != nil {
			i.undo(cli)
		}
	}()
	if err := os.MkdirAll(a.clusterTLS(), 0o700); err != nil {
		return err
	}
	for name, raw := range i.b.Files {
		if err := os.WriteFile(filepath.Join(a.clusterTLS(), filepath.Base(name)), raw, 0o600); err != nil {
			return err
		}
	}
	if err := etcdstore.WriteDataKey(a.clusterDir(), i.b.DataKey); err != nil {
		return err
	}
	ci := clusterInfo{Name: i.b.Name, Machine: i.machine, Endpoints: i.b.Endpoints}
	if cli, err = etcdstore.Dial(i.b.Endpoints, a.clusterTLS(), 5*time.Second); err != nil {
		return err
	}
	voters, err := etcdstore.Voters(ctx, cli)
	if err != nil {
		return err
	}
	most, err := maxVoters()
	if err != nil {
		return err
	}
	if !i.b.External && voters < most {
		if err := i.startMember(ctx, cli, &ci); err != nil {
			return err
		}
	}
	return a.attachNew(ctx, ci, cli, func(st *etcdstore.Store) (uint64, error) {
		return st.Join(ctx, group, a.db.Head().Config, meta)
	})
}

// startMember adds this machine's member as a learner, starts it and
// promotes it; the client then knows every voter.
func (i *invitation) startMember(ctx context.Context, cli *clientv3.Client, ci *clusterInfo) error {
	a := i.f.a
	ci.PeerURL, ci.ClientURL = memberURLs(i.ip.String(), a.ports.or(etcdPorts{peer: i.b.PeerPort, client: i.b.ClientPort}).or(defaultPorts))
	mc, err := a.memberConfig(*ci)
	if err != nil {
		return err
	}
	e, id, err := etcdstore.StartLearner(ctx, cli, mc, 60*time.Second)
	if err != nil {
		return err
	}
	i.memberID = id
	a.cluster.mu.Lock()
	a.cluster.etcd = e
	a.cluster.mu.Unlock()
	if err := etcdstore.Promote(ctx, cli, id); err != nil {
		return err
	}
	ci.Endpoints = append(ci.Endpoints, ci.ClientURL)
	cli.SetEndpoints(ci.Endpoints...)
	return nil
}

// undo leaves no trace of a join that failed: the member it added, its
// etcd, the shell's cluster, the cluster directory.
func (i *invitation) undo(cli *clientv3.Client) {
	a := i.f.a
	if cli != nil && i.memberID != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := cli.MemberRemove(ctx, i.memberID); err != nil {
			a.cliLog.Warningf("cluster join failed; etcd member %x could not be removed: %v", i.memberID, err)
		}
		cancel()
	}
	if cli != nil {
		a.closeUnowned(cli)
	}
	a.closeCluster(context.Background())
	a.forgetCluster()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
