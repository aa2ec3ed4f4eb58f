package mta

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
	"esash/mtasts"
)

// stsDomain is one receiving domain of the MTA-STS tests: its MX host
// (at the sink), its published TXT id and policy.
type stsDomain struct {
	name, mx, id, policy string
	rpt                  string // the _smtp._tls record
}

// stsPolicy writes a policy file.
func stsPolicy(mode string, maxAge int, mx ...string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + mode + "\r\n")
	for _, m := range mx {
		b.WriteString("mx: " + m + "\r\n")
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", maxAge)
	return b.String()
}

// policyServer serves each domain's policy at https://mta-sts.<domain>/
// with a certificate from p naming every mta-sts host; policies can be
// changed and requests are counted. hold, when set for a domain, makes
// its request wait until the channel is closed.
type policyServer struct {
	ip       string
	port     int
	mu       sync.Mutex
	policies map[string]string
	hold     map[string]chan struct{}
	requests atomic.Int32
	posts    []posted // TLS-RPT reports POSTed to /tlsrpt
	from     []string // the clients' addresses
}

type posted struct {
	ctype string
	body  []byte
}

func (ps *policyServer) set(domain, policy string) {
	ps.mu.Lock()
	ps.policies[domain] = policy
	ps.mu.Unlock()
}

func startPolicyServer(t *testing.T, p *testPKI, domains []string) *policyServer {
	t.Helper()
	var names []string
	for _, d := range domains {
		names = append(names, "mta-sts."+d)
	}
	cc := p.leaf(t, "policy", names[0], names[1:]...)
	cert, err := tls.X509KeyPair([]byte(cc.CertPEM+cc.Intermediates[0]), []byte(cc.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	ps := &policyServer{ip: sinkIP(), policies: map[string]string{}, hold: map[string]chan struct{}{}}
	ln, err := net.Listen("tcp4", ps.ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	ps.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/tlsrpt" {
			b, _ := io.ReadAll(r.Body)
			ps.mu.Lock()
			ps.posts = append(ps.posts, posted{r.Header.Get("Content-Type"), b})
			ps.mu.Unlock()
			return
		}
		ps.requests.Add(1)
		ps.mu.Lock()
		ps.from = append(ps.from, r.RemoteAddr)
		ps.mu.Unlock()
		dom := strings.TrimPrefix(strings.Split(r.Host, ":")[0], "mta-sts.")
		ps.mu.Lock()
		text, ok := ps.policies[dom]
		hold := ps.hold[dom]
		ps.mu.Unlock()
		if hold != nil {
			<-hold
		}
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(text))
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ps
}

// startSTSDnsmasq runs dnsmasq serving, for each domain, its MX (at
// mxIP), the _mta-sts TXT record (when id is set) and mta-sts.<domain>
// at the policy server. It returns the resolver address.
func startSTSDnsmasq(t *testing.T, mxIP, policyIP string, domains []stsDomain) string {
	t.Helper()
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		bin = "/usr/sbin/dnsmasq"
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
		"--local=/test/", "--pid-file=" + filepath.Join(dir, "dnsmasq.pid")}
	for _, d := range domains {
		args = append(args, "--mx-host="+d.name+","+d.mx+",10", "--host-record="+d.mx+","+mxIP,
			"--host-record=mta-sts."+d.name+","+policyIP)
		if d.id != "" {
			args = append(args, "--txt-record=_mta-sts."+d.name+",v=STSv1; id="+d.id+";")
		}
		if d.rpt != "" {
			// dnsmasq splits its text at commas (into strings TXT readers
			// join): a record here names one rua.
			args = append(args, "--txt-record=_smtp._tls."+d.name+","+d.rpt)
		}
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	return runDnsmasq(t, bin, args, hp(ip, port), 30*time.Second, func(mx []*net.MX) bool { return len(mx) == 1 }, domains[0].name)
}

// stsClock is a clock the test moves.
type stsClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *stsClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *stsClock) add(d time.Duration) { c.mu.Lock(); c.d += d; c.mu.Unlock() }

