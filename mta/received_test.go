package mta

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"esash/mta/queue"
)

// TestReceivedHeader: the Received header, built in one buffer, is the
// one the fmt formula of before wrote, byte for byte, control bytes of
// client-supplied text included.
func TestReceivedHeader(t *testing.T) {
	now := time.Date(2026, 12, 5, 21, 0, 0, 0, time.FixedZone("", 3600))
	tlsInfo := &queue.TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"}
	old := func(helo, host string, ip netip.Addr, by string, t *queue.TLSInfo, mid int64, to []string) string {
		rdns := host
		if rdns == "" {
			rdns = "unknown"
		}
		with := "ESMTP"
		if t != nil {
			with = fmt.Sprintf("ESMTPS (%s:%s)", t.Version, t.Cipher)
		}
		var forClause string
		if len(to) == 1 {
			forClause = " for <" + to[0] + ">"
		}
		return fmt.Sprintf("Received: from %s (%s [%s])\r\n\tby %s with %s id %d%s;\r\n\t%s",
			sanitize(helo), sanitize(rdns), ip, by, with, mid, sanitize(forClause), now.Format(time.RFC1123Z)) + "\r\n"
	}
	for _, tc := range []struct {
		name, helo, host string
		ip               string
		tls              *queue.TLSInfo
		to               []string
	}{
		{"TLS, one recipient, verified name", "client.test", "mail.client.test", "192.0.2.1", tlsInfo, []string{"b@y.test"}},
		{"plain, two recipients, no name", "client.test", "", "192.0.2.1", nil, []string{"b@y.test", "c@y.test"}},
		{"IPv6, control bytes in HELO and recipient", "evil\r\nX-Fake: 1", "", "2001:db8::1", tlsInfo, []string{"b\x01@y.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			s := &session{m: &mconn{ip: ip, host: tc.host, lst: &lrt{hostname: "mx.test.local"}}, mid: 42, to: tc.to}
			got := string(s.received(now, tc.helo, tc.tls))
			if want := old(tc.helo, tc.host, ip, "mx.test.local", tc.tls, 42, tc.to); got != want {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
		})
	}
}
