package mta

import (
	"net/netip"

	"esash/config"
)

// decision is what the host access table decided for one connection.
type decision struct {
	Group  string // sender group, "None" when nothing matched (AsyncOS: "SG None")
	Rule   string // the host entry that matched, as the log names it
	Policy string // mail flow policy name; "" = none matched
	Action config.Action
	Params config.HATParams // effective: the policy's values over the listener defaults
}

// hatMatcher matches a connecting host against a listener's sender groups.
type hatMatcher interface {
	Match(ip netip.Addr, verifiedHost string) decision
}

// hat adapts config's matcher (the table's semantics live there, shared
// with listenerconfig) and names the entry that matched for mail_logs.
type hat struct {
	m *config.HATMatcher
}

func newHAT(l config.Listener) hat { return hat{m: config.NewHATMatcher(l)} }

func (h hat) Match(ip netip.Addr, verifiedHost string) decision {
	g, p, params := h.m.Match(ip, verifiedHost)
	d := decision{Group: g.Name, Policy: p.Name, Action: p.Action, Params: *params, Rule: "none"}
	if g.Name == "" {
		d.Group = "None"
		return d
	}
	for _, raw := range g.Hosts {
		if hp, err := config.ParseHostPattern(raw); err == nil && hp.Contains(ip, verifiedHost) {
			d.Rule = raw
			break
		}
	}
	return d
}
