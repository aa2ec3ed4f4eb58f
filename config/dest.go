package config

import "strings"

// Destination controls (destconfig): the names AsyncOS gives the values of
// each setting, the effective entry for a domain, and the index the MTA
// builds once per configuration to find it for every message.

// DefaultDomain is the key of the DEFAULT entry.
const DefaultDomain = "DEFAULT"

// TLSOutChoices are the outbound TLS settings in destconfig's numbered list.
var TLSOutChoices = []TLSOut{TLSOutNo, TLSOutPreferred, TLSOutRequired, TLSOutPreferredVerify, TLSOutRequiredVerify}

// Label is the setting as the CLI lists it: "Preferred - Verify".
func (t TLSOut) Label() string {
	switch t {
	case TLSOutDefault:
		return "Default"
	case TLSOutNo:
		return "No"
	case TLSOutPreferred:
		return "Preferred"
	case TLSOutRequired:
		return "Required"
	case TLSOutPreferredVerify:
		return "Preferred - Verify"
	case TLSOutRequiredVerify:
		return "Required - Verify"
	}
	return string(t)
}

// On reports a setting that negotiates TLS.
func (t TLSOut) On() bool { return t != TLSOutDefault && t != TLSOutNo }

// Required reports a setting under which no mail goes in clear.
func (t TLSOut) Required() bool { return t == TLSOutRequired || t == TLSOutRequiredVerify }

// Verify reports a setting that verifies the peer's certificate.
func (t TLSOut) Verify() bool { return t == TLSOutPreferredVerify || t == TLSOutRequiredVerify }

// DANE settings of a destination.
const (
	DANEOff           = "off"
	DANEOpportunistic = "opportunistic"
	DANEMandatory     = "mandatory"
)

// DANEChoices are the DANE settings in destconfig's numbered list.
var DANEChoices = []string{DANEOff, DANEOpportunistic, DANEMandatory}

// DANELabel is a DANE setting as the CLI lists it.
func DANELabel(v string) string {
	switch v {
	case DANEOff:
		return "No"
	case DANEOpportunistic:
		return "Opportunistic"
	case DANEMandatory:
		return "Mandatory"
	case "":
		return "Default"
	}
	return v
}

// Limit scopes (limit_type) and enforcement (limit_apply).
const (
	LimitPerDomain = "host" // one limit for the whole domain
	LimitPerMXIP   = "MXIP" // a limit for each mail exchanger IP address
	LimitSystem    = "system"
	LimitPerVG     = "VG" // per Virtual Gateway
)

// IP sort preferences (ip_sort_pref), in destconfig's list order.
const (
	IPPreferV4  = "PREFER_V4"
	IPPreferV6  = "PREFER_V6"
	IPRequireV4 = "REQUIRE_V4"
	IPRequireV6 = "REQUIRE_V6"
)

// IPSortChoices are the IP sort preferences in destconfig's list order.
var IPSortChoices = []string{IPPreferV4, IPPreferV6, IPRequireV4, IPRequireV6}

// IPSortLabel is an IP sort preference as the CLI lists it.
func IPSortLabel(v string) string {
	switch v {
	case IPPreferV4:
		return "Prefer IPv4"
	case IPPreferV6:
		return "Prefer IPv6"
	case IPRequireV4:
		return "Require IPv4"
	case IPRequireV6:
		return "Require IPv6"
	case "":
		return "Default"
	}
	return v
}

// Bounce verification tagging values (bounce_validation).
const (
	BounceVerifyOn  OnOff = On
	BounceVerifyOff OnOff = Off
)

// DefaultBounceProfile is the bounce profile every appliance has.
const DefaultBounceProfile = "Default"

