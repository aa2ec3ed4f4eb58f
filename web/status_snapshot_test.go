package web

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"esash/config"
)

// TestStatusIsOneRevision: the status page labels what it shows with the
// committed head's revision, and showed the configuration the service
// runs. A commit activates the services before it publishes the revision
// (store: readers see a revision only once the services run it), so a
// page served in between showed the new settings under the previous
// revision's number, author and comment. The test serves the page there:
// after the service's activate, before the head moves.
func TestStatusIsOneRevision(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg1 := testConfig(t, ip, p, other)
	var head atomic.Pointer[Revision]
	head.Store(&Revision{Rev: 1, User: "admin", Comment: "first", Config: cfg1})
	srv := newServer(t, cfg1, Options{Revision: func() Revision { return *head.Load() }})
	c := client(t, ip, p.pool())
	if r := login(t, c, "admin", adminPW); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}

	cfg2 := cfg1.Clone()
	cfg2.Destinations.Entries = append(cfg2.Destinations.Entries, config.DestControl{Domain: "added.example", TLS: config.TLSOutRequiredVerify})
	activate, _, err := srv.Prepare(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	activate()
	_, during := get(t, c, "https://esa.test:8443/")
	head.Store(&Revision{Rev: 2, User: "admin", Comment: "second", Config: cfg2})
	_, after := get(t, c, "https://esa.test:8443/")

	for name, body := range map[string]string{"during the commit": during, "after it": after} {
		rev1 := strings.Contains(body, `<td id="revision">1</td>`)
		rev2 := strings.Contains(body, `<td id="revision">2</td>`)
		added := strings.Contains(body, "<td>added.example</td>")
		if rev1 == rev2 || added != rev2 {
			t.Errorf("%s: revision 1 %v, revision 2 %v, the destination committed in revision 2 shown %v: want one revision with its own settings",
				name, rev1, rev2, added)
		}
	}
}
