package resolver

import (
	"context"
	"errors"
	"net"

	"esash/config"
)

// Dial connects to addr (host:port) as d would, but resolves host through
// cfg's dnsconfig resolver instead of the system's: for the commands that
// connect out (the LDAP server test), so that every name the appliance
// resolves goes to the servers dnsconfig names.
func Dial(ctx context.Context, cfg *config.Config, d *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	r, err := New(cfg, Options{})
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	ips, _, err := r.LookupIP(ctx, host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var errs []error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
