package ldapconfig

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// fakeLDAP answers one simple bind per connection: success for the
// expected DN and password (or an anonymous bind), invalidCredentials
// otherwise, with the four-byte lengths OpenLDAP and Active Directory use.
func fakeLDAP(t *testing.T, ln net.Listener, dn, pass string) {
	t.Helper()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				tag, msg, err := readTLV(bufio.NewReader(c))
				if err != nil || tag != 0x30 {
					return
				}
				_, idb, rest, _ := parseTLV(msg)
				_, op, _, _ := parseTLV(rest)
				_, _, r, _ := parseTLV(op) // version
				_, gotDN, r, _ := parseTLV(r)
				_, gotPass, _, _ := parseTLV(r)
				code, diag := byte(0), ""
				if len(gotDN) > 0 && (string(gotDN) != dn || string(gotPass) != pass) {
					code, diag = 49, "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error"
				}
				long := func(tag byte, b []byte) []byte {
					n := len(b)
					return append([]byte{tag, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, b...)
				}
				res := append(append([]byte{0x0a, 0x01, code}, long(0x04, nil)...), long(0x04, []byte(diag))...)
				body := append(append([]byte{0x02, byte(len(idb))}, idb...), long(0x61, res)...)
				c.Write(long(0x30, body))
			}(c)
		}
	}()
}

// loopbackIface is the interface LDAP connections leave from in the tests.
var loopbackIface = []config.Interface{{Name: "Management", IPv4: "127.0.0.1", PrefixLen: 8}}

func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func TestProbe(t *testing.T) {
	ln, port := listen(t)
	fakeLDAP(t, ln, "cn=esa,dc=example,dc=com", "right")
	cfg := &config.Config{Interfaces: loopbackIface}
	srv := config.LDAPServer{Host: "127.0.0.1", Port: port, AuthMethod: config.LDAPAuthPassword, BindDN: "cn=esa,dc=example,dc=com", BindPassword: "right"}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for _, tc := range []struct {
		name string
		edit func(*config.LDAPServer)
		want string
	}{
		{"bind accepted", func(*config.LDAPServer) {}, `The LDAP server ` + addr + ` accepted the bind as "cn=esa,dc=example,dc=com".`},
		{"wrong passphrase", func(s *config.LDAPServer) { s.BindPassword = "wrong" },
			`The LDAP server ` + addr + ` refused the bind: result code 49 (invalidCredentials): 80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error.`},
		{"anonymous", func(s *config.LDAPServer) { s.AuthMethod = config.LDAPAuthAnonymous }, `The LDAP server ` + addr + ` accepted an anonymous bind.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := srv
			tc.edit(&s)
			if got := probe(context.Background(), cfg, s); got != tc.want {
				t.Errorf("probe = %q\nwant    %q", got, tc.want)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		ln, port := listen(t)
		ln.Close()
		s := srv
		s.Port = port
		got := probe(context.Background(), cfg, s)
		if !strings.HasPrefix(got, "Could not connect to the LDAP server 127.0.0.1:") || !strings.Contains(got, "connection refused") {
			t.Errorf("probe = %q", got)
		}
	})
	t.Run("not LDAP", func(t *testing.T) {
		ln, port := listen(t)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte("220 smtp.example.com ESMTP\r\n"))
				c.Close()
			}
		}()
		s := srv
		s.Port = port
		if got := probe(context.Background(), cfg, s); !strings.Contains(got, "did not answer the bind: the reply is not LDAP") {
			t.Errorf("probe = %q", got)
		}
	})
}

// TestProbeTLS is LDAPS: the client certificate of SETUP is presented and,
// when validation is on, the server's certificate must chain to a trusted
// CA of the configuration.
func TestProbeTLS(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(cn string, ips []net.IP, usage x509.ExtKeyUsage) (tls.Certificate, config.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: ips,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		kd, _ := x509.MarshalPKCS8PrivateKey(key)
		c := config.Certificate{Name: cn,
			CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
		pair, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
		if err != nil {
			t.Fatal(err)
		}
		return pair, c
	}
	serverPair, _ := leaf("ldap", []net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	_, client := leaf("esa", nil, x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	ln, port := listen(t)
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{serverPair},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	fakeLDAP(t, tln, "", "")
	srv := config.LDAPServer{Host: "127.0.0.1", Port: port, SSL: true, AuthMethod: config.LDAPAuthAnonymous}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	cfg := &config.Config{
		Interfaces:   loopbackIface,
		Certificates: []config.Certificate{client},
		CAs:          config.TrustedCAs{CustomEnabled: true, Custom: []config.CA{{Name: "Test CA", PEM: caPEM}}},
		LDAP:         config.LDAP{ValidateCert: true, Certificate: "esa"},
	}
	if got := probe(context.Background(), cfg, srv); !strings.HasSuffix(got, "accepted an anonymous bind.") {
		t.Errorf("LDAPS with client certificate and validation: %q", got)
	}
	noCA := *cfg
	noCA.CAs = config.TrustedCAs{}
	if got := probe(context.Background(), &noCA, srv); !strings.Contains(got, "TLS handshake failed") {
		t.Errorf("validation without the CA: %q", got)
	}
	noClient := *cfg
	noClient.LDAP.Certificate = ""
	if got := probe(context.Background(), &noClient, srv); strings.HasSuffix(got, "accepted an anonymous bind.") {
		t.Errorf("no client certificate, yet accepted: %q", got)
	}
}

func TestBindRequest(t *testing.T) {
	// RFC 4511 simple bind, as ldapsearch -x -D cn=a -w b sends it.
	got := bindRequest(1, "cn=a", "b")
	want := []byte{0x30, 0x11, 0x02, 0x01, 0x01, 0x60, 0x0c, 0x02, 0x01, 0x03, 0x04, 0x04, 'c', 'n', '=', 'a', 0x80, 0x01, 'b'}
	if string(got) != string(want) {
		t.Errorf("bindRequest = % x\nwant          % x", got, want)
	}
	long := bindRequest(300, strings.Repeat("x", 200), "")
	tag, msg, rest, err := parseTLV(long)
	if err != nil || tag != 0x30 || len(rest) != 0 {
		t.Fatalf("long request: tag %x, err %v, rest %d", tag, err, len(rest))
	}
	_, idb, _, _ := parseTLV(msg)
	if id, _ := berValue(idb); id != 300 {
		t.Errorf("message ID = %d, want 300", id)
	}
}

// FuzzParseBindResponse feeds arbitrary server replies to the parser: it
// must never panic nor read past its input.
func FuzzParseBindResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
	f.Add([]byte{0x30, 0x84, 0x00, 0x00, 0x00, 0x10, 0x02, 0x01, 0x01, 0x61, 0x84, 0x00, 0x00, 0x00, 0x07, 0x0a, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, diag, id, err := func() (int, string, int, error) {
			tag, msg, err := readTLV(bufio.NewReader(strings.NewReader(string(b))))
			if err != nil {
				return 0, "", 0, err
			}
			return parseBindResponse(tag, msg)
		}()
		if err == nil && len(diag) > len(b) {
			t.Fatalf("diagnostic longer than the input: code %d id %d", code, id)
		}
	})
}
