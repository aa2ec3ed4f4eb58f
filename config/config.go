// Package config holds the appliance's typed configuration: the values an
// administrator stages with the CLI and commits, and Validate, the commit
// check that reports every problem at once with its field path.
//
// It imports no other package of this module, so the store, the MTA and the
// commands can all share one definition of the configuration without any of
// them importing the others.
//
// Lists of named things (interfaces, listeners, certificates, destination
// entries...) are slices whose element type has one field tagged
// `cfg:"key"`. The key names the element in field paths
// (listeners[IncomingMail].certificate) and is the unit the store persists
// and merges.
package config

// Config is one complete configuration of the appliance.
type Config struct {
	Hostname     string        `json:"hostname"`
	Interfaces   []Interface   `json:"interfaces"`
	Listeners    []Listener    `json:"listeners"`
	Certificates []Certificate `json:"certificates"`
	CAs          TrustedCAs    `json:"certauthority"`
	CRLs         []CRL         `json:"crls"` // certconfig CRL (crl.go)
	Destinations Destinations  `json:"destinations"`
	Delivery     Delivery      `json:"delivery"`
	Routes       []Route       `json:"smtproutes"`
	Alerts       Alerts        `json:"alerts"`
	LDAP         LDAP          `json:"ldap"`
	WebSecurity  WebSecurity   `json:"websecurity"`
	ListenSetup  ListenSetup   `json:"listener_setup"`
	Users        []User        `json:"users"`
	DNS          DNS           `json:"dns"` // dnsconfig (dns.go)
	SSL          SSL           `json:"ssl"` // sslconfig (ssl.go)

	// mtastsconfig (mtasts_policy.go)
	MTASTSPolicy MTASTSPolicy `json:"mta_sts_policy"`
}

// Service is a management service enabled on an interface.
type Service struct {
	Enabled bool `json:"enabled"`
	Port    int  `json:"port"`
}

// Interface is an IP interface: an address the appliance listens and sends
// from, with the hostname it uses in banners and EHLO.
type Interface struct {
	Name         string  `json:"name" cfg:"key"`
	IPv4         string  `json:"ipv4"`
	PrefixLen    int     `json:"prefixlen"`
	IPv6         string  `json:"ipv6,omitempty"`
	IPv6Prefix   int     `json:"ipv6_prefixlen,omitempty"`
	Hostname     string  `json:"hostname"`
	SSH          Service `json:"ssh"`
	HTTP         Service `json:"http"`
	HTTPS        Service `json:"https"`
	HTTPSCert    string  `json:"https_certificate,omitempty"`
	RedirectHTTP bool    `json:"redirect_http"`
	// Ethernet is the port the address lives on ("Data 1", "Management");
	// empty is the Management port.
	Ethernet string `json:"ethernet,omitempty"`
	// Services esash does not run are stored so that interfaceconfig
	// scripts written for AsyncOS keep their question order; enabling them
	// opens nothing.
	FTP                 Service `json:"ftp"`
	Telnet              Service `json:"telnet"`
	Cluster             Service `json:"ccs"`
	SpamQuarantineHTTP  Service `json:"euq_http"`
	SpamQuarantineHTTPS Service `json:"euq_https"`
	APIHTTP             Service `json:"api_http"`
	APIHTTPS            Service `json:"api_https"`
	RedirectQuarantine  bool    `json:"euq_redirect_http,omitempty"`
	QuarantineDefault   bool    `json:"euq_default_interface,omitempty"`
	QuarantineURL       string  `json:"euq_base_url,omitempty"`
	// SMTPHelo overrides Hostname in the EHLO sent from this interface.
	SMTPHelo string `json:"smtp_helo,omitempty"`
}

// ListenerType is the AsyncOS listener kind.
type ListenerType string

// Listener types.
const (
	Public    ListenerType = "Public"
	Private   ListenerType = "Private"
	Blackhole ListenerType = "Blackhole"
)

