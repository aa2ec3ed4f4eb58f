package mta

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rptSchemaCheck checks a report against RFC 8460 §4.4's JSON schema
// (the required members and their types, the enumerations) and returns
// it decoded.
func rptSchemaCheck(t *testing.T, js []byte) map[string]any {
	t.Helper()
	var rep map[string]any
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, js)
	}
	str := func(obj map[string]any, k string) string {
		v, ok := obj[k].(string)
		if !ok || v == "" {
			t.Fatalf("%q must be a non-empty string in %v", k, obj)
		}
		return v
	}
	count := func(obj map[string]any, k string) int {
		v, ok := obj[k].(float64)
		if !ok || v < 0 || v != float64(int(v)) {
			t.Fatalf("%q must be a non-negative integer in %v", k, obj)
		}
		return int(v)
	}
	for _, k := range []string{"organization-name", "contact-info", "report-id"} {
		str(rep, k)
	}
	dr, ok := rep["date-range"].(map[string]any)
	if !ok {
		t.Fatalf("no date-range object: %v", rep)
	}
	for _, k := range []string{"start-datetime", "end-datetime"} {
		if _, err := time.Parse(time.RFC3339, str(dr, k)); err != nil {
			t.Fatalf("%s is not an RFC 3339 date-time: %v", k, err)
		}
	}
	pols, ok := rep["policies"].([]any)
	if !ok || len(pols) == 0 {
		t.Fatalf("policies must be a non-empty array: %v", rep)
	}
	types := map[string]bool{"tlsa": true, "sts": true, "no-policy-found": true}
	results := map[string]bool{"starttls-not-supported": true, "certificate-host-mismatch": true, "certificate-expired": true,
		"certificate-not-trusted": true, "validation-failure": true, "tlsa-invalid": true, "dnssec-invalid": true,
		"dane-required": true, "sts-policy-fetch-error": true, "sts-policy-invalid": true, "sts-webpki-invalid": true}
	for _, p := range pols {
		po := p.(map[string]any)
		pol, ok := po["policy"].(map[string]any)
		if !ok {
			t.Fatalf("policy object missing: %v", po)
		}
		if !types[str(pol, "policy-type")] {
			t.Fatalf("policy-type %v not in the RFC's list", pol["policy-type"])
		}
		str(pol, "policy-domain")
		if ps, ok := pol["policy-string"]; ok {
			for _, l := range ps.([]any) {
				if _, ok := l.(string); !ok {
					t.Fatalf("policy-string must hold strings: %v", ps)
				}
			}
		}
		sum, ok := po["summary"].(map[string]any)
		if !ok {
			t.Fatalf("summary missing: %v", po)
		}
		failed := count(sum, "total-failure-session-count")
		count(sum, "total-successful-session-count")
		details := 0
		if fd, ok := po["failure-details"]; ok {
			for _, d := range fd.([]any) {
				do := d.(map[string]any)
				if !results[str(do, "result-type")] {
					t.Fatalf("result-type %v not in the RFC's list", do["result-type"])
				}
				details += count(do, "failed-session-count")
			}
		}
		if details != failed {
			t.Fatalf("failure-details count %d sessions, the summary %d", details, failed)
		}
	}
	return rep
}

// rptFromMail extracts the gzipped JSON of a report message (§5.3).
func rptFromMail(t *testing.T, data string) (string, []byte) {
	t.Helper()
	// The sink stores the message with our Received header first.
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	dom := msg.Header.Get("TLS-Report-Domain")
	if dom == "" || msg.Header.Get("TLS-Report-Submitter") == "" || !strings.HasPrefix(msg.Header.Get("Subject"), "Report Domain: "+dom+" Submitter: ") {
		t.Fatalf("report headers: %v", msg.Header)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no application/tlsrpt+gzip part: %v", err)
		}
		if part.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
			continue
		}
		if _, p, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition")); !strings.HasSuffix(p["filename"], ".json.gz") ||
			!strings.Contains(p["filename"], "!"+dom+"!") {
			t.Fatalf("attachment name %q", p["filename"])
		}
		gz, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, part))
		if err != nil {
			t.Fatal(err)
		}
		return dom, gunzip(t, gz)
	}
}

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// policyOf returns the report's part for the policy type.
func policyOf(t *testing.T, rep map[string]any, typ string) (summary map[string]any, details []any) {
	t.Helper()
	for _, p := range rep["policies"].([]any) {
		po := p.(map[string]any)
		if po["policy"].(map[string]any)["policy-type"] == typ {
			fd, _ := po["failure-details"].([]any)
			return po["summary"].(map[string]any), fd
		}
	}
	t.Fatalf("no %s policy in %v", typ, rep)
	return nil, nil
}

