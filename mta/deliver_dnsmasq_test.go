package mta

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// startDnsmasq runs a real dnsmasq on a loopback address and a free
// port (never 53): dnsmasq.test has MX mx1.dnsmasq.test (preference 10),
// whose A record is mxIP; everything else under .test is NXDOMAIN
// (--local=/test/: answered from local data only, no upstream). It
// returns the resolver address ip:port.
func startDnsmasq(t *testing.T, mxIP string) string {
	t.Helper()
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		bin = "/usr/sbin/dnsmasq"
		if !fileOK(bin) {
			t.Fatal("dnsmasq is not installed: make test installs it (scripts/testdeps.sh)")
		}
	}
	ip := sinkIP()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	dir := t.TempDir()
	args := []string{"--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--listen-address=" + ip, "--bind-interfaces", fmt.Sprintf("--port=%d", port),
		"--mx-host=dnsmasq.test,mx1.dnsmasq.test,10", "--host-record=mx1.dnsmasq.test," + mxIP,
		"--local=/test/", "--pid-file=" + filepath.Join(dir, "dnsmasq.pid")}
	if os.Geteuid() == 0 {
		// As root dnsmasq drops to nobody otherwise; stay root so
		// nothing depends on that account.
		args = append(args, "--user=root")
	}
	return runDnsmasq(t, bin, args, hp(ip, port), 5*time.Second, func(mx []*net.MX) bool {
		return len(mx) == 1 && mx[0].Host == "mx1.dnsmasq.test." && mx[0].Pref == 10
	}, "dnsmasq.test")
}

// runDnsmasq starts dnsmasq with args, stopped at the test's end, and
// waits until it answers MX probe at addr the way ready accepts.
func runDnsmasq(t *testing.T, bin string, args []string, addr string, wait time.Duration, ready func([]*net.MX) bool, probe string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("dnsmasq: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-exited:
			t.Fatalf("dnsmasq exited: %s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		mx, err := r.LookupMX(ctx, probe)
		cancel()
		if err == nil && ready(mx) {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("dnsmasq does not answer MX %s on %s: %v %v", probe, addr, mx, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeliverDnsmasq: the MX proof with a real DNS server: dnsmasq on a
// loopback port serves the MX of dnsmasq.test; a message to
// b@dnsmasq.test reaches the sink at the exchanger's address, over TLS
// verified against the MX host name; a domain dnsmasq answers NXDOMAIN
// for bounces at once with 5.1.2.
func TestDeliverDnsmasq(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "mx1.dnsmasq.test")
	sink := startGoSink(t, &cert)
	dns := startDnsmasq(t, sink.addr)

	cfg := outCfg(t, p, config.TLSOutRequiredVerify, nil)
	useDNS(cfg, dns)
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.MXPort = sink.port })
	mid := enqueue(t, s, "a@example.com", "b@dnsmasq.test")
	waitFor(t, "delivery via the dnsmasq MX", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
	waitLog(t, dir, fmt.Sprintf("Message done DCID 1 MID %d to RID [0]", mid))
	logs := waitLog(t, dir, "TLS success protocol")
	// The connection line names the exchanger's address from dnsmasq.
	if want := fmt.Sprintf("address %s port %d", sink.addr, sink.port); !strings.Contains(logs, want) {
		t.Errorf("no %q in the log:\n%s", want, logs)
	}
	got := sink.list()[0]
	if len(got.to) != 1 || got.to[0] != "b@dnsmasq.test" || !got.tls {
		t.Errorf("sink got %+v", got)
	}

	// NXDOMAIN from dnsmasq: bounced at once, not retried.
	mid2 := enqueue(t, s, "a@example.com", "b@nowhere.test")
	waitLog(t, dir, fmt.Sprintf("Bounced: DCID 0 MID %d", mid2))
	waitLog(t, dir, "5.1.2 - domain nowhere.test has no MX or address records")
	waitFor(t, "the bounced message to leave the queue", func() bool { return !inQueue(s, mid2) })
	if n := len(sink.list()); n != 1 {
		t.Errorf("sink has %d messages, want 1", n)
	}
}