// Listener is an SMTP listener on an interface. AcceptDomains is its
// recipient access table (RCPTACCESS): the ACCEPT entries, in order, before
// the final ALL REJECT every table has and PRINT shows; empty (the factory
// table) accepts no recipient. Only connections whose mail flow policy is
// RELAY are not subject to it.
type Listener struct {
	Name           string           `json:"name" cfg:"key"`
	Type           ListenerType     `json:"type"`
	Interface      string           `json:"interface"`
	Protocol       string           `json:"protocol"`
	Port           int              `json:"port"`
	Certificate    string           `json:"certificate"`
	MaxConnections int              `json:"max_connections"`
	DefaultDomain  string           `json:"default_domain,omitempty"`
	AcceptDomains  []string         `json:"rcpt_access,omitempty"`
	DefaultPolicy  HATParams        `json:"default_policy"`
	Policies       []MailFlowPolicy `json:"policies"`
	SenderGroups   []SenderGroup    `json:"sender_groups"`
	// TCPQueue is the TCP listen backlog (LIMITS); 0 is 50.
	TCPQueue int `json:"tcp_queue,omitempty"`
	// QueueToDisk: a Blackhole listener writes messages to disk before
	// discarding them.
	QueueToDisk   bool   `json:"queue_to_disk,omitempty"`
	BounceProfile string `json:"bounce_profile,omitempty"`
	// SenderBaseFiltering ("on", "off", "") is stored only: esash has no
	// reputation service.
	SenderBaseFiltering OnOff `json:"senderbase_filtering,omitempty"`
	// OmitReceived: do not add a Received: header (SETUP > RECEIVED).
	OmitReceived bool `json:"omit_received_header,omitempty"`
	// Slow clients (SETUP > SLOWCLIENTS, esash's own; zero is the
	// default, see SlowClients).
	SlowClients SlowClients `json:"slow_clients"`
}

// ListenSetup is listenerconfig SETUP: the settings shared by every
// listener. A zero value means the AsyncOS default; Effective fills them.
type ListenSetup struct {
	MaxConcurrency    int    `json:"max_concurrency,omitempty"`     // all listeners, 300
	MaxTLSConcurrency int    `json:"max_tls_concurrency,omitempty"` // 100
	MaxHeaderLines    int    `json:"max_header_lines,omitempty"`    // 1000
	SenderBaseCache   string `json:"senderbase_cache,omitempty"`    // "auto" (""), "off", "custom"
	SenderBaseTTL     int    `json:"senderbase_cache_time,omitempty"`
	CounterReset      int    `json:"injection_counter_reset,omitempty"` // seconds, 3600
	IdleTimeout       int    `json:"unsuccessful_timeout,omitempty"`    // seconds, 300
	MaxConnTime       int    `json:"max_connection_time,omitempty"`     // seconds, 900
	ReceivedHostname  string `json:"received_hostname,omitempty"`       // "interface" (""), "vgateway"
	AddMessageID      OnOff  `json:"add_message_id,omitempty"`          // "on", "off" ("")
	RejectAtRcpt      OnOff  `json:"reject_at_rcpt,omitempty"`          // "on", "off" ("")
	MaxSubjectLog     int    `json:"max_subject_size,omitempty"`        // bytes, 255
}

// Action is what a mail flow policy does with a connection.
type Action string

// Mail flow policy actions.
const (
	Accept    Action = "ACCEPT"
	Reject    Action = "REJECT"
	TCPRefuse Action = "TCPREFUSE"
	Relay     Action = "RELAY"
	Continue  Action = "CONTINUE"
)

// TLSIn is the inbound TLS setting of a mail flow policy.
type TLSIn string

// Inbound TLS settings, as AsyncOS names them.
const (
	TLSInDefault   TLSIn = "" // inherit the listener's default policy
	TLSInOff       TLSIn = "off"
	TLSInPreferred TLSIn = "preferred"
	TLSInRequired  TLSIn = "required"
)

