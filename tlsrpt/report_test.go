package tlsrpt

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	r := NewRecorder(t0)
	sts := Policy{Type: PolicySTS, Domain: "a.test", String: []string{"version: STSv1", "mode: enforce"}, MX: []string{"mx.a.test"}}
	r.Record(Session{Policy: sts})
	r.Record(Session{Policy: sts})
	r.Record(Session{Policy: sts, Result: CertificateHostMismatch, SendingIP: "192.0.2.1", MXHost: "mx.a.test", ReceivingIP: "198.51.100.1"})
	r.Record(Session{Policy: sts, Result: CertificateHostMismatch, SendingIP: "192.0.2.1", MXHost: "mx.a.test", ReceivingIP: "198.51.100.1"})
	r.Record(Session{Policy: Policy{Type: PolicyNotFound, Domain: "a.test"}, Result: StartTLSNotSupported})
	r.Record(Session{Policy: Policy{Type: PolicyNotFound, Domain: "b.test"}})
	p := r.Take(t0.Add(24 * time.Hour))
	if len(p.Domains) != 2 || len(p.Domains["a.test"]) != 2 {
		t.Fatalf("period %+v", p)
	}
	a := p.Domains["a.test"]
	if a[0].Policy.Type != PolicyNotFound || a[0].Summary != (Summary{0, 1}) {
		t.Errorf("a.test no-policy-found part %+v", a[0])
	}
	if a[1].Summary != (Summary{2, 2}) || len(a[1].FailureDetails) != 1 || a[1].FailureDetails[0].Count != 2 {
		t.Errorf("a.test sts part %+v", a[1])
	}
	if next := r.Take(t0.Add(48 * time.Hour)); len(next.Domains) != 0 || !next.Start.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("the next period %+v", next)
	}
	// A saved period comes back.
	b, _ := json.Marshal(p)
	var saved Period
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	r2 := NewRecorder(t0.Add(time.Hour))
	r2.Restore(saved)
	if back := r2.Take(t0.Add(2 * time.Hour)); !reflect.DeepEqual(back.Domains, p.Domains) || !back.Start.Equal(t0) {
		t.Errorf("restored %+v, want %+v", back, p)
	}
}

