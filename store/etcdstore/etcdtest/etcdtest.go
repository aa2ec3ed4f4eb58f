// Package etcdtest starts real embedded etcd clusters for tests of the
// packages above the cluster store (commands, shell): one member with
// mutual TLS on a loopback address, short timeouts, and a cluster created
// from a local store's configuration.
package etcdtest

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"esash/store"
	"esash/store/etcdstore"
)

// Wait bounds the waits of these helpers.
const Wait = 30 * time.Second

// Solo creates a cluster named name on one embedded etcd member listening
// on ip, from local's configuration, with local's machine as its only
// member (id machine), and returns that machine's cluster store. All of it
// stops when the test ends.
func Solo(t testing.TB, ip, name, machine string, local *store.DB) *etcdstore.Store {
	t.Helper()
	dir, ca := t.TempDir(), t.TempDir()
	if err := etcdstore.NewCA(ca); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")
	if err := etcdstore.IssueMember(ca, tlsDir, machine, net.ParseIP(ip)); err != nil {
		t.Fatal(err)
	}
	peer := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, freePort(t, ip))}
	client := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, freePort(t, ip))}
	e, err := etcdstore.StartMember(etcdstore.MemberConfig{Name: machine, Dir: filepath.Join(dir, "etcd"), TLSDir: tlsDir,
		PeerURL: peer, ClientURL: client, InitialCluster: machine + "=" + peer.String(),
		TickMs: 50, ElectionMs: 500, Logger: zap.NewNop()}, Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cli, err := etcdstore.Dial([]string{client.String()}, tlsDir, Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	key := etcdstore.NewDataKey()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := etcdstore.Create(ctx, cli, key, name, machine, local.Head().Config, store.Meta{User: "admin", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st, err := etcdstore.Open(ctx, etcdstore.Options{Client: cli, Machine: machine, Mirror: local, DataKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.WaitApplied(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return st
}

func freePort(t testing.TB, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
