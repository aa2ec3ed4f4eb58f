package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// testCertificate is a throwaway self-signed certificate.
func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"esa.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// countingCache records the session tickets a client is given.
type countingCache struct {
	tls.ClientSessionCache
	puts atomic.Int32
}

func (c *countingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.puts.Add(1)
	}
	c.ClientSessionCache.Put(key, cs)
}

// TestListenerTLSConfig: each handshake runs under the policy that
// perHandshake returns (its versions), and no version issues a session
// ticket, so that no client resumes past a commit.
func TestListenerTLSConfig(t *testing.T) {
	cert := testCertificate(t)
	for _, tc := range []struct {
		name   string
		method string
		want   uint16
	}{
		{"TLS 1.2", "tlsv1_2", tls.VersionTLS12},
		{"TLS 1.3", "tlsv1_3", tls.VersionTLS13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := SSLService{Method: tc.method}.Policy(DefaultSSL().GUI)
			if err != nil {
				t.Fatal(err)
			}
			srvCfg := ListenerTLSConfig(func(*tls.ClientHelloInfo) (*tls.Config, error) {
				c := pol.ServerConfig()
				c.Certificates = []tls.Certificate{cert}
				return c, nil
			})
			cache := &countingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			for i := range 2 {
				st := handshake(t, srvCfg, &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache})
				if st.Version != tc.want || st.DidResume {
					t.Errorf("handshake %d: version %x, resumed %v; want %x, not resumed", i, st.Version, st.DidResume, tc.want)
				}
			}
			if n := cache.puts.Load(); n != 0 {
				t.Errorf("the client was given %d session tickets", n)
			}
		})
	}
}

// handshake runs one handshake on loopback and reads until the server
// closes, so that a TLS 1.3 ticket sent after the handshake is seen.
func handshake(t *testing.T, srvCfg, cliCfg *tls.Config) tls.ConnectionState {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		s := tls.Server(conn, srvCfg)
		if s.Handshake() == nil {
			s.Write([]byte("x"))
		}
		s.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(conn, cliCfg)
	defer c.Close()
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	buf := make([]byte, 16)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	return c.ConnectionState()
}
