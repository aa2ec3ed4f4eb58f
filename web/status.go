package web

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"esash/accounts"
	"esash/config"
	"esash/maillog"
	"esash/pki"
)

// The status page: what an administrator checks after assigning a
// certificate, all read from the running configuration and mail_logs.

type statusView struct {
	User, Role string
	Token      string // the logout form's
	Hostname   string
	Now        string
	Rev        *revView
	Certs      []certView
	Interfaces []ifaceView
	Listeners  []listenerView
	Dest       destGlobal
	Dests      []destView
	TLS        tlsView
	// Inactive are the settings stored only so that AsyncOS scripts carry
	// over (engines esash does not have), each marked as not active.
	Inactive []inactiveView
}

type inactiveView struct{ Path, Value string }

type revView struct {
	Rev                         uint64
	User, Source, Comment, Time string
}

type certView struct {
	Name, CommonName, Issuer, SANs string
	NotAfter                       string
	DaysLeft                       int
	Status                         string
	Warn                           bool // expired, not yet valid or within 30 days
	Served                         []string
	Chain                          string
	ChainOK                        bool
	UsedBy                         []string
	Error                          string
	ACME                           string // the ACME manager's state (acme.go)
}

type ifaceView struct {
	Name, Address, Hostname string
	HTTPS, HTTP, SSH        string
}

type listenerView struct {
	Name, Type, Interface, Address, Certificate string
	DefaultTLS                                  string
	Policies                                    []string
	ClientCert                                  string
}

type destGlobal struct {
	Certificate string
	Alert       bool
}

type destView struct {
	Domain, TLS, DANE string
	Inherited         bool
}

type tlsView struct {
	Events          []tlsEvent
	Success, Failed int
	Error           string
	Scanned         int
}

type tlsEvent struct {
	Time, Direction, ID, Text string
	OK                        bool
}

func (s *Server) statusView(rt *runtime, sess *session) statusView {
	cfg := rt.cfg
	var rev *revView
	if s.opts.Revision != nil {
		r := s.opts.Revision()
		rev = &revView{Rev: r.Rev, User: r.User, Source: r.Source, Comment: r.Comment}
		if !r.Time.IsZero() {
			rev.Time = r.Time.Format(maillog.TimeLayout)
		}
		if r.Config != nil {
			cfg = r.Config // the settings of the revision named (Revision.Config)
		}
	}
	now := s.opts.Now()
	v := statusView{User: sess.user, Token: sess.csrf, Hostname: cfg.Hostname,
		Now: now.Format(maillog.TimeLayout), Rev: rev}
	if u := accounts.FindUser(cfg, sess.user); u != nil {
		v.Role = roleName(u.Role)
	}
	v.Certs = s.acmeViews(cfg, certViews(cfg, now))
	for _, in := range cfg.Interfaces {
		iv := ifaceView{Name: in.Name, Address: in.IPv4, Hostname: in.Hostname, HTTPS: "off", HTTP: "off", SSH: "off"}
		if in.IPv6 != "" {
			iv.Address = strings.TrimPrefix(iv.Address+", "+in.IPv6, ", ")
		}
		if in.HTTPS.Enabled {
			iv.HTTPS = fmt.Sprintf("port %d, certificate %s", in.HTTPS.Port, in.HTTPSCert)
		}
		if in.HTTP.Enabled {
			iv.HTTP = fmt.Sprintf("port %d", in.HTTP.Port)
			if in.RedirectHTTP && in.HTTPS.Enabled {
				iv.HTTP += ", redirects to HTTPS"
			}
		}
		if in.SSH.Enabled {
			iv.SSH = fmt.Sprintf("port %d", in.SSH.Port)
		}
		v.Interfaces = append(v.Interfaces, iv)
	}
	ifaces := map[string]config.Interface{}
	for _, in := range cfg.Interfaces {
		ifaces[in.Name] = in
	}
	for _, l := range cfg.Listeners {
		lv := listenerView{Name: l.Name, Type: string(l.Type), Interface: l.Interface, Certificate: l.Certificate,
			DefaultTLS: tlsInLabel(l.DefaultPolicy.TLS), ClientCert: onOff(l.DefaultPolicy.VerifyClientCert)}
		if in, ok := ifaces[l.Interface]; ok {
			lv.Address = net.JoinHostPort(in.IPv4, strconv.Itoa(l.Port))
		}
		for _, p := range l.Policies {
			eff := config.EffectiveParams(p.Params, l.DefaultPolicy)
			lv.Policies = append(lv.Policies, fmt.Sprintf("%s (%s): TLS %s", p.Name, p.Action, tlsInLabel(eff.TLS)))
		}
		v.Listeners = append(v.Listeners, lv)
	}
	v.Dest = destGlobal{Certificate: cfg.Destinations.Certificate, Alert: cfg.Destinations.AlertOnTLSFail}
	def := cfg.Destinations.Default
	v.Dests = append(v.Dests, destView{Domain: "Default", TLS: def.TLS.Label(), DANE: config.DANELabel(def.DANE)})
	for _, e := range cfg.Destinations.Entries {
		if e.Domain == config.DefaultDomain {
			continue
		}
		eff := e.Inherit(def)
		v.Dests = append(v.Dests, destView{Domain: e.Domain, TLS: eff.TLS.Label(), DANE: config.DANELabel(eff.DANE),
			Inherited: e.TLS == config.TLSOutDefault})
	}
	v.TLS = s.recentTLS()
	for _, iv := range config.InactiveValues(cfg) {
		v.Inactive = append(v.Inactive, inactiveView{Path: iv.Path, Value: config.MarkInactive(iv.Path, iv.Value)})
	}
	return v
}

