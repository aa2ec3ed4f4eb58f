package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"esash/config"
	"esash/sshd"
	"esash/store"
)

// setup prepares an esash data directory for a benchmark: the factory
// configuration with the Management interface on -ip, the given
// certificate as the listener's profile, and the listener's TLS policy
// and limits opened up for load (as Postfix's anvil limits are for the
// comparison). With -relay it routes the load's domain to a sink with
// destination TLS Required (the relay cells of bench.sh); without, to
// /dev/null (smtproutes' discard), as Postfix's discard transport in the
// inbound cells: the message is queued durably, then dropped. (bench.test
// has no MX: by DNS each message would bounce, and the inbound cells
// would measure a DSN queued, read back and bounced again per message.)
// It also makes the SSH host keys, as a first start would.
func setup(args []string) int {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	data := fs.String("data", "", "esash data directory")
	ip := fs.String("ip", "127.0.0.1", "Management interface address")
	certFile := fs.String("cert", "", "certificate PEM (leaf first, intermediates after)")
	keyFile := fs.String("key", "", "private key PEM")
	tlsIn := fs.String("tls", "required", "off, preferred or required")
	relay := fs.String("relay", "", "HOST:PORT: route bench.test there, destination TLS Required (the relay cells)")
	fs.Parse(args)
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "smtpload setup:", err); return 1 }
	certPEM, err := os.ReadFile(*certFile)
	if err != nil {
		return fail(err)
	}
	keyPEM, err := os.ReadFile(*keyFile)
	if err != nil {
		return fail(err)
	}
	route := config.RouteHost{Host: config.RouteDiscard}
	if *relay != "" {
		h, p, err := net.SplitHostPort(*relay)
		port, perr := strconv.Atoi(p)
		if err != nil || perr != nil {
			return fail(fmt.Errorf("-relay %q: want HOST:PORT", *relay))
		}
		route = config.RouteHost{Host: h, Port: port}
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fail(err)
	}
	cert := config.Certificate{Name: "Demo", CertPEM: string(certPEM), KeyPEM: string(keyPEM)}
	db, err := store.Open(filepath.Join(*data, "config.db"), store.Options{Factory: func() (*config.Config, error) {
		c := config.Factory(cert)
		c.Interfaces[0].IPv4 = *ip
		return c, nil
	}})
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	d := store.NewDraft(db, "admin", "bench")
	err = d.Update(func(c *config.Config) error {
		benchConfig(c, *ip, cert, config.TLSIn(*tlsIn), route, *relay != "")
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if _, err := d.Commit(context.Background(), "benchmark setup", false, nil); err != nil && !isNoChanges(err) {
		return fail(err)
	}
	// The SSH host keys a first start generates in the background: an
	// RSA key is up to a second of CPU on the server's core, inside the
	// first cell's measurement when the daemon makes it.
	if _, err := sshd.HostKeys(*data); err != nil {
		return fail(err)
	}
	return 0
}

// benchConfig opens c up for load: the Management interface on ip, cert
// as the listener's profile, its TLS policy tlsIn, the limits raised, the
// load's domain routed to route (relay: with destination TLS Required).
func benchConfig(c *config.Config, ip string, cert config.Certificate, tlsIn config.TLSIn, route config.RouteHost, relay bool) {
	c.Interfaces[0].IPv4 = ip
	c.Interfaces[0].Hostname = "mx.bench.test"
	for i := range c.Certificates {
		if c.Certificates[i].Name == "Demo" {
			c.Certificates[i] = cert
		}
	}
	// The idle cell holds 1000 connections over STARTTLS: above the
	// factory's global limits (300 connections, 100 with TLS),
	// which esash enforces (454 to STARTTLS past the TLS one), as
	// Postfix's are raised by perf-anchors' settings.
	c.ListenSetup.MaxConcurrency = 2000
	c.ListenSetup.MaxTLSConcurrency = 2000
	l := &c.Listeners[0]
	l.MaxConnections = 2000
	l.DefaultPolicy.TLS = tlsIn
	l.DefaultPolicy.MaxConcurrency = 1000
	l.DefaultPolicy.MaxMsgsPerConn = 100000
	// The load's recipients (sink@bench.test) are accepted by a RAT
	// entry, as Postfix's relay_domains accepts them: the factory
	// table refuses every recipient.
	l.AcceptDomains = []string{"bench.test"}
	for i := range l.Policies {
		p := &l.Policies[i]
		p.Params.MaxConcurrency, p.Params.MaxMsgsPerConn, p.Params.RateLimit = 0, 0, ""
	}
	c.Routes = []config.Route{{Domain: "bench.test", Hosts: []config.RouteHost{route}}}
	if relay {
		// The relay cells: bench.test goes to the sink over TLS
		// (Required, not verified: the sink's certificate is
		// self-signed), as Postfix's smtp_tls_security_level =
		// encrypt. The destination's other controls keep their
		// factory values (500 connections, 50 messages per
		// connection): the limits stay applied.
		c.Destinations.Entries = []config.DestControl{{Domain: "bench.test", TLS: config.TLSOutRequired}}
	}
}

func isNoChanges(err error) bool { return errors.Is(err, store.ErrNoChanges) }