// stsWait waits for cond with a deadline for a loaded machine.
func stsWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stsWaitLog(t *testing.T, dir, want string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		l := logLines(t, dir)
		if strings.Contains(l, want) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail_logs lacks %q:\n%s", want, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sinkHas(sink *goSink, rcpt string) bool {
	for _, m := range sink.list() {
		for _, to := range m.to {
			if to == rcpt {
				return true
			}
		}
	}
	return false
}

// stsWorld is a sink whose certificate names mx.good.test and
// mx.testing.test (not mx.wrong.test), a policy server, dnsmasq, and an
// MTA delivering by MX under Default TLS "Preferred".
type stsWorld struct {
	p    *testPKI
	sink *goSink
	ps   *policyServer
	dns  string
	cfg  *config.Config
	clk  *stsClock
	opts func(*Options)
}

var stsDomains = []stsDomain{
	{name: "good.test", mx: "mx.good.test", id: "g1", policy: stsPolicy("enforce", 86400, "mx.good.test")},
	{name: "wrong.test", mx: "mx.wrong.test", id: "w1", policy: stsPolicy("enforce", 86400, "mx.wrong.test")},
	{name: "nomatch.test", mx: "mx.nomatch.test", id: "n1", policy: stsPolicy("enforce", 86400, "other.nomatch.test")},
	{name: "testing.test", mx: "mx.testing.test", id: "t1", policy: stsPolicy("testing", 86400, "other.testing.test")},
	{name: "plain.test", mx: "mx.plain.test"}, // no MTA-STS
	{name: "slow.test", mx: "mx.good.test", id: "s1", policy: stsPolicy("enforce", 86400, "mx.good.test")},
	{name: "rpt.test", mx: "mx.rpt.test"}, // the TLS-RPT mailbox's domain
	{name: "zero.test", mx: "mx.zero.test", id: "z1", policy: stsPolicy("enforce", 0, "mx.zero.test")},
}

func newSTSWorld(t *testing.T) *stsWorld { return newSTSWorldRpt(t, nil) }

// newSTSWorldRpt adds _smtp._tls records: {port} in one stands for the
// policy server's port (its /tlsrpt takes POSTed reports).
func newSTSWorldRpt(t *testing.T, rpt map[string]string) *stsWorld {
	w := &stsWorld{p: newPKI(t), clk: &stsClock{}}
	cert := w.p.leaf(t, "sink", "mx.good.test", "mx.testing.test", "mx.plain.test")
	w.sink = startGoSink(t, &cert)
	var names []string
	for _, d := range stsDomains {
		names = append(names, d.name)
	}
	w.ps = startPolicyServer(t, w.p, names)
	for _, d := range stsDomains {
		if d.policy != "" {
			w.ps.set(d.name, d.policy)
		}
	}
	domains := slices.Clone(stsDomains)
	for i, d := range domains {
		domains[i].rpt = strings.ReplaceAll(rpt[d.name], "{port}", fmt.Sprint(w.ps.port))
	}
	w.dns = startSTSDnsmasq(t, w.sink.addr, w.ps.ip, domains)
	w.cfg = outCfg(t, w.p, config.TLSOutPreferred, nil)
	useDNS(w.cfg, w.dns)
	w.opts = func(o *Options) {
		o.Delivery.MXPort = w.sink.port
		o.Delivery.Timeout = 20 * time.Second
		o.MTASTS = MTASTSOptions{Port: w.ps.port, Refresh: time.Hour, AllowPrivate: true} // the policy server is on loopback
		o.Now = w.clk.now
	}
	return w
}

