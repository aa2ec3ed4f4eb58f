package resolver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esash/resolver/dnstest"
)

// silentServer is a DNS server that reads questions and never answers:
// a server that is up but lost, which a resolver can only time out on.
func silentServer(t *testing.T) string {
	return dnstest.Raw(t, func([]byte) []byte { return nil })
}

// add sums two Counts, field by field.
func add(a, b Counts) Counts {
	return Counts{
		Requests: a.Requests + b.Requests, CacheHits: a.CacheHits + b.CacheHits, CacheMisses: a.CacheMisses + b.CacheMisses,
		CacheExpired: a.CacheExpired + b.CacheExpired, FailedRequests: a.FailedRequests + b.FailedRequests,
		NetworkRequests: a.NetworkRequests + b.NetworkRequests, Answers: a.Answers + b.Answers, NXDomain: a.NXDomain + b.NXDomain,
		NoData: a.NoData + b.NoData, ServerFailures: a.ServerFailures + b.ServerFailures, Timeouts: a.Timeouts + b.Timeouts,
		NetworkErrors: a.NetworkErrors + b.NetworkErrors, Authenticated: a.Authenticated + b.Authenticated,
	}
}

// TestStatsCounts: a known sequence of questions, through Unbound
// validating zones NSD serves, dead and silent servers and an unusable
// configuration, all counted in one Stats (as the MTA's resolvers share
// one); each step changes the counts by exactly its own events.
func TestStatsCounts(t *testing.T) {
	srv := dnstest.Start(t, append(zones, dnstest.Zone{Origin: "forged.test", Signed: true,
		Records: []string{"mx IN A 127.0.0.11"}, Forged: map[string]string{"127.0.0.11": "127.0.0.12"}})...)
	var st Stats
	now := time.Now()
	clock := func() time.Time { return now }
	r := newResolver(t, localConfig(srv.Resolver), Options{Stats: &st, Now: clock})
	refused := "127.4.250.250:9" // nothing listens there: the port is unreachable
	fallover := newResolver(t, localConfig(refused, srv.Resolver), Options{Stats: &st})
	silent := newResolver(t, localConfig(silentServer(t)), Options{Stats: &st, Timeout: 300 * time.Millisecond})
	uncounted := newResolver(t, localConfig(srv.Resolver), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mx := func(r *Resolver, name string, wantErr bool) func() error {
		return func() error {
			_, _, err := r.LookupMX(ctx, name)
			if (err != nil) != wantErr {
				return fmt.Errorf("LookupMX(%s): %v, want error %v", name, err, wantErr)
			}
			return nil
		}
	}
	q := func(r *Resolver, name string, qtype uint16, wantErr bool) func() error {
		return func() error {
			_, err := r.query(ctx, name, qtype)
			if (err != nil) != wantErr {
				return fmt.Errorf("query(%s, %s): %v, want error %v", name, dns.TypeToString[qtype], err, wantErr)
			}
			return nil
		}
	}
	var want Counts
	for _, step := range []struct {
		name  string
		do    func() error
		delta Counts
	}{
		{"miss, authenticated", mx(r, "signed.test", false),
			Counts{Requests: 1, CacheMisses: 1, NetworkRequests: 1, Answers: 1, Authenticated: 1}},
		{"hit", mx(r, "signed.test", false), Counts{Requests: 1, CacheHits: 1}},
		{"nxdomain, authenticated denial", mx(r, "nowhere.signed.test", true),
			Counts{Requests: 1, CacheMisses: 1, NetworkRequests: 1, NXDomain: 1, Authenticated: 1}},
		{"nxdomain from the cache", mx(r, "nowhere.signed.test", true), Counts{Requests: 1, CacheHits: 1}},
		{"no data, unsigned", q(r, "mx.plain.test", dns.TypeAAAA, false),
			Counts{Requests: 1, CacheMisses: 1, NetworkRequests: 1, NoData: 1}},
		{"expired", func() error { now = now.Add(10 * time.Minute); return mx(r, "signed.test", false)() },
			Counts{Requests: 1, CacheMisses: 1, CacheExpired: 1, NetworkRequests: 1, Answers: 1, Authenticated: 1}},
		{"bogus answer: SERVFAIL", q(r, "mx.forged.test", dns.TypeA, true),
			Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1, ServerFailures: 1}},
		{"failure is not cached", q(r, "mx.forged.test", dns.TypeA, true),
			Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1, ServerFailures: 1}},
		{"fall over from an unreachable server", mx(fallover, "plain.test", false),
			Counts{Requests: 1, CacheMisses: 1, NetworkRequests: 2, NetworkErrors: 1, Answers: 1}},
		{"a silent server times out", mx(silent, "plain.test", true),
			Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1, Timeouts: 1}},
		{"unusable configuration", mx(Failing(errors.New("no resolv.conf"), &st), "plain.test", true),
			Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1}},
		{"two requests for a host's addresses", func() error { _, _, err := r.LookupIP(ctx, "mx.signed.test"); return err },
			Counts{Requests: 2, CacheMisses: 2, NetworkRequests: 2, Answers: 1, NoData: 1, Authenticated: 2}},
		{"localhost asks nothing", func() error { _, _, err := r.LookupIP(ctx, "localhost"); return err }, Counts{}},
		{"not a domain name", q(r, "bad..name", dns.TypeA, true), Counts{}},
		{"a resolver without Stats", mx(uncounted, "signed.test", false), Counts{}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		want = add(want, step.delta)
		if got := st.Counts(); got != want {
			t.Fatalf("after %q:\n got %+v\nwant %+v", step.name, got, want)
		}
	}
	if (*Stats)(nil).Counts() != (Counts{}) {
		t.Error("a nil Stats has counts")
	}
}

