package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"esash/mtasts"
	"esash/web/webtest"
)

// TestMTASTSPublishDaemon: on a real `esash serve`, the administrator
// assigns a certificate valid for mta-sts.example.com to HTTPS and
// publishes a policy with mtastsconfig; the sending side's fetcher (package
// mtasts, trusting the test root as a custom CA) gets it over TLS and parses
// the configured policy; a host that is not configured gets 404; the
// requests are in gui_logs.
func TestMTASTSPublishDaemon(t *testing.T) {
	a := newWebAppliance(t)
	p := webtest.NewPKI(t, "Web", "esa.test", "mta-sts.example.com", "mta-sts.other.example")
	if err := os.WriteFile(filepath.Join(a.dir, "configuration", "webroot.pem"), []byte(p.RootPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := a.console(assignScript(p, "")); code != 0 || !strings.Contains(out, "Changes committed") {
		t.Fatalf("assigning the certificate: status %d\n%s", code, out)
	}
	out, code := a.console("mtastsconfig\nsetup\ny\nexample.com\nenforce\nmail.example.com, *.mx.example.com\n\n\n" +
		"commit\npublish MTA-STS\nY\n")
	if code != 0 || !strings.Contains(out, "Changes committed") || !strings.Contains(out, `_mta-sts.example.com. IN TXT "v=STSv1; id=`) {
		t.Fatalf("mtastsconfig: status %d\n%s", code, out)
	}
	f := mtasts.Fetcher{Roots: p.Pool(), Port: 8443, Timeout: 30 * time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(a.ip, port))
		}}
	got, err := f.Fetch(context.Background(), "example.com")
	want := mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mail.example.com", "*.mx.example.com"}, MaxAge: 604800}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Fetch(example.com) = %+v, %v; want %+v", got, err, want)
	}
	if _, err := f.Fetch(context.Background(), "other.example"); err == nil || !strings.Contains(err.Error(), "HTTP status 404") {
		t.Errorf("Fetch(other.example) = %v, want HTTP status 404", err)
	}
	logs, code := a.console("grep -e mta-sts.txt gui_logs\n")
	for _, want := range []string{"Req GET /.well-known/mta-sts.txt from 127.", ": 200", ": 404"} {
		if code != 0 || !strings.Contains(logs, want) {
			t.Errorf("gui_logs lacks %q:\n%s", want, logs)
		}
	}
}
