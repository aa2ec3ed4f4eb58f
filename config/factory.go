package config

// Factory is the configuration of a new appliance, as AsyncOS ships it: one
// Management interface on loopback, the public IncomingMail listener with
// the default sender groups and mail flow policies (TLS off), and the Demo
// certificate, which the caller generates per appliance so no key is ever
// shipped in the source.
func Factory(demo Certificate) *Config {
	const host = "esa.example.com"
	demo.Name = "Demo"
	return &Config{
		Hostname: host,
		Interfaces: []Interface{{
			Name: "Management", IPv4: "127.0.0.1", PrefixLen: 8, Hostname: host,
			SSH:   Service{Enabled: true, Port: 2222},
			HTTP:  Service{Enabled: false, Port: 8080},
			HTTPS: Service{Enabled: true, Port: 8443}, HTTPSCert: "Demo",
		}},
		Listeners:    []Listener{FactoryListener("IncomingMail", Public, "Management", 2525)},
		Certificates: []Certificate{demo},
		CAs:          TrustedCAs{SystemEnabled: true, CustomEnabled: true},
		Destinations: Destinations{
			Certificate: "Demo",
			Default: DestControl{
				Domain: "DEFAULT", MaxConcurrency: 500, LimitType: "host", LimitApply: "system",
				MaxMsgsPerConn: 50, TLS: TLSOutNo, DANE: "off", BounceVerify: Off,
				BounceProfile: "Default", IPSort: "PREFER_V6",
			},
		},
		Delivery: Delivery{Interface: "Auto", MaxConcurrency: 10000, MaxTLSConcurrency: 100, FallbackNoTLS: true},
		Alerts: Alerts{InitialWait: 300, MaxWait: 3600, AutoSupport: true, MaxSaved: 50,
			Interface: "Auto"},
		LDAP:  LDAP{Interface: "Auto"},
		DNS:   DNS{Mode: DNSRoot, Interface: "Auto", ReverseTimeout: DefaultReverseTimeout, MinTTL: DefaultMinTTL},
		Users: []User{{Name: "admin", FullName: "Administrator", Role: RoleAdmin}},
		SSL:   DefaultSSL(),
	}
}

// FactoryListener is a listener with the AsyncOS default host access table:
// four policies and the sender groups that use them, TLS off everywhere.
func FactoryListener(name string, typ ListenerType, iface string, port int) Listener {
	l := Listener{
		Name: name, Type: typ, Interface: iface, Protocol: "SMTP", Port: port,
		Certificate: "Demo", MaxConnections: 50,
		DefaultPolicy: HATParams{
			MaxMessageSize: 10485760, MaxConcurrency: 10, MaxMsgsPerConn: 10, MaxRcptsPerMsg: 50,
			BannerCode: 220, RejectCode: 554, RateLimit: Off, TLS: TLSInOff,
			VerifyClientCert: Off, SMTPAuth: "off", RequireTLSForAuth: Off,
			SpamCheck: On, VirusCheck: On, UseSenderBase: On,
			ContentFilters: On, MessageFilters: On, EnvelopeSenderVerify: Off,
			RateLimitCode: 452, SenderRateLimit: Off, DHAP: Off, DHAPAction: "drop",
			DHAPCode: 550, HostGrouping: Off, SDRCheck: Off, OutbreakFilters: On,
			PhishingCheck: Off, GraymailCheck: On, DKIMSigning: Off, SMIMEHarvest: Off,
			SMIMEGateway: Off, DKIMVerify: Off, SPFVerify: Off, DMARCVerify: Off,
			MalformedSenderCode: 553, UnresolvedSenderCode: 451, MissingSenderCode: 553,
			DomainExceptionTable: Off, UntaggedBounces: Off,
		},
		TCPQueue: 50, BounceProfile: "Default",
		Policies: []MailFlowPolicy{
			{Name: "ACCEPTED", Action: Accept},
			{Name: "BLOCKED", Action: Reject},
			{Name: "THROTTLED", Action: Accept, Params: HATParams{MaxConcurrency: 1,
				MaxMsgsPerConn: 1, MaxRcptsPerMsg: 25, RateLimit: On, MaxRcptsPerHour: 20}},
			{Name: "TRUSTED", Action: Accept, Params: HATParams{RateLimit: Off, SpamCheck: Off}},
		},
		SenderGroups: []SenderGroup{
			{Name: "ALLOWED_LIST", Policy: "TRUSTED", Comment: "My trusted senders have no anti-spam scanning or rate limiting"},
			{Name: "BLOCKED_LIST", Policy: "BLOCKED", Comment: "Spammers are rejected"},
			{Name: "SUSPECTLIST", Policy: "THROTTLED", Comment: "Suspicious senders are throttled"},
			{Name: "UNKNOWNLIST", Policy: "ACCEPTED", Comment: "Reviewed but undecided, continue normal acceptance"},
			{Name: "ALL", Policy: "ACCEPTED", Hosts: []string{"ALL"}, Comment: "Everyone else"},
		},
	}
	if typ == Public {
		l.DefaultPolicy.DHAP, l.DefaultPolicy.DHAPLimit = On, 25
		l.SenderBaseFiltering = On
	}
	if typ == Private {
		l.Policies = []MailFlowPolicy{{Name: "RELAYED", Action: Relay}, {Name: "BLOCKED", Action: Reject}}
		l.SenderGroups = []SenderGroup{
			{Name: "RELAYLIST", Policy: "RELAYED", Comment: "Hosts allowed to relay"},
			{Name: "ALL", Policy: "BLOCKED", Hosts: []string{"ALL"}, Comment: "Everyone else"},
		}
	}
	return l
}
