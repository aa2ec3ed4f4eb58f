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
	Destinations Destinations  `json:"destinations"`
	Delivery     Delivery      `json:"delivery"`
	Routes       []Route       `json:"smtproutes"`
	Alerts       Alerts        `json:"alerts"`
	LDAP         LDAP          `json:"ldap"`
	WebSecurity  WebSecurity   `json:"websecurity"`
	Users        []User        `json:"users"`
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
}

// ListenerType is the AsyncOS listener kind.
type ListenerType string

// Listener types.
const (
	Public    ListenerType = "Public"
	Private   ListenerType = "Private"
	Blackhole ListenerType = "Blackhole"
)

// Listener is an SMTP listener on an interface.
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
	RateLimit            string `json:"use_rate_limit,omitempty"` // "on", "off", "" = default
	MaxRcptsPerHour      int    `json:"max_rcpts_per_hour,omitempty"`
	TLS                  TLSIn  `json:"tls,omitempty"`
	VerifyClientCert     string `json:"tls_verify_client,omitempty"` // "on", "off", ""
	SMTPAuth             string `json:"smtp_auth,omitempty"`         // "off", "preferred", "required", ""
	RequireTLSForAuth    string `json:"smtp_auth_requires_tls,omitempty"`
	SpamCheck            string `json:"spam_check,omitempty"` // stored only: esash has no scanning engines
	VirusCheck           string `json:"virus_check,omitempty"`
	UseSenderBase        string `json:"use_sb,omitempty"`
	ContentFilters       string `json:"content_filters,omitempty"`
	MessageFilters       string `json:"message_filters,omitempty"`
	EnvelopeSenderVerify string `json:"enforce_sender_verify,omitempty"`
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
	KeyPEM        string   `json:"private_key"`
	Intermediates []string `json:"intermediates,omitempty"`
	CSRPEM        string   `json:"csr,omitempty"`
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
	BounceVerify     string `json:"bounce_validation,omitempty"`
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
}

// Delivery is deliveryconfig.
type Delivery struct {
	Interface         string `json:"default_interface"` // "Auto" or an interface name
	PossibleDelivery  bool   `json:"possible_delivery"`
	MaxConcurrency    int    `json:"max_concurrency"`
	MaxTLSConcurrency int    `json:"max_tls_concurrency"`
	FallbackNoTLS     bool   `json:"fallback_no_tls"`
	Resolver          string `json:"resolver,omitempty"` // host:port of the DNS server; empty = system
}

// RouteHost is one destination of an SMTP route.
type RouteHost struct {
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"`
	Priority int    `json:"priority,omitempty"`
}

// Route is an smtproutes entry; Domain "ALL" is the default route and a
// single host "USEDNS" means normal MX delivery.
type Route struct {
	Domain string      `json:"domain" cfg:"key"`
	Hosts  []RouteHost `json:"hosts"`
}

// AlertRecipient receives alerts of some classes and severities.
type AlertRecipient struct {
	Address    string   `json:"address" cfg:"key"`
	Classes    []string `json:"classes"`
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
}

// LDAPServer is an ldapconfig server profile.
type LDAPServer struct {
	Name         string `json:"name" cfg:"key"`
	Host         string `json:"host"`
	Port         int    `json:"port"`
	SSL          bool   `json:"ssl"`
	AuthMethod   string `json:"auth_method"`
	BindDN       string `json:"bind_dn,omitempty"`
	BindPassword string `json:"bind_password,omitempty"`
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
	PasswordHash string   `json:"password_hash,omitempty"`
	SSHKeys      []string `json:"ssh_keys,omitempty"`
}
