package dnsconfig

import (
	"fmt"

	"esash/config"
	"esash/shell"
)

// setup asks SETUP's questions in the reference's order and stages them
// as one change.
func setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	d := cfg.DNS
	def := 1
	if d.Local() {
		def = 2
	}
	mode, err := s.Choose("Do you want to use the Internet's root DNS servers or would you like to use your own DNS servers?",
		[]string{"Use Internet root DNS servers", "Use own DNS cache server(s)"}, def, false)
	if err != nil {
		return err
	}
	switching := mode == 1 && !d.Local()
	if mode == 0 {
		d.Mode, d.Servers = config.DNSRoot, nil
	} else {
		d.Mode = config.DNSLocal
	}
	if d.Interface, err = askInterface(s, cfg, d.Interface); err != nil {
		return err
	}
	if switching {
		sv, err := askLocal(s, d, config.DNSServer{})
		if err != nil {
			return err
		}
		d.Servers = []config.DNSServer{sv}
	}
	if d.ReverseTimeout, err = s.AskInt("Enter the number of seconds to wait before timing out reverse DNS lookups.",
		d.ReverseWait(), 1, config.MaxReverseTimeout); err != nil {
		return err
	}
	if d.MinTTL, err = s.AskInt("Enter the minimum TTL in seconds for DNS cache.",
		min(max(d.MinTTL, 0), config.MaxMinTTL), 0, config.MaxMinTTL); err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.DNS = d
		return nil
	})
}

// askInterface asks the interface DNS traffic leaves from.
func askInterface(s *shell.Session, cfg *config.Config, cur string) (string, error) {
	items, names := []string{"Auto"}, []string{"Auto"}
	def := 1
	for _, in := range cfg.Interfaces {
		items = append(items, fmt.Sprintf("%s (%s/%d: %s)", in.Name, in.IPv4, in.PrefixLen, in.Hostname))
		names = append(names, in.Name)
		if in.Name == cur {
			def = len(names)
		}
	}
	i, err := s.Choose("Choose the IP interface for DNS traffic.", items, def, true)
	if err != nil {
		return cur, err
	}
	return names[i], nil
}