func TestRecorderBounds(t *testing.T) {
	r := NewRecorder(time.Now())
	for i := range MaxDetails + 10 {
		r.Record(Session{Policy: Policy{Type: PolicySTS, Domain: "a.test"}, Result: ValidationFailure, ReceivingIP: strings.Repeat("x", i)})
	}
	p := r.Take(time.Now())
	if pr := p.Domains["a.test"][0]; len(pr.FailureDetails) != MaxDetails || pr.Summary.Failed != MaxDetails+10 {
		t.Errorf("%d details, %d failed", len(pr.FailureDetails), pr.Summary.Failed)
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		want    []string
	}{
		{name: "RFC example", records: []string{"v=TLSRPTv1;rua=mailto:reports@example.com"}, want: []string{"mailto:reports@example.com"}},
		{name: "two URIs, spaces", records: []string{"v=TLSRPTv1; rua=mailto:a@x.test, https://r.x.test/v1"}, want: []string{"mailto:a@x.test", "https://r.x.test/v1"}},
		{name: "other schemes ignored", records: []string{"v=TLSRPTv1; rua=http://r.x.test/,mailto:a@x.test"}, want: []string{"mailto:a@x.test"}},
		{name: "other records", records: []string{"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@x.test"}, want: []string{"mailto:a@x.test"}},
		{name: "none", records: []string{"v=spf1 -all"}},
		{name: "two", records: []string{"v=TLSRPTv1; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test"}},
		{name: "no rua", records: []string{"v=TLSRPTv1;"}},
		{name: "bad version", records: []string{"v=TLSRPTv10; rua=mailto:a@x.test"}},
		// Another version's record is discarded (§3), not an invalid one.
		{name: "other version discarded", records: []string{"v=TLSRPTv10; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test"},
			want: []string{"mailto:b@x.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRecord(tc.records)
			if tc.want == nil {
				if !errors.Is(err, ErrNoRecord) {
					t.Fatalf("ParseRecord = %v, %v; want ErrNoRecord", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseRecord = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestMailtoAddress(t *testing.T) {
	for in, want := range map[string]string{
		"mailto:a@x.test":             "a@x.test",
		"mailto:a%2Bb@x.test?subject": "a+b@x.test",
		"mailto:nobody":               "",
		"https://x.test/":             "",
		"mailto:a@x.test%0D%0AX: y":   "",
	} {
		if got := MailtoAddress(in); got != want {
			t.Errorf("MailtoAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRestoreAddsToCurrentCounts: a period put back while sessions of the
// same policy were recorded meanwhile (a report run stopped by shutdown,
// mta/tlsrpt.go) adds its counts to theirs instead of being dropped.
func TestRestoreAddsToCurrentCounts(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	r := NewRecorder(t0)
	sts := Policy{Type: PolicySTS, Domain: "a.test", String: []string{"version: STSv1", "mode: enforce"}, MX: []string{"mx.a.test"}}
	fail := Session{Policy: sts, Result: CertificateExpired, SendingIP: "192.0.2.1", MXHost: "mx.a.test", ReceivingIP: "198.51.100.1"}
	r.Record(Session{Policy: sts})
	r.Record(fail)
	p := r.Take(t0.Add(time.Hour))
	r.Record(Session{Policy: sts})
	r.Record(fail)
	r.Record(Session{Policy: sts, Result: StartTLSNotSupported, MXHost: "mx.a.test"})
	r.Restore(p)
	got := r.Take(t0.Add(2 * time.Hour))
	parts := got.Domains["a.test"]
	if len(parts) != 1 || parts[0].Summary != (Summary{2, 3}) || len(parts[0].FailureDetails) != 2 {
		t.Fatalf("merged period %+v", got)
	}
	for _, d := range parts[0].FailureDetails {
		if want := map[string]int{CertificateExpired: 2, StartTLSNotSupported: 1}[d.ResultType]; d.Count != want {
			t.Errorf("detail %+v: count %d, want %d", d, d.Count, want)
		}
	}
	if !got.Start.Equal(t0) {
		t.Errorf("period start %v, want the restored one's %v", got.Start, t0)
	}
}

// TestRecordBoundsInfo: a failure's additional-information comes from the
// peer (a certificate's names in a host mismatch: thousands of them in a
// crafted one); what is kept and reported per row is bounded.
func TestRecordBoundsInfo(t *testing.T) {
	r := NewRecorder(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	huge := "x509: certificate is valid for " + strings.Repeat("a.evil.test, ", 100000) + "not mx.evil.test"
	r.Record(Session{Policy: Policy{Type: PolicyNotFound, Domain: "evil.test"}, Result: CertificateHostMismatch,
		MXHost: "mx.evil.test", Info: huge})
	p := r.Take(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	d := p.Domains["evil.test"][0].FailureDetails[0]
	if len(d.Info) > MaxInfo || !strings.HasPrefix(huge, strings.TrimSuffix(d.Info, "...")) {
		t.Fatalf("additional-information of %d bytes kept (max %d): %.80q", len(d.Info), MaxInfo, d.Info)
	}
}

// TestParseRecordBoundsRUA: each rua is one report message or POST a
// day; a record naming hundreds of third-party addresses must not turn
// the appliance into their mailer: the first MaxRUA are used.
func TestParseRecordBoundsRUA(t *testing.T) {
	var uris []string
	for i := range 200 {
		uris = append(uris, "mailto:victim"+strings.Repeat("x", i%3)+"@other"+string(rune('a'+i%26))+".test")
	}
	rua, err := ParseRecord([]string{"v=TLSRPTv1; rua=" + strings.Join(uris, ",")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rua) != MaxRUA || rua[0] != uris[0] {
		t.Fatalf("%d rua used (max %d): %v", len(rua), MaxRUA, rua)
	}
}
