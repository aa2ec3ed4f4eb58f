package mta

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/mta/queue"
)

// dumpSink is Postfix's smtp-sink writing every transaction to a file of
// its own, headed by what the client said and where it came from
// (X-Client-Addr, X-Helo-Args, X-Mail-Args, X-Rcpt-Args).
type dumpSink struct {
	addr string
	port int
	dir  string
}

// startDumpSink runs smtp-sink on ip (a port of its own); it offers
// neither STARTTLS nor SMTPUTF8.
func startDumpSink(t *testing.T, ip string) *dumpSink {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("smtp-sink needs root here (-u postfix): run make test as root (CI does)")
	}
	bin := needPeer(t, "smtp-sink")
	// Not under t.TempDir, whose parent only root may enter: smtp-sink
	// writes as postfix.
	dir, err := os.MkdirTemp("", "esash-dumpsink-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	d := &dumpSink{addr: ip, port: freePort(t, ip), dir: dir}
	cmd := exec.Command(bin, "-u", "postfix", "-d", dir+"/%H%M%S.", fmt.Sprintf("%s:%d", ip, d.port), "50")
	if out, err := cmd.StderrPipe(); err == nil {
		go func() {
			b := make([]byte, 4096)
			for {
				n, err := out.Read(b)
				if n > 0 {
					t.Logf("smtp-sink: %s", b[:n])
				}
				if err != nil {
					return
				}
			}
		}()
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "smtp-sink", func() bool {
		c, err := dialTCP(hp(ip, d.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

// messages returns the transactions dumped so far.
func (d *dumpSink) messages(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(d.dir, "*"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		// The whole message is there: the end of enqueue's body or of an
		// alert's.
		if err == nil && (strings.Contains(string(b), ".leading dot") || strings.Contains(string(b), "\nHostname: ")) {
			out = append(out, string(b))
		}
	}
	return out
}

// header returns the value of the smtp-sink record name in msg.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), name+": "); ok {
			return v
		}
	}
	return ""
}

// ifaceTestConfig is an appliance with a Management interface (the
// listener's, a /32) and "Data 1" on a /24 of its own, each with its own
// host name.
func ifaceTestConfig(t *testing.T, p *testPKI, routes map[string]string) (*config.Config, config.Interface) {
	cfg := outCfg(t, p, config.TLSOutNo, routes)
	cfg.Interfaces[0].PrefixLen = 32
	data := cfg.Interfaces[0]
	data.Name, data.Ethernet, data.Hostname = "Data1", "Data 1", "data1.test"
	data.IPv4, data.PrefixLen = fmt.Sprintf("127.4.%d.1", os.Getpid()%250), 24
	data.SSH, data.HTTPS, data.HTTP = config.Service{}, config.Service{}, config.Service{}
	cfg.Interfaces = append(cfg.Interfaces, data)
	if probs := config.Validate(cfg, time.Now()); len(probs.Errors()) > 0 {
		t.Fatalf("test configuration invalid: %v", probs.Errors())
	}
	return cfg, data
}

// TestDeliverInterfaceAuto: under Auto, a connection leaves from the
// interface whose network holds the next hop, else from Management; each
// says EHLO with its interface's host name, and mail_logs names the
// address. A configured interface is used for every destination, with its
// SMTP HELO name when it has one. smtp-sink records what it saw.
func TestDeliverInterfaceAuto(t *testing.T) {
	p := newPKI(t)
	inNet := startDumpSink(t, fmt.Sprintf("127.4.%d.2", os.Getpid()%250))
	outside := startDumpSink(t, sinkIP())
	routes := map[string]string{"near.test": hp(inNet.addr, inNet.port), "far.test": hp(outside.addr, outside.port)}
	cfg, data := ifaceTestConfig(t, p, routes)
	mgmt := cfg.Interfaces[0]
	if cfg.Delivery.Interface != config.DeliveryAuto {
		t.Fatalf("factory delivery interface %q, want Auto", cfg.Delivery.Interface)
	}
	s, dir := startOut(t, cfg)
	enqueue(t, s, "a@example.com", "b@near.test")
	waitFor(t, "delivery near", func() bool { return len(inNet.messages(t)) == 1 })
	enqueue(t, s, "a@example.com", "b@far.test")
	waitFor(t, "delivery far", func() bool { return len(outside.messages(t)) == 1 })
	for _, tc := range []struct {
		name     string
		sink     *dumpSink
		from     string
		helo     string
		msgCount int
	}{
		{"next hop in Data 1's network", inNet, data.IPv4, data.Hostname, 1},
		{"next hop elsewhere: Management", outside, mgmt.IPv4, mgmt.Hostname, 1},
	} {
		m := tc.sink.messages(t)[tc.msgCount-1]
		if got := header(m, "X-Client-Addr"); got != tc.from {
			t.Errorf("%s: sent from %s, want %s", tc.name, got, tc.from)
		}
		if got := header(m, "X-Helo-Args"); got != tc.helo {
			t.Errorf("%s: EHLO %s, want %s", tc.name, got, tc.helo)
		}
		waitLog(t, dir, fmt.Sprintf("interface %s address %s port %d", tc.from, tc.sink.addr, tc.sink.port))
	}

	// A configured interface: Data 1 for both, with its SMTP HELO name.
	cfg2 := cfg.Clone()
	cfg2.Delivery.Interface = "Data1"
	cfg2.Interfaces[1].SMTPHelo = "helo.data1.test"
	apply(t, s, cfg2)
	enqueue(t, s, "a@example.com", "c@far.test")
	waitFor(t, "delivery far from Data 1", func() bool { return len(outside.messages(t)) == 2 })
	var last string
	for _, m := range outside.messages(t) {
		if strings.Contains(m, "<c@far.test>") {
			last = m
		}
	}
	if got := header(last, "X-Client-Addr"); got != data.IPv4 {
		t.Errorf("configured Data 1: sent from %s, want %s", got, data.IPv4)
	}
	if got := header(last, "X-Helo-Args"); got != "helo.data1.test" {
		t.Errorf("configured Data 1: EHLO %s, want its SMTP HELO name", got)
	}
	waitLog(t, dir, fmt.Sprintf("interface %s address %s port %d", data.IPv4, outside.addr, outside.port))
}

// TestDeliverAlertInterface: alerts leave from alertconfig's interface
// ("Choose the default interface to be used to deliver alerts"), other
// mail from deliveryconfig's.
func TestDeliverAlertInterface(t *testing.T) {
	p := newPKI(t)
	mx := startDumpSink(t, sinkIP())    // no STARTTLS: Required fails and alerts
	admin := startDumpSink(t, sinkIP()) // where alerts go
	cfg, data := ifaceTestConfig(t, p, map[string]string{"sink.test": hp(mx.addr, mx.port), "alerts.test": hp(admin.addr, admin.port)})
	cfg.Destinations.Default.TLS = config.TLSOutRequired
	cfg.Destinations.Entries = []config.DestControl{{Domain: "alerts.test", TLS: config.TLSOutNo}}
	cfg.Destinations.AlertOnTLSFail = true
	cfg.Alerts.Recipients = []config.AlertRecipient{{Address: "admin@alerts.test", Classes: []string{"System"}, Severities: []string{"Warning"}}}
	cfg.Alerts.Interface = data.Name
	s, dir := startOut(t, cfg)
	enqueue(t, s, "a@example.com", "b@sink.test")
	waitLog(t, dir, "alert was sent")
	waitFor(t, "alert", func() bool { return len(admin.messages(t)) == 1 })
	m := admin.messages(t)[0]
	if got := header(m, "X-Client-Addr"); got != data.IPv4 {
		t.Errorf("alert sent from %s, want %s (alertconfig's interface)", got, data.IPv4)
	}
	if got := header(m, "X-Helo-Args"); got != data.Hostname {
		t.Errorf("alert EHLO %s, want %s", got, data.Hostname)
	}
	waitLog(t, dir, fmt.Sprintf("interface %s address %s port %d", cfg.Interfaces[0].IPv4, mx.addr, mx.port))
}

func TestIfaceSetting(t *testing.T) {
	cfg := &config.Config{Interfaces: []config.Interface{{Name: "Management"}, {Name: "Data1"}},
		Delivery: config.Delivery{Interface: "Management"}}
	for _, tc := range []struct {
		name string
		m    queue.Meta
		want string
	}{
		{"received mail", queue.Meta{Listener: "IncomingMail", Interface: "Data1"}, "Management"},
		{"internal mail without an interface (DSN, mailconfig)", queue.Meta{Listener: "internal"}, "Management"},
		{"alert from Data1", queue.Meta{Listener: "internal", Interface: "Data1"}, "Data1"},
		{"alert under Auto", queue.Meta{Listener: "internal", Interface: "Auto"}, "Auto"},
		{"alert from a deleted interface", queue.Meta{Listener: "internal", Interface: "Data9"}, "Management"},
	} {
		if got := ifaceSetting(cfg, tc.m); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDeliverInterfaceIPv6: an IPv6 next hop needs an interface with an
// IPv6 address: without one the connection is not made from some other
// address (Connection Error, deferred); with one it leaves from it.
func TestDeliverInterfaceIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	sink := &rawSink{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go sink.serve(c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	p := newPKI(t)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"v6.test": fmt.Sprintf("[::1]:%d", port)})
	// The listener will serve ::1 too, shared with other tests: a port
	// free there.
	cfg.Listeners[0].Port = freeV6Port(t)
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "a@example.com", "b@v6.test")
	waitLog(t, dir, fmt.Sprintf("Connection Error: DCID 1 domain: v6.test IP: ::1 port: %d details: connect interface: 0.0.0.0 reason: no interface has an IPv6 address", port))
	if len(sink.list()) != 0 {
		t.Fatal("delivered without an IPv6 interface")
	}
	cfg2 := cfg.Clone()
	cfg2.Interfaces[0].IPv6, cfg2.Interfaces[0].IPv6Prefix = "::1", 128
	apply(t, s, cfg2)
	retryNow(t, s, mid)
	waitFor(t, "IPv6 delivery", func() bool { return len(sink.list()) == 1 })
	waitLog(t, dir, fmt.Sprintf("New SMTP DCID 2 interface ::1 address ::1 port %d", port))
}