// TestMTASTSEnforce: policies from a real DNS server (dnsmasq TXT and MX)
// and an HTTPS server whose CA is in the custom list. Enforce with a
// matching MX and a valid certificate delivers over verified TLS; enforce
// with a certificate for another name defers (4.7.5) where "Preferred"
// alone would have delivered; enforce whose MX matches no pattern defers
// without connecting; testing delivers and logs; a domain without a
// record delivers as before.
func TestMTASTSEnforce(t *testing.T) {
	w := newSTSWorld(t)
	s, dir := startOut(t, w.cfg, w.opts)

	good := enqueue(t, s, "a@example.com", "b@good.test")
	stsWait(t, "delivery to good.test", func() bool { return sinkHas(w.sink, "b@good.test") && !inQueue(s, good) })
	logs := stsWaitLog(t, dir, fmt.Sprintf("MID %d MTA-STS policy of good.test: id g1, mode enforce, mx mx.good.test, max_age 86400", good))
	if !strings.Contains(logs, "TLS success protocol") || !strings.Contains(logs, "MTA-STS policy of good.test fetched: id g1") {
		t.Errorf("no verified TLS or fetch line for good.test:\n%s", logs)
	}

	wrong := enqueue(t, s, "a@example.com", "b@wrong.test")
	logs = stsWaitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - TLS verification failed: certificate name mismatch", wrong))
	if !strings.Contains(logs, fmt.Sprintf("MID %d MTA-STS policy of wrong.test: id w1, mode enforce", wrong)) {
		t.Errorf("the deferral of wrong.test does not name the policy:\n%s", logs)
	}
	if sinkHas(w.sink, "b@wrong.test") || !inQueue(s, wrong) {
		t.Errorf("wrong.test delivered despite the enforced policy")
	}

	nomatch := enqueue(t, s, "a@example.com", "b@nomatch.test")
	stsWaitLog(t, dir, "MTA-STS: MX mx.nomatch.test of nomatch.test does not match the policy; not used")
	stsWaitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - MTA-STS policy of nomatch.test: no MX host matches (mx: other.nomatch.test)", nomatch))

	testing := enqueue(t, s, "a@example.com", "b@testing.test")
	stsWait(t, "delivery to testing.test", func() bool { return sinkHas(w.sink, "b@testing.test") && !inQueue(s, testing) })
	stsWaitLog(t, dir, "MTA-STS testing: MX mx.testing.test of testing.test does not match the policy; used")

	plain := enqueue(t, s, "a@example.com", "b@plain.test")
	stsWait(t, "delivery to plain.test", func() bool { return sinkHas(w.sink, "b@plain.test") && !inQueue(s, plain) })
	if l := logLines(t, dir); strings.Contains(l, "MTA-STS policy of plain.test") {
		t.Errorf("a policy was applied to plain.test:\n%s", l)
	}

	// The policies were fetched from the delivery interface.
	w.ps.mu.Lock()
	for _, from := range w.ps.from {
		if h, _, _ := net.SplitHostPort(from); h != w.cfg.Interfaces[0].IPv4 {
			t.Errorf("a policy fetch came from %s, not the delivery interface %s", h, w.cfg.Interfaces[0].IPv4)
		}
	}
	w.ps.mu.Unlock()

	// tlsverify (the domain's MX) shows the policy in force and where it
	// came from, then verifies the MX.
	var out []string
	ok := s.TLSVerify(context.Background(), "good.test", "", func(l string) { out = append(out, l) })
	if !ok || len(out) < 3 || !strings.Contains(out[0], "MTA-STS: policy in force for good.test: mode enforce, mx mx.good.test, max_age 86400.") ||
		!strings.Contains(out[1], fmt.Sprintf("MTA-STS: from https://mta-sts.good.test:%d/.well-known/mta-sts.txt, id g1, fetched", w.ps.port)) {
		t.Errorf("TLSVerify = %v:\n%s", ok, strings.Join(out, "\n"))
	}
}