// TestTLSRPTReport: deliveries to good.test (enforced policy, verified:
// one success), wrong.test (enforced policy, certificate for another
// name: one failure) and testing.test (testing policy, verified: one
// success) are reported: good.test's and wrong.test's reports are mailed
// through our own queue to the test mailbox, testing.test's POSTed to its
// https: rua; each is checked against the RFC's schema, with the
// counts of the deliveries made. mail_logs has a line per report.
func TestTLSRPTReport(t *testing.T) {
	w := newSTSWorldRpt(t, map[string]string{
		"good.test":    "v=TLSRPTv1; rua=mailto:tlsrpt@rpt.test",
		"wrong.test":   "v=TLSRPTv1;rua=mailto:tlsrpt@rpt.test",
		"testing.test": "v=TLSRPTv1; rua=https://mta-sts.rpt.test:{port}/tlsrpt",
	})
	s, dir := startOut(t, w.cfg, w.opts, func(o *Options) { o.MTASTS.ReportInterval = time.Hour })
	tst := enqueue(t, s, "a@example.com", "b@testing.test")
	stsWait(t, "delivery to testing.test", func() bool { return sinkHas(w.sink, "b@testing.test") && !inQueue(s, tst) })
	good := enqueue(t, s, "a@example.com", "b@good.test")
	stsWait(t, "delivery to good.test", func() bool { return sinkHas(w.sink, "b@good.test") && !inQueue(s, good) })
	wrong := enqueue(t, s, "a@example.com", "b@wrong.test")
	stsWaitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - TLS verification failed", wrong))

	s.sendReports()
	stsWaitLog(t, dir, "TLS-RPT report")
	defer func() {
		if t.Failed() {
			t.Log(logLines(t, dir))
		}
	}()
	stsWait(t, "two reports in the mailbox", func() bool {
		n := 0
		for _, m := range w.sink.list() {
			if len(m.to) == 1 && m.to[0] == "tlsrpt@rpt.test" {
				n++
			}
		}
		return n == 2
	})
	logs := stsWaitLog(t, dir, "for good.test (1 successful, 0 failed sessions) queued as MID")
	for _, want := range []string{"for wrong.test (0 successful, 1 failed sessions) queued as MID",
		fmt.Sprintf("for testing.test (1 successful, 0 failed sessions) posted to https://mta-sts.rpt.test:%d/tlsrpt", w.ps.port)} {
		if !strings.Contains(logs, want) {
			t.Errorf("mail_logs lacks %q:\n%s", want, logs)
		}
	}
	for _, m := range w.sink.list() {
		if len(m.to) != 1 || m.to[0] != "tlsrpt@rpt.test" {
			continue
		}
		dom, js := rptFromMail(t, m.data)
		rep := rptSchemaCheck(t, js)
		sum, details := policyOf(t, rep, "sts")
		switch dom {
		case "good.test":
			if sum["total-successful-session-count"] != 1.0 || sum["total-failure-session-count"] != 0.0 {
				t.Errorf("good.test summary %v", sum)
			}
		case "wrong.test":
			if sum["total-successful-session-count"] != 0.0 || sum["total-failure-session-count"] != 1.0 || len(details) != 1 {
				t.Fatalf("wrong.test summary %v, details %v", sum, details)
			}
			d := details[0].(map[string]any)
			if d["result-type"] != "certificate-host-mismatch" || d["receiving-mx-hostname"] != "mx.wrong.test" ||
				d["receiving-ip"] != w.sink.addr || d["sending-mta-ip"] != w.cfg.Interfaces[0].IPv4 {
				t.Errorf("wrong.test failure detail %v", d)
			}
		default:
			t.Errorf("a report for %s", dom)
		}
	}
	w.ps.mu.Lock()
	posts := w.ps.posts
	w.ps.mu.Unlock()
	if len(posts) != 1 || posts[0].ctype != "application/tlsrpt+gzip" {
		t.Fatalf("posted reports: %d %+v", len(posts), posts)
	}
	rep := rptSchemaCheck(t, gunzip(t, posts[0].body))
	if sum, _ := policyOf(t, rep, "sts"); sum["total-successful-session-count"] != 1.0 || sum["total-failure-session-count"] != 0.0 {
		t.Errorf("posted testing.test summary %v", sum)
	}
	if pol := rep["policies"].([]any)[0].(map[string]any)["policy"].(map[string]any); pol["policy-domain"] != "testing.test" ||
		fmt.Sprint(pol["policy-string"]) != "[version: STSv1 mode: testing mx: other.testing.test max_age: 86400]" {
		t.Errorf("posted policy %v", pol)
	}
}