// HATParams are the mail flow policy parameters. In a named policy a zero
// value means "use the listener default", as AsyncOS's "Use Default".
type HATParams struct {
	MaxMessageSize       int64  `json:"max_message_size,omitempty"`
	MaxConcurrency       int    `json:"max_concurrency,omitempty"`
	MaxMsgsPerConn       int    `json:"max_msgs_per_connection,omitempty"`
	MaxRcptsPerMsg       int    `json:"max_rcpts_per_msg,omitempty"`
	BannerHostname       string `json:"smtp_banner_host,omitempty"`
	BannerCode           int    `json:"smtp_banner_code,omitempty"`
	BannerText           string `json:"smtp_banner_text,omitempty"`
	RejectCode           int    `json:"smtp_reject_code,omitempty"`
	RejectText           string `json:"smtp_reject_text,omitempty"`
	RateLimit            OnOff  `json:"use_rate_limit,omitempty"` // "on", "off", "" = default
	MaxRcptsPerHour      int    `json:"max_rcpts_per_hour,omitempty"`
	TLS                  TLSIn  `json:"tls,omitempty"`
	VerifyClientCert     OnOff  `json:"tls_verify_client,omitempty"` // "on", "off", ""
	SMTPAuth             string `json:"smtp_auth,omitempty"`         // "off", "preferred", "required", ""
	RequireTLSForAuth    OnOff  `json:"smtp_auth_requires_tls,omitempty"`
	SpamCheck            OnOff  `json:"spam_check,omitempty"` // stored only: esash has no scanning engines
	VirusCheck           OnOff  `json:"virus_check,omitempty"`
	UseSenderBase        OnOff  `json:"use_sb,omitempty"`
	ContentFilters       OnOff  `json:"content_filters,omitempty"`
	MessageFilters       OnOff  `json:"message_filters,omitempty"`
	EnvelopeSenderVerify OnOff  `json:"enforce_sender_verify,omitempty"`

	// The rest is asked in the reference's order and stored for script
	// compatibility; the MTA enforces only the fields above (sizes,
	// connections, messages, recipients, banners, rate limit per host,
	// TLS and SMTP AUTH over TLS). All are OnOff, texts or numbers, so
	// that the zero value always means "use the listener default".
	RateLimitCode      int    `json:"max_rcpts_per_hour_code,omitempty"`
	RateLimitText      string `json:"max_rcpts_per_hour_text,omitempty"`
	SenderRateLimit    OnOff  `json:"use_sender_rate_limit,omitempty"`
	MaxRcptsPerSender  int    `json:"max_rcpts_per_sender,omitempty"`
	SenderRateInterval int    `json:"sender_rate_interval,omitempty"` // minutes
	DHAP               OnOff  `json:"dhap,omitempty"`
	DHAPLimit          int    `json:"dhap_limit,omitempty"`
	DHAPAction         string `json:"dhap_action,omitempty"` // "drop", "code"
	DHAPCode           int    `json:"dhap_code,omitempty"`
	DHAPText           string `json:"dhap_text,omitempty"`
	HostGrouping       OnOff  `json:"host_grouping,omitempty"`
	SignificantBits    int    `json:"significant_bits,omitempty"`
	// TrustedRelay and TrustedRelayHeader answer "fetch the incoming
	// address (for SenderBase) from a trusted relay's header?": refused at
	// commit, esash takes every client's address from its connection.
	TrustedRelay          OnOff  `json:"use_trusted_relay_header,omitempty"`
	TrustedRelayHeader    string `json:"trusted_relay_header,omitempty"`
	SDRCheck              OnOff  `json:"sdr_check,omitempty"`
	OutbreakFilters       OnOff  `json:"outbreak_filters,omitempty"`
	PhishingCheck         OnOff  `json:"advanced_phishing,omitempty"`
	GraymailCheck         OnOff  `json:"graymail_check,omitempty"`
	DKIMSigning           OnOff  `json:"dkim_signing,omitempty"`
	SMIMEHarvest          OnOff  `json:"smime_harvest,omitempty"`
	SMIMEHarvestOnFailure OnOff  `json:"smime_harvest_on_failure,omitempty"`
	SMIMEHarvestUpdated   OnOff  `json:"smime_harvest_updated,omitempty"`
	SMIMEGateway          OnOff  `json:"smime_gateway,omitempty"`
	SMIMESignature        string `json:"smime_signature,omitempty"` // "preserve", "remove"
	DKIMVerify            OnOff  `json:"dkim_verify,omitempty"`
	DKIMProfile           string `json:"dkim_verify_profile,omitempty"`
	SPFVerify             OnOff  `json:"spf_verify,omitempty"`
	SPFLevel              string `json:"spf_level,omitempty"` // "spf_only", "sidf_compatible", "sidf_strict"
	SPFDowngradePRA       OnOff  `json:"spf_downgrade_pra,omitempty"`
	SPFHelo               OnOff  `json:"spf_helo_check,omitempty"`
	SPFTimeout            int    `json:"spf_timeout,omitempty"` // seconds
	DMARCVerify           OnOff  `json:"dmarc_verify,omitempty"`
	DMARCProfile          string `json:"dmarc_verify_profile,omitempty"`
	DMARCReports          OnOff  `json:"dmarc_aggregate_reports,omitempty"`
	MalformedSenderCode   int    `json:"malformed_sender_code,omitempty"`
	MalformedSenderText   string `json:"malformed_sender_text,omitempty"`
	UnresolvedSenderCode  int    `json:"unresolved_sender_code,omitempty"`
	UnresolvedSenderText  string `json:"unresolved_sender_text,omitempty"`
	MissingSenderCode     int    `json:"nonexistent_sender_code,omitempty"`
	MissingSenderText     string `json:"nonexistent_sender_text,omitempty"`
	DomainExceptionTable  OnOff  `json:"domain_exception_table,omitempty"`
	UntaggedBounces       OnOff  `json:"accept_untagged_bounces,omitempty"`
}