// NormalizeDomain is the form destination and route domains are stored and
// looked up in: lower case, without a trailing dot. It allocates only when
// it changes something.
func NormalizeDomain(d string) string {
	d = strings.TrimRight(d, ".")
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

// CheckDestDomain validates a destination or route domain as destconfig
// takes it: a domain, or .domain for every subdomain of it.
func CheckDestDomain(d string) string {
	if d == "" {
		return "You must enter a domain."
	}
	if strings.EqualFold(d, DefaultDomain) || strings.EqualFold(d, "ALL") {
		return "The value must be a domain name; " + d + " is a reserved name."
	}
	return CheckDomain(d)
}

// Inherit fills the fields e leaves to the default (zero values) from def.
// The domain stays e's.
func (e DestControl) Inherit(def DestControl) DestControl {
	if e.MaxConcurrency == 0 {
		e.MaxConcurrency = def.MaxConcurrency
	}
	if e.RecipientLimit == 0 {
		e.RecipientLimit, e.RecipientMinutes = def.RecipientLimit, def.RecipientMinutes
	} else if e.RecipientMinutes == 0 {
		e.RecipientMinutes = def.RecipientMinutes
	}
	if e.RecipientLimit != 0 && e.RecipientMinutes == 0 {
		e.RecipientMinutes = 60
	}
	if e.LimitType == "" {
		e.LimitType = def.LimitType
	}
	if e.LimitApply == "" {
		e.LimitApply = def.LimitApply
	}
	if e.MaxMsgsPerConn == 0 {
		e.MaxMsgsPerConn = def.MaxMsgsPerConn
	}
	if e.TLS == TLSOutDefault {
		e.TLS = def.TLS
	}
	if e.DANE == "" {
		e.DANE = def.DANE
	}
	if !e.TLS.On() {
		e.DANE = DANEOff // DANE only means something over TLS
	}
	e.BounceVerify = e.BounceVerify.Or(def.BounceVerify)
	if e.BounceProfile == "" {
		e.BounceProfile = def.BounceProfile
	}
	if e.IPSort == "" {
		e.IPSort = def.IPSort
	}
	return e
}

// Find returns the index of the entry for exactly domain (normalized), or -1.
func (d *Destinations) Find(domain string) int {
	domain = NormalizeDomain(domain)
	for i := range d.Entries {
		if d.Entries[i].Domain == domain {
			return i
		}
	}
	return -1
}

// Match returns the index of the entry that governs mail to domain: the
// entry for exactly that domain, else the .parent entry nearest to it, else
// -1 for the DEFAULT entry. It scans the table: build a DestIndex to look up
// many domains.
func (d *Destinations) Match(domain string) int {
	domain = NormalizeDomain(domain)
	best, bestLen := -1, 0
	for i := range d.Entries {
		k := d.Entries[i].Domain
		switch {
		case k == domain:
			return i
		case len(k) > bestLen && k[0] == '.' && strings.HasSuffix(domain, k):
			best, bestLen = i, len(k)
		}
	}
	return best
}

// Lookup returns the effective destination controls for mail to domain:
// the entry Match finds with every field it leaves to the default filled
// from the DEFAULT entry. Domain names the entry used ("DEFAULT" when none
// matched). For repeated lookups build a DestIndex once.
func (d *Destinations) Lookup(domain string) DestControl {
	def := d.Default
	def.Domain = DefaultDomain
	i := d.Match(domain)
	if i < 0 {
		return def.Inherit(DestControl{})
	}
	return d.Entries[i].Inherit(def)
}

// DestIndex finds the effective destination controls for a domain in time
// independent of the size of the table. Build it once per configuration
// (NewDestIndex); it is read-only afterwards and safe for concurrent use.
type DestIndex struct {
	def   DestControl
	exact map[string]int32 // domain -> position in eff
	sub   map[string]int32 // ".parent" -> position in eff
	eff   []DestControl    // entries with inherited fields filled
}

// NewDestIndex indexes d. Entries are expected to be normalized (the
// commit check refuses duplicates); of two entries with one name the first
// wins.
func NewDestIndex(d *Destinations) *DestIndex {
	x := &DestIndex{
		exact: make(map[string]int32, len(d.Entries)),
		sub:   make(map[string]int32),
		eff:   make([]DestControl, len(d.Entries)),
	}
	def := d.Default
	def.Domain = DefaultDomain
	x.def = def.Inherit(DestControl{})
	for i, e := range d.Entries {
		x.eff[i] = e.Inherit(def)
		m := x.exact
		if strings.HasPrefix(e.Domain, ".") {
			m = x.sub
		}
		if _, dup := m[e.Domain]; !dup {
			m[e.Domain] = int32(i)
		}
	}
	return x
}

// Len is the number of entries indexed.
func (x *DestIndex) Len() int { return len(x.eff) }

// Lookup returns the effective destination controls for mail to domain,
// as (*Destinations).Lookup does. It does not allocate for a domain already
// in lower case.
func (x *DestIndex) Lookup(domain string) DestControl {
	domain = NormalizeDomain(domain)
	if i, ok := x.exact[domain]; ok {
		return x.eff[i]
	}
	if len(x.sub) > 0 {
		for i := 0; i < len(domain); i++ {
			if domain[i] != '.' {
				continue
			}
			if j, ok := x.sub[domain[i:]]; ok {
				return x.eff[j]
			}
		}
	}
	return x.def
}
