package tlsrpt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestPostFollowsNoRedirect: a rua that answers 307/308 must not make us
// send the report again elsewhere: the new address could be plain http
// (the report in clear) or a service on the appliance's own network
// (a POST where the domain's owner chooses, certificate or not). A
// redirect is a failed delivery of the report.
func TestPostFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer target.Close()
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		rua := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/internal", code)
		}))
		err := Post(context.Background(), rua.Client(), rua.URL+"/tlsrpt", []byte("gz"))
		rua.Close()
		if err == nil {
			t.Errorf("status %d: Post reported success", code)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Fatalf("status %d: the redirect was followed to %s (%d requests)", code, target.URL, n)
		}
	}
}

// TestMailtoAddressRefusesControlBytes: the address comes from a DNS
// record and is percent-decoded; it becomes an envelope recipient and a
// To: header, so no control byte or space may survive the decoding.
func TestMailtoAddressRefusesControlBytes(t *testing.T) {
	cases := []struct{ name, uri, want string }{
		{"plain", "mailto:tlsrpt@rpt.test", "tlsrpt@rpt.test"},
		{"encoded at", "mailto:tlsrpt%40rpt.test", "tlsrpt@rpt.test"},
		{"query dropped", "mailto:tlsrpt@rpt.test?subject=x", "tlsrpt@rpt.test"},
		{"NUL", "mailto:a%00b@rpt.test", ""},
		{"tab", "mailto:a%09b@rpt.test", ""},
		{"DEL", "mailto:a%7Fb@rpt.test", ""},
		{"CR", "mailto:a%0Db@rpt.test", ""},
		{"space", "mailto:a%20b@rpt.test", ""},
		{"not mailto", "https://rpt.test/", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MailtoAddress(tc.uri); got != tc.want {
				t.Errorf("MailtoAddress(%q) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}
