package mta

import (
	"testing"

	"esash/config"
)

// The open-transaction count (Server.transactions) against the orders in
// which go-smtp calls a session. Conn.Close, run by Server.Close from
// another goroutine, logs the session out while the connection's own
// goroutine may still be inside Mail: Mail then returns after Logout. A
// session counted after its Logout is never uncounted (go-smtp drops it),
// and a count left behind makes every later sync of the queue wait its
// whole commit delay.
func TestTransactionCountAfterLogout(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	srv := startMTA(t, t.TempDir(), cfg)
	for _, tc := range []struct {
		name  string
		calls string // M: Mail, R: Reset, L: Logout
	}{
		{"mail then logout", "ML"},
		{"mail then reset", "MR"},
		{"logout while mail runs (Close from another goroutine)", "LM"},
		{"logout, reset, mail", "LRM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.openTransactions()
			s := &session{m: &mconn{srv: srv}}
			for _, c := range tc.calls {
				switch c {
				case 'M':
					if err := s.Mail("a@x.test", nil); err != nil {
						t.Fatal(err)
					}
				case 'R':
					s.Reset()
				case 'L':
					s.Logout()
				}
			}
			if n := srv.openTransactions() - before; n != 0 {
				t.Fatalf("after %s: %d transactions left open, want 0", tc.calls, n)
			}
		})
	}
}