func roleName(r config.Role) string {
	switch r {
	case config.RoleAdmin:
		return "Administrator"
	case config.RoleOperator:
		return "Operator"
	case config.RoleReadOnly:
		return "Read-Only Operator"
	}
	return string(r)
}

func tlsInLabel(t config.TLSIn) string {
	switch t {
	case config.TLSInPreferred:
		return "Preferred"
	case config.TLSInRequired:
		return "Required"
	}
	return "Off"
}

func onOff(v config.OnOff) string {
	if v.EqualBool(true) {
		return "verify client certificate"
	}
	return ""
}

// certViews describes every certificate profile with its expiry, the
// chain the appliance serves and where the profile is used.
func certViews(cfg *config.Config, now time.Time) []certView {
	used := map[string][]string{}
	add := func(name, what string) {
		if name != "" {
			used[name] = append(used[name], what)
		}
	}
	for _, in := range cfg.Interfaces {
		if in.HTTPS.Enabled {
			add(in.HTTPSCert, fmt.Sprintf("HTTPS on interface %s (port %d)", in.Name, in.HTTPS.Port))
		}
	}
	for _, l := range cfg.Listeners {
		add(l.Certificate, fmt.Sprintf("listener %s (inbound TLS)", l.Name))
	}
	add(cfg.Destinations.Certificate, "destination controls (outbound TLS)")
	add(cfg.LDAP.Certificate, "LDAP client certificate")
	add(cfg.WebSecurity.ClientCertificate, "web security client certificate")

	roots, rootsErr := anchors(cfg)
	var out []certView
	for _, ct := range cfg.Certificates {
		cv := certView{Name: ct.Name, UsedBy: used[ct.Name]}
		certs, err := pki.ParseCertificates([]byte(ct.CertPEM))
		if err != nil || len(certs) == 0 {
			cv.Error = fmt.Sprintf("certificate does not parse: %v", err)
			out = append(out, cv)
			continue
		}
		leaf := certs[0]
		info := pki.Info(leaf)
		cv.CommonName, cv.Issuer = info.CommonName, info.Issuer
		cv.SANs = strings.Join(info.SANs, ", ")
		cv.NotAfter = info.NotAfter.UTC().Format("2006-01-02 15:04 MST")
		cv.DaysLeft = info.DaysLeft(now)
		cv.Status = info.Status(now)
		cv.Warn = cv.Status != pki.StatusActive || cv.DaysLeft < 30
		var inter []*x509.Certificate
		inter = append(inter, certs[1:]...)
		for _, p := range ct.Intermediates {
			more, err := pki.ParseCertificates([]byte(p))
			if err == nil {
				inter = append(inter, more...)
			}
		}
		cv.Served = []string{name(leaf)}
		var served []*x509.Certificate
		for _, c := range inter {
			if !pki.IsSelfSignedRoot(c) && !slices.ContainsFunc(served, c.Equal) && !c.Equal(leaf) {
				served = append(served, c)
				cv.Served = append(cv.Served, name(c))
			}
		}
		cv.Chain, cv.ChainOK = describeChain(leaf, served, roots, rootsErr, now)
		out = append(out, cv)
	}
	return out
}

