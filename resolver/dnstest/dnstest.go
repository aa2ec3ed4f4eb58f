// Package dnstest serves DNS zones on loopback for tests, with the real
// programs an appliance meets: NSD as the authoritative server of the
// zones (signed with ldns-signzone, keys made by ldns-keygen), and Unbound
// as the validating recursive resolver esash is configured to ask, with
// the signed zones' trust anchors and a stub zone per zone pointing at
// NSD. Debian packages nsd, unbound and ldnsutils (scripts/testdeps.sh).
package dnstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Zone is one zone to serve.
type Zone struct {
	Origin  string   // "signed.test"
	Signed  bool     // sign it and give Unbound its trust anchor
	Records []string // zone-file lines, names relative to the origin or absolute
	// Forged replaces old with new in the signed zone file after signing:
	// records an attacker changed in transit, which the validator finds
	// bogus (answered SERVFAIL) while the rest of the zone stays secure.
	Forged map[string]string
}

// Servers are the running NSD and Unbound.
type Servers struct {
	Resolver string // Unbound, ip:port: the validating resolver
	Auth     string // NSD, ip:port
}

var ipSeq atomic.Int32

// loopbackIP is a loopback address of this process's own.
func loopbackIP() string {
	n := ipSeq.Add(1)
	return fmt.Sprintf("127.4.%d.%d", os.Getpid()%250, n%250+1)
}

func freePort(t testing.TB, ip string) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port on " + ip)
	return 0
}

// need finds a program (also in /usr/sbin) or fails the test.
func need(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s is not installed: make test installs it (scripts/testdeps.sh)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func run(t testing.TB, dir, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// Start serves zones until the test ends.
func Start(t testing.TB, zones ...Zone) Servers {
	t.Helper()
	nsd, unbound := need(t, "nsd"), need(t, "unbound")
	keygen, signzone := need(t, "ldns-keygen"), need(t, "ldns-signzone")
	dir := t.TempDir()
	authIP, resIP := loopbackIP(), loopbackIP()
	authPort := freePort(t, authIP)
	var nsdZones, stubs, anchors strings.Builder
	for _, z := range zones {
		origin := strings.TrimSuffix(z.Origin, ".")
		served := writeZone(t, dir, z, authIP, keygen, signzone, &anchors)
		fmt.Fprintf(&nsdZones, "zone:\n  name: %q\n  zonefile: %q\n", origin+".", served)
		fmt.Fprintf(&stubs, "stub-zone:\n  name: %q\n  stub-addr: %s@%d\n", origin+".", authIP, authPort)
	}
	start(t, dir, "nsd", nsdConfig(dir, authIP, authPort, nsdZones.String()), nsd, "-d", "-c")
	waitUDP(t, authIP, authPort, dir, "nsd.log")
	resPort := freePort(t, resIP)
	start(t, dir, "unbound", unboundConfig(dir, resIP, resPort, anchors.String(), stubs.String()), unbound, "-d", "-c")
	waitUDP(t, resIP, resPort, dir, "unbound.log")
	return Servers{Resolver: net.JoinHostPort(resIP, strconv.Itoa(resPort)), Auth: net.JoinHostPort(authIP, strconv.Itoa(authPort))}
}

// writeZone writes zone z's file in dir (its NS at authIP) and, for a
// signed zone, signs it (its trust anchor added to anchors) and applies
// its forgeries. It returns the file nsd serves.
func writeZone(t testing.TB, dir string, z Zone, authIP, keygen, signzone string, anchors *strings.Builder) string {
	t.Helper()
	origin := strings.TrimSuffix(z.Origin, ".")
	file := filepath.Join(dir, origin+".zone")
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 300\n", origin)
	fmt.Fprintf(&b, "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n", origin, origin)
	fmt.Fprintf(&b, "@ IN NS ns.%s.\nns IN A %s\n", origin, authIP)
	for _, r := range z.Records {
		b.WriteString(r + "\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if !z.Signed {
		return file
	}
	ksk := run(t, dir, keygen, "-a", "ECDSAP256SHA256", "-k", origin+".")
	zsk := run(t, dir, keygen, "-a", "ECDSAP256SHA256", origin+".")
	run(t, dir, signzone, "-f", file+".signed", file, zsk, ksk)
	forge(t, file+".signed", z.Forged)
	fmt.Fprintf(anchors, "trust-anchor-file: %q\n", filepath.Join(dir, ksk+".ds"))
	return file + ".signed"
}

// nsdConfig is the authoritative server's configuration: on authIP and
// authPort, serving zones (nsd.conf zone: clauses), files in dir.
func nsdConfig(dir, authIP string, authPort int, zones string) string {
	return fmt.Sprintf(`server:
  ip-address: %s@%d
  port: %d
  username: ""
  chroot: ""
  zonesdir: %q
  database: ""
  zonelistfile: %q
  xfrdfile: %q
  pidfile: %q
  logfile: %q
  server-count: 1
  do-ip6: no
  verbosity: 1
remote-control:
  control-enable: no
%s`, authIP, authPort, authPort, dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "xfrd.state"),
		filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "nsd.log"), zones)
}

// unboundConfig is the validating resolver's configuration: on resIP and
// resPort, with the zones' trust anchors and stub zones, files in dir.
func unboundConfig(dir, resIP string, resPort int, anchors, stubs string) string {
	return fmt.Sprintf(`server:
  interface: %s@%d
  port: %d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: %q
  pidfile: %q
  logfile: %q
  use-syslog: no
  verbosity: 1
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  qname-minimisation: no
  module-config: "validator iterator"
  val-log-level: 2
  num-threads: 1
  # Unbound answers RFC 6761 names (test., invalid. ...) itself by default.
  local-zone: "test." nodefault
  local-zone: "invalid." nodefault
  local-zone: "example." nodefault
  local-zone: "127.in-addr.arpa." nodefault
%s
%s`, resIP, resPort, resPort, dir, filepath.Join(dir, "unbound.pid"), filepath.Join(dir, "unbound.log"),
		anchors, stubs)
}

// forge applies a zone's forgeries to its signed file.
func forge(t testing.TB, file string, forged map[string]string) {
	t.Helper()
	if len(forged) == 0 {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range forged {
		if !strings.Contains(s, old) {
			t.Fatalf("forging %s: %q is not in the signed zone", file, old)
		}
		s = strings.ReplaceAll(s, old, repl)
	}
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start writes name's configuration and runs prog with it until the test
// ends.
func start(t testing.TB, dir, name, conf, prog string, args ...string) {
	t.Helper()
	cf := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, append(args, cf)...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			t.Logf("%s output:\n%s\n%s", name, errb.String(), log)
		}
	})
}

// waitUDP waits until something answers DNS on ip:port (a query for the
// root SOA gets some answer from both programs).
func waitUDP(t testing.TB, ip string, port int, dir, logName string) {
	t.Helper()
	q := []byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			c.SetDeadline(time.Now().Add(200 * time.Millisecond))
			c.Write(q)
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			c.Close()
			if err == nil && n >= 12 && buf[0] == 0x12 && buf[1] == 0x34 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, logName))
	t.Fatalf("%s did not answer on %s:%d:\n%s", logName, ip, port, log)
}
