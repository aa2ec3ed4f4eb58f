package etcdstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// TLS files of a member, in its etcd directory: the cluster CA (made at
// create, copied to every joiner) and the member's own certificate, used
// both as server and as client (peer and client traffic are mutual TLS).
const (
	CAFile   = "ca.crt"
	CAKey    = "ca.key"
	CertFile = "member.crt"
	KeyFile  = "member.key"
)

// NewCA writes a new cluster CA into dir (the key 0600).
func NewCA(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "esash cluster CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	return writePair(dir, CAFile, CAKey, der, key)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func writePair(dir, certName, keyName string, der []byte, key *ecdsa.PrivateKey) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}

// IssueMember writes a member certificate for the addresses ips into
// dir, signed by the CA in caDir.
func IssueMember(caDir, dir, name string, ips ...net.IP) error {
	ca, err := tls.LoadX509KeyPair(filepath.Join(caDir, CAFile), filepath.Join(caDir, CAKey))
	if err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: ips, DNSNames: []string{name}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		return fmt.Errorf("member certificate: %w", err)
	}
	if err := writePair(dir, CertFile, KeyFile, der, key); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(caDir, CAFile))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CAFile), raw, 0o644)
}

// tlsInfo is the mutual TLS of a member whose files are in dir. A peer
// is who the cluster CA says it is: its source address is not checked
// against its certificate (connections leave from the host's primary
// address, not the member's advertised one).
func tlsInfo(dir string) transport.TLSInfo {
	return transport.TLSInfo{CertFile: filepath.Join(dir, CertFile), KeyFile: filepath.Join(dir, KeyFile),
		TrustedCAFile: filepath.Join(dir, CAFile), ClientCertAuth: true, SkipClientSANVerify: true}
}

// MemberConfig is an embedded etcd member.
type MemberConfig struct {
	Name      string
	Dir       string // etcd's data directory; the TLS files are in TLSDir
	TLSDir    string
	PeerURL   url.URL // https://ip:port
	ClientURL url.URL
	// InitialCluster is name=peerURL,... of the members at start;
	// Existing says the cluster runs already (a joiner).
	InitialCluster string
	Existing       bool
	// Logger receives etcd's log (nil: errors on stderr).
	Logger *zap.Logger
	// TickMs and ElectionMs are etcd's heartbeat and election timeout
	// (0: 100 and 1000); tests shorten them.
	TickMs, ElectionMs uint
}

// StartMember starts an embedded etcd member and waits until it serves
// or timeout passes.
func StartMember(mc MemberConfig, timeout time.Duration) (*embed.Etcd, error) {
	return StartMemberContext(context.Background(), mc, timeout)
}

// StartMemberContext is StartMember that also stops waiting when ctx is
// done: the member is then closed, its ports released, and ctx's error
// returned. A machine booting into a cluster without quorum waits for it
// (hours if need be) in a goroutine its appliance cancels at close.
func StartMemberContext(ctx context.Context, mc MemberConfig, timeout time.Duration) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir, cfg.LogLevel = mc.Name, mc.Dir, "error"
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{mc.PeerURL}, []url.URL{mc.PeerURL}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{mc.ClientURL}, []url.URL{mc.ClientURL}
	cfg.InitialCluster, cfg.InitialClusterToken = mc.InitialCluster, "esash"
	cfg.ClusterState = embed.ClusterStateFlagNew
	if mc.Existing {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	if mc.TickMs != 0 {
		cfg.TickMs, cfg.ElectionMs = mc.TickMs, mc.ElectionMs
	}
	cfg.PeerTLSInfo, cfg.ClientTLSInfo = tlsInfo(mc.TLSDir), tlsInfo(mc.TLSDir)
	cfg.ListenMetricsUrls = nil
	// Several machines may join at once, each a learner until promoted.
	cfg.MaxLearners = MaxVoters - 1
	// etcd holds its raft log in memory up to a snapshot every
	// SnapshotCount entries (default 10000, keeping 5000 more for slow
	// followers): some 5 entries per commit, each with sealed sections.
	// No auto-compaction either: compact.go compacts (doc.go, History).
	cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = snapshotEvery, snapshotEvery/2
	if mc.Logger != nil {
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(mc.Logger)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd member %s: %w", mc.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd member %s: %w", mc.Name, err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd member %s not ready after %s", mc.Name, timeout)
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd member %s: %w", mc.Name, ctx.Err())
	}
}

// Dial is a client of the cluster at endpoints, authenticated with the
// member (or client) certificate in tlsDir.
func Dial(endpoints []string, tlsDir string, timeout time.Duration) (*clientv3.Client, error) {
	tc, err := tlsInfo(tlsDir).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster client TLS: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tc, DialTimeout: timeout, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	return cli, nil
}

// RemoveMember removes the etcd member named name (a voter or a learner)
// from the cluster cli reaches, so that quorum is counted over the
// members that remain; removed is false when there was none, or when it
// is the cluster's last member (etcd keeps at least one: no quorum is
// left to count, the cluster ends with it). A member learns of its
// removal from its peers and stops itself. remaining are the client URLs
// of the other voters, sorted, read before the removal: a list read just
// after it may come from the member removed, stopped by then.
//
// The removal is asked of the remaining voters, and cli keeps only them
// as its endpoints once it succeeded: the member removed stops as it
// applies its own removal and answers "server stopped" to everything,
// the request that removed it included, which the client does not retry
// elsewhere.
func RemoveMember(ctx context.Context, cli *clientv3.Client, name string) (remaining []string, removed bool, err error) {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list cluster members: %w", err)
	}
	var target *etcdserverpb.Member
	for _, m := range resp.Members {
		switch {
		case m.Name == name:
			target = m
		case !m.IsLearner:
			remaining = append(remaining, m.ClientURLs...)
		}
	}
	sort.Strings(remaining)
	if target == nil || len(resp.Members) == 1 {
		return remaining, false, nil
	}
	if len(remaining) == 0 {
		// Only learners would remain: etcd refuses that removal itself.
		return remaining, true, removeID(ctx, cli, name, target.ID)
	}
	before := cli.Endpoints()
	cli.SetEndpoints(remaining...)
	if err := removeID(ctx, cli, name, target.ID); err != nil {
		cli.SetEndpoints(before...)
		return remaining, true, err
	}
	return remaining, true, nil
}

// removeID removes member id, waiting while etcd calls the cluster
// unhealthy: for a while after a member was added or promoted the leader
// refuses to change the voters (strict reconfiguration check).
func removeID(ctx context.Context, cli *clientv3.Client, name string, id uint64) error {
	for {
		_, err := cli.MemberRemove(ctx, id)
		if err == nil || isRPCErr(err, rpctypes.ErrMemberNotFound) {
			return nil
		}
		if !isRPCErr(err, rpctypes.ErrUnhealthy) {
			return fmt.Errorf("remove etcd member %s (%x): %w", name, id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove etcd member %s (%x): %w (%w)", name, id, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isRPCErr matches an etcd server error, typed or as its message.
func isRPCErr(err, want error) bool {
	return errors.Is(err, want) || strings.Contains(err.Error(), want.Error())
}

// ClientEndpoints are the client URLs of the cluster's voters now, sorted:
// what a machine's client and its cluster state follow (learners serve no
// client requests). Empty when the list has none.
func ClientEndpoints(ctx context.Context, cli *clientv3.Client) ([]string, error) {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cluster members: %w", err)
	}
	var out []string
	for _, m := range resp.Members {
		if !m.IsLearner {
			out = append(out, m.ClientURLs...)
		}
	}
	sort.Strings(out)
	return out, nil
}
