package mta

import (
	"regexp"
	"strings"
	"testing"

	"esash/config"
)

// TestDeliverTLSLogLines: what mail_logs says about outbound TLS, line by
// line. "TLS success" is written only for a session that passed the
// policy's checks (the seed guide counts successful TLS sessions by it);
// a Preferred destination without STARTTLS has no TLS line at all
// (Cisco: "If a message does not have an associated TLS entry in the log
// file, that message was not delivered over a TLS connection"); a 454
// answer to STARTTLS is logged in the seed guide's two lines.
func TestDeliverTLSLogLines(t *testing.T) {
	p := newPKI(t)
	wrong := p.leaf(t, "sink", "other.example")
	noTLS := func(t *testing.T) (string, int) {
		d := startDumpSink(t, sinkIP())
		return d.addr, d.port
	}
	withCert := func(t *testing.T) (string, int) {
		g := startGoSink(t, &wrong)
		return g.addr, g.port
	}
	refuses := func(t *testing.T) (string, int) {
		r := startRawSink(t, func(r *rawSink) {
			r.offerTLS, r.starttlsResp = true, "454 TLS not available due to temporary reason"
		})
		return r.addr, r.port
	}
	for _, tc := range []struct {
		name    string
		mode    config.TLSOut
		peer    func(*testing.T) (string, int)
		until   string   // waited for
		want    []string // regular expressions, in mail_logs
		notWant []string
	}{
		{"Required - Verify, wrong name", config.TLSOutRequiredVerify, withCert, "Delayed: DCID 1",
			[]string{`DCID 1 TLS failed: verify error: certificate name mismatch`, `DCID 1 IP \S+ TLS was required but could not be successfully negotiated`},
			[]string{`TLS success`}},
		{"Preferred - Verify, wrong name", config.TLSOutPreferredVerify, withCert, "Message done DCID 1",
			[]string{`DCID 1 TLS failed: verify error: certificate name mismatch: .*; delivering over TLS without verification \(protocol TLSv1.3 cipher TLS_\S+\)`},
			[]string{`TLS success`}},
		{"Preferred, no STARTTLS offered", config.TLSOutPreferred, noTLS, "Message done DCID 1",
			nil, []string{`DCID 1 TLS`}},
		{"Required, no STARTTLS offered", config.TLSOutRequired, noTLS, "Delayed: DCID 1",
			[]string{`DCID 1 TLS failed: STARTTLS not offered`, `TLS was required but could not be successfully negotiated`},
			[]string{`TLS success`}},
		{"Preferred, 454 to STARTTLS", config.TLSOutPreferred, refuses, "Message done DCID 1",
			[]string{`Connection Error: DCID 1 domain: sink.test IP: \S+ port: \d+ details: 454-'TLS not available due to temporary reason' interface: \S+ reason: unexpected SMTP response`,
				`DCID 1 TLS failed: STARTTLS unexpected response`},
			[]string{`TLS success`, `command rejected`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ip, port := tc.peer(t)
			cfg := outCfg(t, p, tc.mode, map[string]string{"sink.test": hp(ip, port)})
			s, dir := startOut(t, cfg)
			enqueue(t, s, "a@example.com", "b@sink.test")
			l := waitLog(t, dir, tc.until)
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(l) {
					t.Errorf("mail_logs lacks %s:\n%s", w, l)
				}
			}
			for _, w := range tc.notWant {
				if regexp.MustCompile(w).MatchString(l) {
					t.Errorf("mail_logs has %s:\n%s", w, l)
				}
			}
			if i, j := strings.Index(l, "TLS failed"), strings.Index(l, "TLS success"); i >= 0 && j >= 0 && j < i {
				t.Errorf("TLS success before TLS failed:\n%s", l)
			}
		})
	}
}