// TestMTASTSCacheRestartAndDisappearing: a policy fetched before a
// restart is in force after it without a new fetch; when the record and
// the policy file disappear (the configuration moves to a DNS server
// without the TXT record, the HTTPS server answers 404) the cached policy
// stays in force until its max_age, then no policy applies.
func TestMTASTSCacheRestartAndDisappearing(t *testing.T) {
	w := newSTSWorld(t)
	w.ps.set("wrong.test", stsPolicy("enforce", 7200, "mx.wrong.test"))
	dir := t.TempDir()
	s := startMTA(t, dir, w.cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour}
	}, w.opts)
	m1 := enqueue(t, s, "a@example.com", "b@wrong.test")
	stsWait(t, "the first deferral", func() bool { m, _ := s.queue.Get(m1); return m.Attempts == 1 })
	if n := w.ps.requests.Load(); n != 1 {
		t.Fatalf("%d policy requests, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.Close(ctx)
	cancel()

	// Restart on the same data: the persisted policy still defers.
	s = startMTA(t, dir, w.cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour}
	}, w.opts)
	retryNow(t, s, m1)
	stsWait(t, "the deferral after the restart", func() bool { m, _ := s.queue.Get(m1); return m.Attempts == 2 })
	if n := w.ps.requests.Load(); n != 1 {
		t.Fatalf("the restart fetched the policy again (%d requests)", n)
	}

	// The record and the file disappear; an hour later (past Refresh) a
	// background check finds nothing: the policy still applies.
	bare := []stsDomain{{name: "wrong.test", mx: "mx.wrong.test"}}
	cfg2 := *w.cfg
	useDNS(&cfg2, startSTSDnsmasq(t, w.sink.addr, w.ps.ip, bare))
	apply(t, s, &cfg2)
	w.ps.mu.Lock()
	delete(w.ps.policies, "wrong.test")
	w.ps.mu.Unlock()
	w.clk.add(61 * time.Minute)
	retryNow(t, s, m1)
	stsWait(t, "the deferral after the record went", func() bool { m, _ := s.queue.Get(m1); return m.Attempts == 3 })
	// That attempt started the background check (Refresh passed); once
	// it ended, the policy is still cached.
	c, _ := s.stsCache()
	stsWait(t, "the background check", func() bool { return !c.Busy("wrong.test") })
	if res, _ := c.Peek("wrong.test"); res.Policy == nil {
		t.Fatalf("the policy was dropped when its record went: %+v", res)
	}
	retryNow(t, s, m1)
	stsWait(t, "the deferral before max_age", func() bool { m, _ := s.queue.Get(m1); return m.Attempts == 4 })
	if sinkHas(w.sink, "b@wrong.test") {
		t.Fatal("delivered while the cached policy was valid")
	}

	// Past max_age (2 h): no policy; Preferred delivers.
	w.clk.add(61 * time.Minute)
	retryNow(t, s, m1)
	stsWait(t, "delivery once the policy expired", func() bool { return sinkHas(w.sink, "b@wrong.test") && !inQueue(s, m1) })
}

func logHas(t *testing.T, dir, want string) bool { return strings.Contains(logLines(t, dir), want) }

