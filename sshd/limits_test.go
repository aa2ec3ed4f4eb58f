package sshd

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) add(d time.Duration)     { c.t = c.t.Add(d) }
func src(s string) netip.Prefix              { return sourceOf(netip.MustParseAddr(s)) }
func admitN(l *limiter, s string, n int) int { return admitFrom(l, src(s), n) }

func admitFrom(l *limiter, p netip.Prefix, n int) int {
	ok := 0
	for i := 0; i < n; i++ {
		if _, admitted := l.admit(p, func() {}); admitted {
			ok++
		}
	}
	return ok
}

func TestBackoffGrows(t *testing.T) {
	c := &fakeClock{t: testNow}
	l := newLimiter(Limits{SourceFree: 3, SourceBackoff: time.Second, SourceMaxBackoff: 10 * time.Second}, c.now)
	a := src("192.0.2.1")
	var got []time.Duration
	for i := 0; i < 8; i++ {
		got = append(got, l.failSource(a).backoff)
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("back-offs %v, want %v", got, want)
	}
	// A shut-out source is still admitted (its key logins are never
	// delayed), its passwords are not.
	if _, ok := l.admit(a, func() {}); !ok {
		t.Fatal("a shut-out source was refused a connection: key logins would be too")
	}
	if l.allowPassword(a, "admin") {
		t.Fatal("a shut-out source may try passwords")
	}
	c.add(10*time.Second + time.Millisecond)
	if !l.allowPassword(a, "admin") {
		t.Fatal("the source is still shut out after its back-off")
	}
	// Failures are forgotten after a quiet hour.
	c.add(2 * time.Hour)
	if p := l.failSource(a); p.failures != 1 || p.backoff != 0 {
		t.Fatalf("after a quiet hour: %+v", p)
	}
}

func TestAccountLockSparesCleanSources(t *testing.T) {
	c := &fakeClock{t: testNow}
	l := newLimiter(Limits{AccountFree: 2, SourceFree: 100}, c.now)
	bad := src("192.0.2.1")
	for i := 0; i < 3; i++ {
		l.failPassword(bad, "admin")
	}
	if l.allowPassword(bad, "admin") {
		t.Error("a failing source may still guess a locked account's password")
	}
	if !l.allowPassword(bad, "alice") {
		t.Error("another account is locked too")
	}
	if !l.allowPassword(src("192.0.2.2"), "admin") {
		t.Error("a clean source cannot log in to a locked account")
	}
	l.succeed("admin")
	if !l.allowPassword(bad, "admin") {
		t.Error("a successful login does not unlock the account")
	}
}

func TestUnauthenticatedCaps(t *testing.T) {
	c := &fakeClock{t: testNow}
	l := newLimiter(Limits{MaxUnauth: 10, MaxUnauthPerSrc: 4}, c.now)
	if n := admitN(l, "192.0.2.1", 10); n != 4 {
		t.Fatalf("one source: %d admitted, cap 4", n)
	}
	admitN(l, "192.0.2.2", 4)
	if n := admitN(l, "192.0.2.3", 2); n != 2 || l.unauthenticated() != 10 {
		t.Fatalf("%d admitted, %d held", n, l.unauthenticated())
	}
	// Full: a newcomer evicts the oldest connection of the biggest holder.
	killed := make(chan bool, 1)
	l2 := newLimiter(Limits{MaxUnauth: 3, MaxUnauthPerSrc: 3}, c.now)
	l2.admit(src("192.0.2.1"), func() { killed <- true })
	admitN(l2, "192.0.2.1", 2)
	if _, ok := l2.admit(src("192.0.2.9"), func() {}); !ok {
		t.Fatal("a newcomer is refused while one source holds every slot")
	}
	select {
	case <-killed:
	case <-time.After(time.Second):
		t.Fatal("the oldest connection of the biggest holder was not closed")
	}
	// The biggest holder itself gets no more.
	if _, ok := l2.admit(src("192.0.2.1"), func() {}); ok {
		t.Fatal("the biggest holder evicted someone to get in")
	}
	// done frees the slot, once.
	l3 := newLimiter(Limits{MaxUnauth: 1, MaxUnauthPerSrc: 1}, c.now)
	done, _ := l3.admit(src("192.0.2.1"), func() {})
	done()
	done()
	if l3.unauthenticated() != 0 {
		t.Fatalf("%d held after done", l3.unauthenticated())
	}
	// IPv6 sources are /64s.
	if src("2001:db8::1") != src("2001:db8::ffff") || src("2001:db8::1") == src("2001:db8:0:1::1") {
		t.Error("IPv6 sources are not grouped by /64")
	}
}

func TestRecordsBounded(t *testing.T) {
	c := &fakeClock{t: testNow}
	l := newLimiter(Limits{MaxRecords: 100}, c.now)
	for i := 0; i < 10000; i++ {
		c.add(time.Millisecond)
		l.failPassword(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), fmt.Sprintf("user%d", i))
	}
	if len(l.sources) > 100 || len(l.accounts) > 100 {
		t.Fatalf("%d source and %d account records kept, bound 100", len(l.sources), len(l.accounts))
	}
}
