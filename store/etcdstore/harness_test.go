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
	"strings"
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

// newCluster starts n embedded etcd members with mutual TLS on distinct
// loopback addresses, creates the cluster from the first machine's
// configuration and joins the others to Main_Group.
func newCluster(t *testing.T, n int, timeout time.Duration) []*machine {
	t.Helper()
	caDir := t.TempDir()
	if err := NewCA(caDir); err != nil {
		t.Fatal(err)
	}
	ms := make([]*machine, n)
	cfgs := make([]MemberConfig, n)
	var initial []string
	for i := range ms {
		ip := fmt.Sprintf("127.0.13.%d", i+1)
		ms[i] = &machine{id: fmt.Sprintf("m%d", i+1), ip: ip}
		peer := url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", ip, freePort(t, ip))}
		client := url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", ip, freePort(t, ip))}
		tlsDir := t.TempDir()
		if err := IssueMember(caDir, tlsDir, ms[i].id, net.ParseIP(ip)); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = MemberConfig{Name: ms[i].id, Dir: t.TempDir(), TLSDir: tlsDir, PeerURL: peer, ClientURL: client, TickMs: 50, ElectionMs: 500, Logger: zap.NewNop()}
		initial = append(initial, ms[i].id+"="+peer.String())
	}
	var wg sync.WaitGroup
	begin := time.Now()
	errs := make([]error, n)
	for i := range ms {
		cfgs[i].InitialCluster = strings.Join(initial, ",")
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms[i].etcd, errs[i] = StartMember(cfgs[i], wait)
		}()
	}
	wg.Wait()
	t.Logf("members ready after %s", time.Since(begin))
	for i, m := range ms {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(m.stop)
	}
	key := NewDataKey()
	for i, m := range ms {
		cli, err := Dial([]string{cfgs[i].ClientURL.String()}, cfgs[i].TLSDir, wait)
		if err != nil {
			t.Fatal(err)
		}
		m.cli = cli
		t.Cleanup(func() { cli.Close() })
		demo := testCert(t, "Demo")
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
		if i == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			if err := Create(ctx, cli, key, "Test-Cluster", m.id, m.local.Head().Config, store.Meta{User: "admin", Source: "test", Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		m.st, err = Open(context.Background(), Options{Client: cli, Machine: m.id, Mirror: m.local, DataKey: key, Prepare: m.prepare, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.st.Close() })
		if i > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			if err := m.st.WaitApplied(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := m.st.Join(ctx, DefaultGroup, m.local.Head().Config, store.Meta{User: "admin", Source: "test"}); err != nil {
				t.Fatalf("join %s: %v", m.id, err)
			}
			cancel()
		}
	}
	waitAll(t, ms, uint64(n))
	t.Logf("cluster of %d ready after %s", n, time.Since(begin))
	return ms
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
