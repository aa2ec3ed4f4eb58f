package mta

import "esash/config"

// useDNS makes addr (ip:port) cfg's only DNS server (dnsconfig's own
// servers).
func useDNS(cfg *config.Config, addr string) {
	cfg.DNS.Mode = config.DNSLocal
	cfg.DNS.Servers = []config.DNSServer{{Address: addr}}
}