// TestStatsConcurrent: look-ups from many goroutines, hits and misses of
// the same names at once, are each counted once, and every snapshot
// taken meanwhile is whole (requests are hits plus misses, network
// requests the sum of their outcomes). Run with -race.
func TestStatsConcurrent(t *testing.T) {
	srv := dnstest.Start(t, zones...)
	var st Stats
	r := newResolver(t, localConfig(srv.Resolver), Options{Stats: &st})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	names := []string{"signed.test", "plain.test", "nowhere.signed.test", "nowhere.plain.test"}
	const workers, rounds = 8, 20
	done := make(chan struct{})
	torn := make(chan string, 1)
	go func() {
		defer close(torn)
		for {
			c := st.Counts()
			outcomes := c.Answers + c.NXDomain + c.NoData + c.ServerFailures + c.Timeouts + c.NetworkErrors
			if c.Requests != c.CacheHits+c.CacheMisses || c.NetworkRequests != outcomes {
				torn <- fmt.Sprintf("%+v", c)
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				r.LookupMX(ctx, names[(w+i)%len(names)])
			}
		})
	}
	wg.Wait()
	close(done)
	if c, ok := <-torn; ok {
		t.Fatalf("torn snapshot: %s", c)
	}
	c := st.Counts()
	if c.Requests != workers*rounds || c.CacheHits+c.CacheMisses != c.Requests {
		t.Errorf("requests %d = hits %d + misses %d, want %d", c.Requests, c.CacheHits, c.CacheMisses, workers*rounds)
	}
	if c.CacheMisses < int64(len(names)) || c.NetworkRequests != c.CacheMisses || c.FailedRequests != 0 {
		t.Errorf("misses %d, network requests %d, failed %d: want one network request a miss, at least one a name, none failed",
			c.CacheMisses, c.NetworkRequests, c.FailedRequests)
	}
	if c.Answers+c.NXDomain != c.NetworkRequests || c.NoData != 0 {
		t.Errorf("answers %d + NXDOMAIN %d != network requests %d (no data %d)", c.Answers, c.NXDomain, c.NetworkRequests, c.NoData)
	}
}