func name(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

// anchors are the roots a browser could have: the system's and the
// self-signed certificates of the custom list (a custom-trusted
// intermediate makes the appliance trust a chain, but no browser).
func anchors(cfg *config.Config) (*x509.CertPool, error) {
	var custom []*x509.Certificate
	if cfg.CAs.CustomEnabled {
		for _, ca := range cfg.CAs.Custom {
			cs, err := pki.ParseCertificates([]byte(ca.PEM))
			if err != nil {
				continue
			}
			for _, c := range cs {
				if pki.IsSelfSignedRoot(c) {
					custom = append(custom, c)
				}
			}
		}
	}
	return pki.TrustPool(cfg.CAs.SystemEnabled, custom)
}

// describeChain says whether what the appliance sends lets a client reach
// a trusted root: the seed guide's missing-intermediate check.
func describeChain(leaf *x509.Certificate, served []*x509.Certificate, roots *x509.CertPool, rootsErr error, now time.Time) (string, bool) {
	if rootsErr != nil {
		return "cannot be checked: " + rootsErr.Error(), false
	}
	if pki.Info(leaf).SelfSigned {
		return "self-signed: browsers warn unless they trust this very certificate", false
	}
	inter := x509.NewCertPool()
	for _, c := range served {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err == nil && len(chains) > 0 {
		var names []string
		for _, c := range chains[0] {
			names = append(names, name(c))
		}
		return "complete: " + strings.Join(names, " → ") + " (trusted root)", true
	}
	last := leaf
	if len(served) > 0 {
		last = served[len(served)-1]
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fmt.Sprintf("incomplete: no trusted root is reached from %q (issuer %q): an intermediate certificate is missing, or the root is not trusted (a browser that saw the intermediate before may not show it)", name(last), last.Issuer.String()), false
	}
	return "does not verify: " + err.Error(), false
}

// Recent TLS sessions from mail_logs, newest first.
var tlsLine = regexp.MustCompile(`\b(ICID|DCID) (\d+) (?:IP \S+ )?TLS (success|failed|was required)`)

func (s *Server) recentTLS() tlsView {
	var v tlsView
	if s.opts.LogDir == "" {
		return v
	}
	lines, err := maillog.Tail(s.opts.LogDir, "mail_logs", "mail", s.opts.TLSScan)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.Scanned = len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		m := tlsLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		ok := m[3] == "success"
		if ok {
			v.Success++
		} else {
			v.Failed++
		}
		if len(v.Events) >= s.opts.TLSEvents {
			continue
		}
		ev := tlsEvent{ID: m[1] + " " + m[2], OK: ok, Direction: "inbound"}
		if m[1] == "DCID" {
			ev.Direction = "outbound"
		}
		if _, _, msg, err := maillog.ParseLine(lines[i], nil); err == nil {
			ev.Time, ev.Text = lines[i][:len(maillog.TimeLayout)], msg
		} else {
			ev.Text = lines[i]
		}
		v.Events = append(v.Events, ev)
	}
	return v
}