// MailFlowPolicy is a named HAT policy.
type MailFlowPolicy struct {
	Name   string    `json:"name" cfg:"key"`
	Action Action    `json:"action"`
	Params HATParams `json:"params"`
}

// SenderGroup matches connecting hosts and binds them to a policy.
type SenderGroup struct {
	Name    string   `json:"name" cfg:"key"`
	Policy  string   `json:"policy"`
	Hosts   []string `json:"hosts"`
	Comment string   `json:"comment,omitempty"`
}

// Certificate is a certificate profile: a leaf, its private key and the
// intermediates served with it. PEM text keeps the values printable and
// byte-for-byte stable across encode/decode.
type Certificate struct {
	Name          string   `json:"name" cfg:"key"`
	CertPEM       string   `json:"certificate"`
	KeyPEM        string   `json:"private_key" cfg:"secret"`
	Intermediates []string `json:"intermediates,omitempty"`
	CSRPEM        string   `json:"csr,omitempty"`
	// ACME, when its directory URL is set, makes the profile one the
	// appliance obtains and renews itself (acme.go).
	ACME ACMEProfile `json:"acme"`
}

// CA is one certificate authority of the custom trusted list.
type CA struct {
	Name string `json:"name" cfg:"key"`
	PEM  string `json:"pem"`
}

// TrustedCAs selects which roots verify peers.
type TrustedCAs struct {
	SystemEnabled bool `json:"system_enabled"`
	CustomEnabled bool `json:"custom_enabled"`
	Custom        []CA `json:"custom"`
}

// TLSOut is the outbound TLS setting of a destination.
type TLSOut string

// Outbound TLS settings with their AsyncOS export values.
const (
	TLSOutDefault         TLSOut = "" // inherit the DEFAULT entry
	TLSOutNo              TLSOut = "off"
	TLSOutPreferred       TLSOut = "on"
	TLSOutRequired        TLSOut = "require"
	TLSOutPreferredVerify TLSOut = "on_verify"
	TLSOutRequiredVerify  TLSOut = "require_verify"
)

// DestControl is a destination controls entry. Zero values inherit the
// DEFAULT entry. It has only comparable fields on purpose: the store
// compares ten thousand of them per commit.
type DestControl struct {
	Domain           string `json:"domain" cfg:"key"`
	MaxConcurrency   int    `json:"max_host_concurrency,omitempty"`
	RecipientLimit   int    `json:"recipient_limit,omitempty"`
	RecipientMinutes int    `json:"recipient_minutes,omitempty"`
	LimitType        string `json:"limit_type,omitempty"`  // "host" or "MXIP"
	LimitApply       string `json:"limit_apply,omitempty"` // "system" or "VG"
	MaxMsgsPerConn   int    `json:"max_messages_per_connection,omitempty"`
	TLS              TLSOut `json:"tls,omitempty"`
	DANE             string `json:"dane,omitempty"` // "off", "opportunistic", "mandatory"
	BounceVerify     OnOff  `json:"bounce_validation,omitempty"`
	BounceProfile    string `json:"bounce_profile,omitempty"`
	IPSort           string `json:"ip_sort_pref,omitempty"`
}

// Destinations is destconfig: the default entry, per-domain entries and
// the global outbound TLS settings.
type Destinations struct {
	Certificate    string        `json:"certificate"`
	AlertOnTLSFail bool          `json:"tls_alert"`
	Default        DestControl   `json:"default"`
	Entries        []DestControl `json:"entries"`
	MTASTS         MTASTS        `json:"mta_sts"` // mtasts.go
}

