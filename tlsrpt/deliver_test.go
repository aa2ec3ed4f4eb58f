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
