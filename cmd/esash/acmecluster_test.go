package main

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"esash/acme"
	"esash/acme/pebbletest"
	"esash/config"
	"esash/pki"
	"esash/shell/shelltest"
	"esash/store/etcdstore/etcdtest"
)

// TestACMEClusterCommit: on a clustered machine the manager orders under
// the lease and commits the certificate through the cluster store at the
// cluster level (the revision is the cluster's, by the acme user), and
// the machine applies it through the watch.
func TestACMEClusterCommit(t *testing.T) {
	ip := "127.0.15.43"
	httpPort := pebbletest.FreePort(t, ip)
	p := pebbletest.Start(t, pebbletest.Options{IP: ip, HTTPPort: httpPort, TLSPort: pebbletest.FreePort(t, ip), Validity: 90 * 24 * time.Hour})
	certPEM, keyPEM, err := pki.ACMEPlaceholder([]string{mxHost}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acct, err := pki.NewACMEAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now, Factory: func(c *config.Config) {
		c.Interfaces[0].IPv4 = ip
		c.CAs.Custom = append(c.CAs.Custom, config.CA{Name: "Pebble", PEM: p.ServerCAPEM})
		c.Certificates = append(c.Certificates, config.Certificate{Name: "Mail", CertPEM: string(certPEM), KeyPEM: string(keyPEM),
			ACME: config.ACMEProfile{DirectoryURL: p.DirectoryURL, Names: []string{mxHost}, KeyType: config.ACMEKeyECDSAP256,
				Challenge: config.ACMEHTTP01, Trust: config.ACMETrustCustom, AccountKeyPEM: string(acct)}})
	}})
	st := etcdtest.Solo(t, ip, "Test-Cluster", "m1", local)
	a := &appliance{}
	a.cluster.st, a.cluster.cli = st, st.Client()
	var leases atomic.Int32
	m := acme.New(acme.Options{Store: local, HTTPPort: httpPort, Timeout: 90 * time.Second, Log: t.Logf,
		CommitTo: a.acmeCommitTo,
		Lease: func(ctx context.Context, profile string) (func(), bool, error) {
			leases.Add(1)
			return a.acmeLease(ctx, profile)
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(3 * time.Minute)
	for {
		ch := m.Changed()
		if s := m.Status(); len(s) == 1 && s[0].State != "pending" {
			if s[0].State != "valid" {
				t.Fatalf("status %+v", s[0])
			}
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no certificate: %+v", m.Status())
		}
	}
	cfg, origins, err := st.Effective()
	if err != nil || origins["certificates"] != config.ClusterLevel {
		t.Fatalf("effective %v, certificates from %v", err, origins["certificates"])
	}
	var inCluster string
	for _, ct := range cfg.Certificates {
		if ct.Name == "Mail" {
			inCluster = ct.ACME.CertURL
		}
	}
	if inCluster == "" {
		t.Fatal("the cluster's configuration does not hold the issued certificate")
	}
	revs, err := st.At(config.ClusterLevel).Revisions(1)
	if err != nil || len(revs) != 1 || revs[0].Meta.User != acme.SystemUser {
		t.Fatalf("cluster revisions %+v %v", revs, err)
	}
	if leases.Load() == 0 {
		t.Error("ordered without asking for the lease")
	}
}