// Delivery is deliveryconfig.
type Delivery struct {
	Interface         string `json:"default_interface"` // "Auto" or an interface name
	PossibleDelivery  bool   `json:"possible_delivery"`
	MaxConcurrency    int    `json:"max_concurrency"`
	MaxTLSConcurrency int    `json:"max_tls_concurrency"`
	FallbackNoTLS     bool   `json:"fallback_no_tls"`
}

// RouteHost is one destination of an SMTP route (written
// host[:port][/pri=N], see route.go). Port 0 is the standard port 25.
type RouteHost struct {
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"`
	Priority int    `json:"priority,omitempty"` // lower first; equal ones share the load
	// ARecords is a host written in square brackets: resolve its address
	// records only, ignoring MX records.
	ARecords bool `json:"a_records,omitempty"`
}

// Route is an smtproutes entry; Domain "ALL" is the default route and a
// single host "USEDNS" means normal MX delivery.
type Route struct {
	Domain string      `json:"domain" cfg:"key"`
	Hosts  []RouteHost `json:"hosts"`
	// SMTPAuthProfile is the answer to smtproutes' "associate an SMTP
	// authentication profile" question. esash does not authenticate to
	// route hosts (no smtpauthconfig), so the commit refuses any value.
	SMTPAuthProfile string `json:"smtp_auth_profile,omitempty"`
}

// AlertRecipient receives alerts of some classes and severities (see
// alert.go): every class in Classes at the Severities, except the classes
// Levels gives other severities.
type AlertRecipient struct {
	Address    string        `json:"address" cfg:"key"`
	Classes    []string      `json:"classes"`
	Severities []string      `json:"severities"`
	Levels     []AlertLevels `json:"levels,omitempty"`
}

// AlertLevels are the severities one alert class is sent at, where they
// differ from the recipient's Severities (alertconfig EDIT).
type AlertLevels struct {
	Class      string   `json:"class"`
	Severities []string `json:"severities"`
}

// Alerts is alertconfig.
type Alerts struct {
	From          string           `json:"from,omitempty"`
	Recipients    []AlertRecipient `json:"recipients"`
	InitialWait   int              `json:"initial_wait"`
	MaxWait       int              `json:"max_wait"`
	AutoSupport   bool             `json:"autosupport"`
	WeeklyReports bool             `json:"weekly_reports"`
	MaxSaved      int              `json:"max_saved"`
	Interface     string           `json:"interface"`
	TLS           bool             `json:"tls"`
	// CertExpiryDays is alertconfig WARNDAYS: the days before a
	// certificate expires at which the first System alert goes out (then
	// at 7 and 1 days below it); 0, in configurations from before the
	// setting, is DefaultCertExpiryDays.
	CertExpiryDays int `json:"cert_expiry_days,omitempty"`
}

// LDAPServer is an ldapconfig server profile.
type LDAPServer struct {
	Name         string `json:"name" cfg:"key"`
	Host         string `json:"host"`
	Port         int    `json:"port"`
	SSL          bool   `json:"ssl"`
	AuthMethod   string `json:"auth_method"`
	BindDN       string `json:"bind_dn,omitempty"`
	BindPassword string `json:"bind_password,omitempty" cfg:"secret"`
	ServerType   string `json:"server_type"`
	BaseDN       string `json:"base_dn"`
}

// LDAP is ldapconfig, with the global settings of SETUP.
type LDAP struct {
	Interface         string       `json:"interface"`
	NegativeOnFailure bool         `json:"negative_on_failure"`
	ValidateCert      bool         `json:"validate_certificate"`
	Certificate       string       `json:"certificate"`
	Servers           []LDAPServer `json:"servers"`
}

// WebSecurity is websecurityconfig.
type WebSecurity struct {
	URLFiltering      bool   `json:"url_filtering"`
	AllowList         string `json:"allow_list,omitempty"`
	ClientCertificate string `json:"client_certificate,omitempty"`
	InteractionTrack  bool   `json:"web_interaction_tracking"`
}

// Role is an administrator account's access group.
type Role string

// Roles, as AsyncOS names them.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleReadOnly Role = "readonly"
)

// User is an administrator account.
type User struct {
	Name         string   `json:"name" cfg:"key"`
	FullName     string   `json:"full_name"`
	Role         Role     `json:"role"`
	PasswordHash string   `json:"password_hash,omitempty" cfg:"secret"`
	SSHKeys      []string `json:"ssh_keys,omitempty"`
}