// TestTLSRPTPendingAndLoop: the counts of a period in progress survive a
// restart (DATA/tlsrpt/pending.json), and the report loop sends them at
// the configured interval.
func TestTLSRPTPendingAndLoop(t *testing.T) {
	w := newSTSWorldRpt(t, map[string]string{"good.test": "v=TLSRPTv1; rua=mailto:tlsrpt@rpt.test"})
	dir := t.TempDir()
	opts := func(interval time.Duration) func(*Options) {
		return func(o *Options) {
			o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour}
			w.opts(o)
			o.MTASTS.ReportInterval = interval
		}
	}
	s := startMTA(t, dir, w.cfg, opts(time.Hour))
	good := enqueue(t, s, "a@example.com", "b@good.test")
	stsWait(t, "delivery to good.test", func() bool { return sinkHas(w.sink, "b@good.test") && !inQueue(s, good) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.Close(ctx)
	cancel()
	if _, err := os.Stat(filepath.Join(dir, "tlsrpt", "pending.json")); err != nil {
		t.Fatalf("the period in progress was not saved: %v", err)
	}

	s = startMTA(t, dir, w.cfg, opts(200*time.Millisecond))
	stsWaitLog(t, dir, "for good.test (1 successful, 0 failed sessions) queued as MID")
	stsWait(t, "the report in the mailbox", func() bool { return sinkHas(w.sink, "tlsrpt@rpt.test") })
}

// The fetch guard (fetchguard.go): a remote domain whose MTA-STS host and
// https: rua resolve to loopback (this test's policy server) gets no
// request from the appliance. The policy fetch is refused, so no policy:
// wrong.test, whose enforced policy would defer its mail, is delivered
// under "Preferred" TLS as a domain without MTA-STS. The report to
// testing.test's https: rua is not sent. Both are logged with the
// address; the policy server saw no connection at all.
func TestFetchGuardRefusesPrivateAddresses(t *testing.T) {
	w := newSTSWorldRpt(t, map[string]string{"testing.test": "v=TLSRPTv1; rua=https://mta-sts.rpt.test:{port}/tlsrpt"})
	s, dir := startOut(t, w.cfg, w.opts, func(o *Options) {
		o.MTASTS.AllowPrivate = false
		o.MTASTS.ReportInterval = time.Hour
	})
	wrong := enqueue(t, s, "a@example.com", "b@wrong.test")
	stsWait(t, "delivery to wrong.test", func() bool { return sinkHas(w.sink, "b@wrong.test") && !inQueue(s, wrong) })
	if l := stsWaitLog(t, dir, "MTA-STS policy of wrong.test not fetched"); !strings.Contains(l, "mta-sts.wrong.test resolves to "+w.ps.ip+": not a public address") {
		t.Errorf("the refused fetch does not name the address:\n%s", l)
	}
	tst := enqueue(t, s, "a@example.com", "b@testing.test")
	stsWait(t, "delivery to testing.test", func() bool { return sinkHas(w.sink, "b@testing.test") && !inQueue(s, tst) })
	s.sendReports()
	logs := stsWaitLog(t, dir, fmt.Sprintf("not sent to https://mta-sts.rpt.test:%d/tlsrpt", w.ps.port))
	if !strings.Contains(logs, "mta-sts.rpt.test resolves to "+w.ps.ip+": not a public address") {
		t.Errorf("the refused report does not name the address:\n%s", logs)
	}
	if n := w.ps.requests.Load(); n != 0 {
		t.Errorf("the policy server got %d requests from behind the guard", n)
	}
}
