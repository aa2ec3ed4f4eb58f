package etcdstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"esash/config"
	"esash/store"
)

// wait bounds every wait of the tests: generous, for a loaded machine.
const wait = 30 * time.Second

// testCert makes a self-signed certificate; keys are made at test time.
func testCert(t testing.TB, name string) config.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name + ".example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return config.Certificate{Name: name,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
}

// machine is one appliance of a test cluster: its etcd member, its local
// store, its cluster store, and what its services run (active, set by
// the prepare step's activate).
type machine struct {
	id     string
	ip     string
	etcd   *embed.Etcd
	cli    *clientv3.Client
	local  *store.DB
	st     *Store
	mu     sync.Mutex
	active *config.Config
	once   sync.Once
	// learner is the member id of a joiner not yet promoted.
	learner uint64
	// key is the cluster data key (a test reopens the machine's store).
	key []byte
	// refuse, when set, makes the services refuse a configuration;
	// applyErrs collects what the store reported (the alert).
	refuse    func(*config.Config) error
	applyErrs []error
}

// stop stops the machine's etcd member (once).
func (m *machine) stop() { m.once.Do(func() { m.etcd.Close() }) }

func (m *machine) running() *config.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active
}

// prepare stands for the services: it records what they would run.
func (m *machine) prepare(_ context.Context, c *config.Config) (func(), func(), error) {
	m.mu.Lock()
	refuse := m.refuse
	m.mu.Unlock()
	if refuse != nil {
		if err := refuse(c); err != nil {
			return nil, nil, err
		}
	}
	return func() { m.mu.Lock(); m.active = c; m.mu.Unlock() }, func() {}, nil
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newCluster builds a cluster of n machines as administrators do: the
// first creates it (its own single etcd member, mutual TLS with a new
// cluster CA), every other joins (its member added as a learner, then
// promoted; beyond MaxVoters a client only) and joins Main_Group.
func newCluster(t *testing.T, n int, timeout time.Duration) []*machine {
	t.Helper()
	begin := time.Now()
	caDir := t.TempDir()
	if err := NewCA(caDir); err != nil {
		t.Fatal(err)
	}
	key := NewDataKey()
	ms := make([]*machine, n)
	var endpoints, members []string // the voters', every member's client URLs
	for i := range ms {
		m := &machine{id: fmt.Sprintf("m%d", i+1), ip: fmt.Sprintf("127.0.13.%d", i+1)}
		ms[i] = m
		mc := memberConfig(t, caDir, m)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		var err error
		switch {
		case i == 0:
			mc.InitialCluster = m.id + "=" + mc.PeerURL.String()
			m.etcd, err = StartMember(mc, wait)
		case i < MaxVoters:
			// Learners first, all promoted at the end: etcd refuses a
			// member add for 5 s after a promotion (its health interval).
			m.etcd, m.learner, err = StartLearner(ctx, ms[0].cli, mc, wait)
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.etcd != nil {
			t.Cleanup(m.stop)
		}
		// A machine's client knows the voters: a learner serves no
		// reads. Once all are promoted, every client knows every member.
		if i == 0 {
			endpoints = append(endpoints, mc.ClientURL.String())
		}
		if m.cli, err = Dial(endpoints, mc.TLSDir, wait); err != nil {
			t.Fatal(err)
		}
		if m.etcd != nil {
			members = append(members, mc.ClientURL.String())
		}
		t.Cleanup(func() { m.cli.Close() })
		openMachine(t, m, i == 0, key, timeout)
		if i > 0 {
			if err := m.st.WaitApplied(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := m.st.Join(ctx, DefaultGroup, m.local.Head().Config, store.Meta{User: "admin", Source: "test"}); err != nil {
				t.Fatalf("join %s: %v", m.id, err)
			}
		}
		cancel()
	}
	waitAll(t, ms, uint64(n))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, m := range ms {
		if m.learner != 0 {
			if err := Promote(ctx, ms[0].cli, m.learner); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range ms {
		m.cli.SetEndpoints(members...)
	}
	if v, err := Voters(ctx, ms[0].cli); err != nil || v != min(n, MaxVoters) {
		t.Fatalf("voters = %d, %v; want %d", v, err, min(n, MaxVoters))
	}
	t.Logf("cluster of %d ready after %s", n, time.Since(begin))
	return ms
}

// memberConfig is the etcd member of m: free ports on its own address, a
// certificate from the cluster CA, short timeouts.
func memberConfig(t *testing.T, caDir string, m *machine) MemberConfig {
	t.Helper()
	tlsDir := t.TempDir()
	if err := IssueMember(caDir, tlsDir, m.id, net.ParseIP(m.ip)); err != nil {
		t.Fatal(err)
	}
	return MemberConfig{Name: m.id, Dir: t.TempDir(), TLSDir: tlsDir,
		PeerURL:   url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", m.ip, freePort(t, m.ip))},
		ClientURL: url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", m.ip, freePort(t, m.ip))},
		TickMs:    50, ElectionMs: 500, Logger: zap.NewNop()}
}

// openMachine opens m's local store (its factory configuration with its
// own hostname) and its cluster store; the first machine creates the
// cluster from its configuration.
func openMachine(t *testing.T, m *machine, create bool, key []byte, timeout time.Duration) {
	t.Helper()
	demo := testCert(t, "Demo")
	var err error
	m.local, err = store.Open(filepath.Join(t.TempDir(), "config.db"), store.Options{Factory: func() (*config.Config, error) {
		c := config.Factory(demo)
		c.Hostname = m.id + ".example.com"
		c.Interfaces[0].Hostname = c.Hostname
		return c, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.local.Close() })
	m.active = m.local.Head().Config // what the services start with
	m.key = key
	if create {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := Create(ctx, m.cli, key, "Test-Cluster", m.id, m.local.Head().Config, store.Meta{User: "admin", Source: "test", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	m.st, err = Open(context.Background(), Options{Client: m.cli, Machine: m.id, Mirror: m.local, DataKey: key, Prepare: m.prepare, Timeout: timeout,
		OnApplyError: func(_ uint64, err error) { m.mu.Lock(); m.applyErrs = append(m.applyErrs, err); m.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.st.Close() })
}

// waitAll waits until every machine has processed revision rev.
func waitAll(t *testing.T, ms []*machine, rev uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, m := range ms {
		if err := m.st.WaitApplied(ctx, rev); err != nil {
			t.Fatalf("%s: %v", m.id, err)
		}
	}
}

// edit commits fn's change at level on machine m.
func edit(t *testing.T, m *machine, level config.Level, fn func(c *config.Config)) (store.Result, error) {
	t.Helper()
	d := store.NewDraft(m.st.At(level), "admin", "test")
	if err := d.Update(func(c *config.Config) error { fn(c); return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return d.Commit(ctx, "test change", false, nil)
}