// TestMTASTSExplicitEntry: a domain's own destination entry does not turn
// MTA-STS off, and its TLS setting does not weaken an enforce policy: with
// no TLS setting, then with TLS "Preferred" written for it, mail to
// wrong.test (whose MX certificate names another host) is deferred as the
// policy requires, and the raise is logged. Exempted in destconfig
// MTASTS, the entry's own setting governs and the mail is delivered.
// tlsverify says which rule governs. MTA-STS off for domains without an
// entry delivers too.
func TestMTASTSExplicitEntry(t *testing.T) {
	w := newSTSWorld(t)
	w.cfg.Destinations.Entries = []config.DestControl{{Domain: "wrong.test", MaxConcurrency: 5}}
	s, dir := startOut(t, w.cfg, w.opts)
	m1 := enqueue(t, s, "a@example.com", "b@wrong.test")
	stsWaitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - TLS verification failed: certificate name mismatch", m1))
	stsWaitLog(t, dir, fmt.Sprintf("MID %d MTA-STS policy of wrong.test (enforce) requires TLS with a verified certificate: Required - Verify instead of Preferred (destination entry wrong.test)", m1))

	cfg2 := *w.cfg
	cfg2.Destinations.Entries = []config.DestControl{{Domain: "wrong.test", MaxConcurrency: 5, TLS: config.TLSOutPreferred}}
	apply(t, s, &cfg2)
	retryNow(t, s, m1)
	stsWait(t, "the second attempt", func() bool { m, _ := s.queue.Get(m1); return m.Attempts == 2 })
	if sinkHas(w.sink, "b@wrong.test") || !inQueue(s, m1) {
		t.Fatal("the entry's TLS Preferred undid the enforce policy")
	}
	var out []string
	s.STSReport(context.Background(), "wrong.test", true, func(l string) { out = append(out, l) })
	if text := strings.Join(out, "\n"); !strings.Contains(text, "MTA-STS: the enforce policy requires TLS with a verified certificate: delivery uses Required - Verify, not the destination entry wrong.test's TLS setting (Preferred); exempt the entry in destconfig MTASTS for its own setting to govern.") {
		t.Errorf("STSReport does not say the policy governs:\n%s", text)
	}

	cfg3 := cfg2
	cfg3.Destinations.MTASTS.Exempt = []string{"wrong.test"}
	apply(t, s, &cfg3)
	retryNow(t, s, m1)
	stsWait(t, "delivery under the exempt entry's own TLS setting", func() bool { return sinkHas(w.sink, "b@wrong.test") && !inQueue(s, m1) })
	out = nil
	s.STSReport(context.Background(), "wrong.test", true, func(l string) { out = append(out, l) })
	if text := strings.Join(out, "\n"); text != "MTA-STS: not applied: the destination entry wrong.test is exempt from MTA-STS (destconfig MTASTS): its own TLS setting governs." {
		t.Errorf("STSReport of the exempt entry:\n%s", text)
	}

	// MTA-STS off for the DEFAULT entry's domains.
	cfg4 := *w.cfg
	cfg4.Destinations.Entries = nil
	cfg4.Destinations.MTASTS.Off = true
	apply(t, s, &cfg4)
	m3 := enqueue(t, s, "a@example.com", "d@wrong.test")
	stsWait(t, "delivery with MTA-STS off", func() bool { return sinkHas(w.sink, "d@wrong.test") && !inQueue(s, m3) })
}

// TestMTASTSFetchDoesNotBlockOthers: while the policy server holds the
// request for slow.test, mail to other domains is delivered; slow.test's
// own delivery goes on without a policy once its wait (the delivery
// timeout) ends, and the next attempt finds the policy.
func TestMTASTSFetchDoesNotBlockOthers(t *testing.T) {
	w := newSTSWorld(t)
	release := make(chan struct{})
	w.ps.mu.Lock()
	w.ps.hold["slow.test"] = release
	w.ps.mu.Unlock()
	s, dir := startOut(t, w.cfg, w.opts)
	slow := enqueue(t, s, "a@example.com", "b@slow.test")
	stsWait(t, "the policy request of slow.test", func() bool { return w.ps.requests.Load() == 1 })
	for _, d := range []string{"good.test", "plain.test"} {
		mid := enqueue(t, s, "a@example.com", "b@"+d)
		stsWait(t, "delivery to "+d+" while slow.test's fetch hangs", func() bool { return sinkHas(w.sink, "b@"+d) && !inQueue(s, mid) })
	}
	if sinkHas(w.sink, "b@slow.test") {
		t.Fatal("slow.test delivered before its fetch ended or its wait timed out")
	}
	close(release)
	stsWait(t, "delivery to slow.test", func() bool { return sinkHas(w.sink, "b@slow.test") && !inQueue(s, slow) })
	stsWaitLog(t, dir, "MTA-STS policy of slow.test fetched: id s1")
}

// benchSource serves one policy without a network (BenchmarkSTSLookupWarm
// measures the look-up, not discovery).
type benchSource struct{}

