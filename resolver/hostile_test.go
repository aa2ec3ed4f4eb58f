package resolver

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esash/resolver/dnstest"
)

// TestWrongReplyIsNotAnAnswer: a reply to another question, or the
// question echoed back without the QR bit, is not taken for the answer
// (the forged address is not returned, the echo is not "no such host"):
// the look-up fails, is not cached, and Stats counts one network error.
func TestWrongReplyIsNotAnAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(q *dns.Msg) *dns.Msg
		want  error
	}{
		{"another question", func(q *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Question[0].Name = "other.test."
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "other.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 66)}}
			return m
		}, errOtherQuestion},
		{"an echo", func(q *dns.Msg) *dns.Msg { return q.Copy() }, errNotReply},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			r := newResolver(t, localConfig(dnstest.Hostile(t, tc.reply)), Options{Stats: &st, Timeout: 5 * time.Second})
			ans, err := r.query(context.Background(), "mail.example.test", dns.TypeA)
			var de *net.DNSError
			if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary || !strings.Contains(de.Err, tc.want.Error()) {
				t.Fatalf("query = %+v, %v; want a temporary failure", ans, err)
			}
			if r.Len() != 0 {
				t.Error("the failure was cached")
			}
			want := Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1, NetworkErrors: 1}
			if got := st.Counts(); got != want {
				t.Fatalf("counts %+v, want %+v", got, want)
			}
		})
	}
}

// TestCallerGivesUp: a caller that cancels its context (an SMTP session
// closed, dig interrupted) ends the question it waits on at once, not
// when the server's timeout passes (miekg/dns's exchange heeds only the
// context's deadline, and a cancelled context has none); the request is
// counted once, failed, its network request a timeout: no answer came in
// the time the caller had.
func TestCallerGivesUp(t *testing.T) {
	var st Stats
	asked := make(chan struct{}, 1)
	silent := dnstest.Raw(t, func([]byte) []byte {
		select {
		case asked <- struct{}{}:
		default:
		}
		return nil
	})
	r := newResolver(t, localConfig(silent), Options{Stats: &st, Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.query(ctx, "mail.example.test", dns.TypeA)
		done <- err
	}()
	<-asked // the question is on the wire
	cancel()
	select {
	case err := <-done:
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsTimeout {
			t.Fatalf("query = %v, want a timeout", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the question outlived its caller")
	}
	want := Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1, Timeouts: 1}
	if got := st.Counts(); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}

// TestMalformedReplyCountsOnce: a message that cannot be read, or claims
// records it does not hold, fails the question and is counted once, as a
// network error (one with another ID is not the reply: the question times
// out).
func TestMalformedReplyCountsOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(q []byte) []byte
		want  Counts
	}{
		{"shorter than a header", func(q []byte) []byte { return q[:5] }, Counts{NetworkErrors: 1}},
		{"a header claiming records", func(q []byte) []byte { return []byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 5, 0, 0, 0, 0} }, Counts{NetworkErrors: 1}},
		{"a record pointing past the end", func(q []byte) []byte {
			var m dns.Msg
			if m.Unpack(q) != nil {
				return nil
			}
			m.Response, m.Extra = true, nil
			w, _ := m.Pack()
			w[7] = 1 // one answer: a compression pointer out of the message
			return append(w, 0xc0, 0xff, 0, 1, 0, 1)
		}, Counts{NetworkErrors: 1}},
		// The only case that waits out the timeout: the others must not
		// (a late reply under load would be a timeout).
		{"another ID", func(q []byte) []byte { q[0] ^= 0xff; q[2] |= 0x80; return q }, Counts{Timeouts: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			timeout := 10 * time.Second
			if tc.want.Timeouts > 0 {
				timeout = 300 * time.Millisecond
			}
			r := newResolver(t, localConfig(dnstest.Raw(t, tc.reply)), Options{Stats: &st, Timeout: timeout})
			if ans, err := r.query(context.Background(), "mail.example.test", dns.TypeA); err == nil {
				t.Fatalf("query = %+v, want an error", ans)
			}
			want := add(Counts{Requests: 1, CacheMisses: 1, FailedRequests: 1, NetworkRequests: 1}, tc.want)
			if got := st.Counts(); got != want {
				t.Fatalf("counts %+v, want %+v", got, want)
			}
		})
	}
}

// TestTruncatedWithoutQuestion: a truncated UDP reply that is only a
// header (TC, no question: some servers and middleboxes send that) still
// sends the question over TCP, where the answer is taken.
func TestTruncatedWithoutQuestion(t *testing.T) {
	addr := dnstest.Raw(t, func(q []byte) []byte { return []byte{q[0], q[1], 0x83, 0x80, 0, 0, 0, 0, 0, 0, 0, 0} })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 25)}}
		w.WriteMsg(m)
	})}
	go s.ActivateAndServe()
	t.Cleanup(func() { s.Shutdown() })
	var st Stats
	r := newResolver(t, localConfig(addr), Options{Stats: &st, Timeout: 5 * time.Second})
	ans, err := r.query(context.Background(), "mail.example.test", dns.TypeA)
	if err != nil || len(ans.rrs) != 1 {
		t.Fatalf("query = %+v, %v; want the TCP answer", ans, err)
	}
	if want := (Counts{Requests: 1, CacheMisses: 1, NetworkRequests: 1, Answers: 1}); st.Counts() != want {
		t.Fatalf("counts %+v, want %+v", st.Counts(), want)
	}
}
