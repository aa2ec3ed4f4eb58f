package ldapconfig

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
)

// slapd is a real OpenLDAP server started by the test, logging at
// loglevel stats to stderr: every connection's source address appears in
// its "conn=N fd=N ACCEPT from IP=a.b.c.d:port" line.
type slapd struct {
	mu  sync.Mutex
	log strings.Builder
}

func (s *slapd) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(b)
}

func (s *slapd) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startSlapd serves dc=example,dc=com (bind as cn=admin,dc=example,dc=com
// with "secret") on each of addrs (ip:port).
func startSlapd(t *testing.T, addrs ...string) *slapd {
	t.Helper()
	bin := "/usr/sbin/slapd"
	if p, err := exec.LookPath("slapd"); err == nil {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("slapd is not installed: make test installs it (scripts/testdeps.sh)")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory %[1]s/db
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, a := range addrs {
		urls = append(urls, "ldap://"+a+"/")
	}
	s := &slapd{}
	cmd := exec.Command(bin, "-d", "stats", "-f", filepath.Join(dir, "slapd.conf"), "-h", strings.Join(urls, " "))
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for _, a := range addrs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("slapd does not listen on %s:\n%s", a, s.text())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The readiness connections above are logged too: wait for their
	// lines, so that later ACCEPT lines are the test's own.
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.text(), " ACCEPT from ") < len(addrs) {
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not log the readiness connections:\n%s", s.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// freeAddr is ip with a port free on it now.
func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestProbeInterface: the LDAP connection leaves from the interface of
// ldapconfig SETUP, and under Auto from the interface whose network holds
// the server, else Management, as slapd's connection log shows.
func TestProbeInterface(t *testing.T) {
	n := os.Getpid() % 250
	mgmt := config.Interface{Name: "Management", IPv4: fmt.Sprintf("127.7.%d.1", n), PrefixLen: 32, Hostname: "esa.test"}
	data := config.Interface{Name: "Data1", Ethernet: "Data 1", IPv4: fmt.Sprintf("127.5.%d.1", n), PrefixLen: 24, Hostname: "data1.test"}
	near := freeAddr(t, fmt.Sprintf("127.5.%d.2", n))
	far := freeAddr(t, fmt.Sprintf("127.6.%d.2", n))
	srv := startSlapd(t, near, far)
	for _, tc := range []struct {
		name, setting, server, wantFrom string
	}{
		{"configured Data1", "Data1", far, data.IPv4},
		{"Auto, server in Data1's network", "Auto", near, data.IPv4},
		{"Auto, server elsewhere: Management", "Auto", far, mgmt.IPv4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(tc.server)
			var p int
			fmt.Sscan(port, &p)
			cfg := &config.Config{Interfaces: []config.Interface{mgmt, data}, LDAP: config.LDAP{Interface: tc.setting}}
			before := strings.Count(srv.text(), " ACCEPT from ")
			got := probe(context.Background(), cfg, config.LDAPServer{Host: host, Port: p,
				AuthMethod: config.LDAPAuthPassword, BindDN: "cn=admin,dc=example,dc=com", BindPassword: "secret"})
			if !strings.HasSuffix(got, `accepted the bind as "cn=admin,dc=example,dc=com".`) {
				t.Fatalf("probe = %q", got)
			}
			re := regexp.MustCompile(`ACCEPT from IP=([0-9.]+):\d+ \(IP=` + regexp.QuoteMeta(tc.server) + `\)`)
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(srv.text(), " ACCEPT from ") <= before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			accepts := re.FindAllStringSubmatch(srv.text(), -1)
			if len(accepts) == 0 {
				t.Fatalf("slapd logged no connection to %s:\n%s", tc.server, srv.text())
			}
			if from := accepts[len(accepts)-1][1]; from != tc.wantFrom {
				t.Errorf("slapd saw the bind from %s, want %s", from, tc.wantFrom)
			}
		})
	}
	t.Run("interface without the server's family", func(t *testing.T) {
		cfg := &config.Config{Interfaces: []config.Interface{mgmt, data}, LDAP: config.LDAP{Interface: "Data1"}}
		got := probe(context.Background(), cfg, config.LDAPServer{Host: "::1", Port: 389, AuthMethod: config.LDAPAuthAnonymous})
		if got != "Could not connect to the LDAP server [::1]:389: interface Data1 has no IPv6 address." {
			t.Errorf("probe = %q", got)
		}
	})
}
