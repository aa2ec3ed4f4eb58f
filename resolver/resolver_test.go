package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"esash/config"
	"esash/resolver/dnstest"
)

var zones = []dnstest.Zone{
	{Origin: "signed.test", Signed: true, Records: []string{
		"@ IN MX 10 mx",
		"mx IN A 127.0.0.9",
		"_25._tcp.mx IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"9 IN PTR mx.signed.test.",
	}},
	{Origin: "plain.test", Records: []string{
		"@ IN MX 10 mx",
		"mx IN A 127.0.0.10",
		"_25._tcp.mx IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}},
}

func localConfig(servers ...string) *config.Config {
	cfg := &config.Config{DNS: config.DNS{Mode: config.DNSLocal, MinTTL: 0}}
	for i, s := range servers {
		cfg.DNS.Servers = append(cfg.DNS.Servers, config.DNSServer{Address: s, Priority: i})
	}
	return cfg
}

func newResolver(t *testing.T, cfg *config.Config, o Options) *Resolver {
	t.Helper()
	r, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAuthenticated: through Unbound validating a zone NSD serves signed,
// MX, A and TLSA answers come back authenticated; the same records of an
// unsigned zone do not; a name that does not exist is IsNotFound.
func TestAuthenticated(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	r := newResolver(t, localConfig(srv.Resolver), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, domain string
		secure       bool
		ip           string
	}{
		{"signed zone", "signed.test", true, "127.0.0.9"},
		{"unsigned zone", "plain.test", false, "127.0.0.10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mxs, sec, err := r.LookupMX(ctx, tc.domain)
			if err != nil || len(mxs) != 1 || mxs[0].Host != "mx."+tc.domain+"." || sec != tc.secure {
				t.Fatalf("LookupMX = %v, secure %v, %v; want mx.%s., secure %v", mxs, sec, err, tc.domain, tc.secure)
			}
			ips, sec, err := r.LookupIP(ctx, "mx."+tc.domain)
			if err != nil || len(ips) != 1 || ips[0].String() != tc.ip || sec != tc.secure {
				t.Fatalf("LookupIP = %v, secure %v, %v; want %s, secure %v", ips, sec, err, tc.ip, tc.secure)
			}
			recs, sec, err := r.LookupTLSA(ctx, "mx."+tc.domain, 25)
			if err != nil || len(recs) != 1 || recs[0].Usage != 3 || recs[0].Selector != 1 || recs[0].MatchingType != 1 || len(recs[0].Data) != 32 || sec != tc.secure {
				t.Fatalf("LookupTLSA = %+v, secure %v, %v; want one 3 1 1, secure %v", recs, sec, err, tc.secure)
			}
		})
	}
	t.Run("no such name", func(t *testing.T) {
		_, _, err := r.LookupMX(ctx, "nowhere.signed.test")
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			t.Fatalf("LookupMX of a missing name: %v, want IsNotFound", err)
		}
		recs, sec, err := r.LookupTLSA(ctx, "nowhere.signed.test", 25)
		if err != nil || len(recs) != 0 || !sec {
			t.Fatalf("LookupTLSA of a missing name = %v, %v, %v; want none, authenticated denial", recs, sec, err)
		}
	})
	t.Run("reverse", func(t *testing.T) {
		// A PTR record under the zone, asked as an in-zone name.
		names, err := r.LookupAddr(ctx, "not an address")
		if err == nil {
			t.Fatalf("LookupAddr of garbage = %v", names)
		}
		ans, err := r.query(ctx, "9.signed.test", 12)
		if err != nil || len(ans.rrs) != 1 || !ans.secure {
			t.Fatalf("PTR = %+v, %v", ans, err)
		}
	})
}

// TestServerOrder: a server that does not answer passes the question to
// the next by priority; an alternate domain server answers for its domain
// only.
func TestServerOrder(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	dead := "127.4.250.250:9" // nothing listens there
	cfg := localConfig(dead, srv.Resolver)
	r := newResolver(t, cfg, Options{Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	if _, _, err := r.LookupMX(ctx, "signed.test"); err != nil {
		t.Fatalf("the second server was not asked: %v", err)
	}
	// Only the dead server: a temporary error, not "not found".
	r2 := newResolver(t, localConfig(dead), Options{Timeout: 300 * time.Millisecond})
	_, _, err := r2.LookupMX(ctx, "signed.test")
	var de *net.DNSError
	if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary {
		t.Fatalf("dead server: %v, want a temporary error", err)
	}
	// An alternate for plain.test sends its questions to the dead server.
	cfg.DNS.Alternates = []config.DNSAlternate{{Domain: "plain.test", Address: dead, Hostname: "ns.dead.test"}}
	r3 := newResolver(t, cfg, Options{Timeout: 300 * time.Millisecond})
	if _, _, err := r3.LookupMX(ctx, "signed.test"); err != nil {
		t.Errorf("signed.test with an alternate for plain.test: %v", err)
	}
	if _, _, err := r3.LookupMX(ctx, "plain.test"); err == nil || !errors.As(err, &de) || de.Server != "ns.dead.test ("+dead+")" {
		t.Errorf("plain.test through its dead alternate: %v, want an error naming the alternate", err)
	}
}

// TestMinTTL: an answer stays cached for the minimum TTL even when the
// server is gone; without a minimum it is asked again after its TTL.
func TestMinTTL(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	now := time.Now()
	clock := func() time.Time { return now }
	cfg := localConfig(srv.Resolver)
	cfg.DNS.MinTTL = 3600
	r := newResolver(t, cfg, Options{Now: clock, Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	if _, _, err := r.LookupMX(ctx, "signed.test"); err != nil {
		t.Fatal(err)
	}
	// Point the resolver at nothing: only the cache can answer.
	r.servers = []server{{addr: "127.4.250.250:9", name: "dead"}}
	now = now.Add(30 * time.Minute) // past the records' 300 s TTL
	if _, _, err := r.LookupMX(ctx, "signed.test"); err != nil {
		t.Errorf("within the minimum TTL: %v, want the cached answer", err)
	}
	now = now.Add(31 * time.Minute)
	if _, _, err := r.LookupMX(ctx, "signed.test"); err == nil {
		t.Error("past the minimum TTL the answer still came from the cache")
	}
	if r.Len() == 0 {
		t.Fatal("nothing cached")
	}
	r.Flush()
	if r.Len() != 0 {
		t.Errorf("Flush left %d answers", r.Len())
	}
}

// TestRootMode: the Internet-root mode asks the resolvers of resolv.conf.
func TestRootMode(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	ap := netip.MustParseAddrPort(srv.Resolver)
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	// resolv.conf has no port syntax: miekg/dns reads "port" from
	// ClientConfig only as 53, so the test rewrites it after reading.
	if err := os.WriteFile(rc, []byte("nameserver "+ap.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, &config.Config{DNS: config.DNS{Mode: config.DNSRoot}}, Options{ResolvConf: rc})
	if !r.Root() || len(r.servers) != 1 || r.servers[0].addr != ap.Addr().String()+":53" {
		t.Fatalf("root mode servers = %+v, want the resolv.conf server on port 53", r.servers)
	}
	r.servers[0].addr = srv.Resolver
	if _, sec, err := r.LookupMX(context.Background(), "signed.test"); err != nil || !sec {
		t.Fatalf("root mode: %v, secure %v", err, sec)
	}
	if ips, _, err := r.LookupIP(context.Background(), "localhost"); err != nil || len(ips) != 2 {
		t.Errorf("localhost = %v, %v", ips, err)
	}
}

// TestInterface: queries leave from the dnsconfig interface's address.
func TestInterface(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	cfg := localConfig(srv.Resolver)
	cfg.Interfaces = []config.Interface{{Name: "Data1", IPv4: "127.4.251.7"}}
	cfg.DNS.Interface = "Data1"
	r := newResolver(t, cfg, Options{})
	if r.local.String() != "127.4.251.7" {
		t.Fatalf("local address = %v", r.local)
	}
	if _, _, err := r.LookupMX(context.Background(), "signed.test"); err != nil {
		t.Fatalf("from the interface address: %v", err)
	}
	cfg.DNS.Interface = "Data2"
	if _, err := New(cfg, Options{}); err == nil {
		t.Error("an interface that does not exist was accepted")
	}
}

// TestLookupIPOneFamilyFails: a validating resolver answers a forged
// (bogus) A RRset with SERVFAIL while the AAAA RRset validates. That is a
// failed look-up, not an insecure one (RFC 7672 §2.2): LookupIP must fail
// temporarily instead of returning the AAAA addresses as "not secure",
// which would strip DANE. A host with only AAAA records (a clean NODATA
// for A) still resolves, authenticated.
func TestLookupIPOneFamilyFails(t *testing.T) {
	srv := dnstest.Start(t, dnstest.Zone{Origin: "forged.test", Signed: true,
		Records: []string{
			"mx IN A 127.0.0.11",
			"mx IN AAAA ::1:11",
			"v6 IN AAAA ::1:12",
		},
		Forged: map[string]string{"127.0.0.11": "127.0.0.12"},
	})
	r := newResolver(t, localConfig(srv.Resolver), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ips, sec, err := r.LookupIP(ctx, "mx.forged.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTemporary || de.IsNotFound {
		t.Errorf("LookupIP with a bogus A = %v, secure %v, %v; want a temporary error", ips, sec, err)
	}
	if _, err := r.LookupHost(ctx, "mx.forged.test"); err == nil {
		t.Error("LookupHost with a bogus A succeeded")
	}
	ips, sec, err = r.LookupIP(ctx, "v6.forged.test")
	if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("::1:12") || !sec {
		t.Errorf("LookupIP of an AAAA-only host = %v, secure %v, %v; want ::1:12, secure", ips, sec, err)
	}
}