func (benchSource) LookupTXT(context.Context, string) ([]string, error) {
	return []string{"v=STSv1; id=b1"}, nil
}
func (benchSource) Fetch(context.Context, string) (mtasts.Policy, error) {
	return mtasts.Parse(stsPolicy("enforce", 86400, "mx.bench.test"))
}
func (benchSource) URL(d string) string { return "https://mta-sts." + d + "/.well-known/mta-sts.txt" }

// BenchmarkSTSLookupWarm is the per-message cost of finding the policy in
// force for a domain (destination entry, destconfig MTASTS, route check,
// cache) with a warm cache; the goal is under 5 µs.
func BenchmarkSTSLookupWarm(b *testing.B) {
	p := newPKI(b)
	cfg := outCfg(b, p, config.TLSOutPreferred, nil)
	s := startMTA(b, b.TempDir(), cfg)
	oc := s.outConfig()
	c, err := s.stsCache()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if r := c.Get(ctx, "bench.test", benchSource{}); r.Policy == nil {
		b.Fatalf("no policy: %+v", r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dc := oc.dest.Lookup("bench.test")
		if d := s.stsFor(ctx, oc, dc, "bench.test", true); d.mode() != mtasts.ModeEnforce {
			b.Fatalf("mode %q", d.mode())
		}
	}
}

// TestMTASTSUntrustedPolicyServer: the policy server's certificate must
// chain to the appliance's CA lists (certconfig): with another root in the
// custom list the policy is not fetched, none applies (RFC 8461 §5.1) and
// mail goes as before; the failure is logged.
func TestMTASTSUntrustedPolicyServer(t *testing.T) {
	w := newSTSWorld(t)
	other := newPKI(t)
	w.cfg.CAs = config.TrustedCAs{CustomEnabled: true, Custom: []config.CA{{Name: "other", PEM: other.RootPEM}}}
	s, dir := startOut(t, w.cfg, w.opts)
	mid := enqueue(t, s, "a@example.com", "b@wrong.test")
	stsWait(t, "delivery without a policy", func() bool { return sinkHas(w.sink, "b@wrong.test") && !inQueue(s, mid) })
	logs := stsWaitLog(t, dir, "MTA-STS policy of wrong.test not fetched: MTA-STS policy fetch failed: https://mta-sts.wrong.test:")
	if !strings.Contains(logs, "certificate signed by unknown authority") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
}

// TestMTASTSMaxAgeZero: an enforce policy of max_age 0 (RFC 8461 §3.2:
// not cached) still applies to the delivery that fetched it: the MX's
// certificate does not name mx.zero.test, so the mail is deferred where
// Preferred alone would deliver it; the next attempt fetches the policy
// again (nothing was cached) and defers again.
func TestMTASTSMaxAgeZero(t *testing.T) {
	w := newSTSWorld(t)
	s, dir := startOut(t, w.cfg, w.opts)
	mid := enqueue(t, s, "a@example.com", "b@zero.test")
	logs := stsWaitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - TLS verification failed: certificate name mismatch", mid))
	if !strings.Contains(logs, fmt.Sprintf("MID %d MTA-STS policy of zero.test: id z1, mode enforce, mx mx.zero.test, max_age 0", mid)) {
		t.Errorf("the deferral does not name the policy:\n%s", logs)
	}
	if n := w.ps.requests.Load(); n != 1 {
		t.Fatalf("%d policy requests, want 1", n)
	}
	retryNow(t, s, mid)
	stsWait(t, "the second attempt", func() bool { m, _ := s.queue.Get(mid); return m.Attempts == 2 })
	if n := w.ps.requests.Load(); n != 2 {
		t.Errorf("%d policy requests after the second attempt, want 2 (max_age 0 is not cached)", n)
	}
	if sinkHas(w.sink, "b@zero.test") || !inQueue(s, mid) {
		t.Fatal("delivered despite the enforce policy of max_age 0")
	}
}
