package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// The settings inventory: every setting the appliance stores, with what the
// appliance does with it (issue 11: no setting is stored silently). A
// setting is one leaf of Config as paths name it (see path.go), with every
// key of a keyed list written [*]: listeners[*].default_policy.spam_check.
// A list without keys (smtproutes[*].hosts) is one setting, as in Diff.
//
// Every setting has one class:
//
//   - enforced: the code named in EnforcedBy does what the setting says,
//     and the test named in ProvenBy shows it. "enforced by <area>" with no
//     test names work merged at the same time as this table; its test is
//     filled in at the merge.
//   - stored for script compatibility: the setting belongs to an engine
//     esash does not have (anti-spam, anti-virus, DKIM/SPF/DMARC, outbreak
//     filters, SenderBase reputation, URL filtering, LDAP queries ...). It
//     is asked and stored so that AsyncOS scripts carry over, and every
//     printout marks it with InactiveNote.
//   - refused at commit: the setting has no engine behind it on esash yet,
//     and Validate refuses any value other than its default with a message
//     that names it (validate_inventory.go).
//
// No TLS, certificate, relaying, authentication, interface or DNS setting
// may be stored for script compatibility. inventory_test.go walks Config
// and fails on a setting missing here; docs/settings.md is generated from
// this table.

// Class is what the appliance does with a setting.
type Class string

// Setting classes.
const (
	Enforced        Class = "enforced"
	StoredForCompat Class = "stored for script compatibility"
	RefusedAtCommit Class = "refused at commit"
)

// InactiveNote is written after the value of every setting stored for
// script compatibility, wherever a value is printed: showconfig, the menus
// and the status page.
const InactiveNote = "(not active on this appliance)"

// SettingInfo is one row of the inventory.
type SettingInfo struct {
	Class Class
	// EnforcedBy names the code that enforces the setting (enforced), the
	// engine esash does not have (stored for compatibility), or what the
	// commit check accepts (refused at commit).
	EnforcedBy string
	// ProvenBy names the test that proves it: package.TestName.
	ProvenBy string
	// Accepts and Why are, for a refused setting, the values the commit
	// check accepts and why no other works on esash.
	Accepts, Why string
}

// Pending is the EnforcedBy prefix of a setting whose enforcement arrives
// with work merged at the same time as the inventory.
const Pending = "enforced by "

func enforced(by, test string) SettingInfo {
	return SettingInfo{Class: Enforced, EnforcedBy: by, ProvenBy: test}
}
func pending(area string) SettingInfo {
	return SettingInfo{Class: Enforced, EnforcedBy: Pending + area}
}
func compat(engine string) SettingInfo {
	return SettingInfo{Class: StoredForCompat, EnforcedBy: "no " + engine + " on esash"}
}

func refused(accepts, why string) SettingInfo {
	return SettingInfo{Class: RefusedAtCommit, EnforcedBy: "commit accepts only " + accepts + " (" + why + ")",
		ProvenBy: "config.TestValidateInventoryRefuses", Accepts: accepts, Why: why}
}

// Inventory maps every setting path pattern to its class.
var Inventory = buildInventory()

// Test names used by several rows.
const (
	tPolicyLimits   = "mta.TestPolicyLimits"
	tHTTPRedirect   = "web.TestHTTPRedirect"
	tSwapOnCommit   = "web.TestSwapOnCommit"
	tSSHCommits     = "sshd.TestFollowsCommits"
	tDeliverPolicy  = "mta.TestDeliverPolicies"
	tInterfaceProbe = "commands/ldapconfig.TestProbe"
)

type inventory map[string]SettingInfo

func buildInventory() map[string]SettingInfo {
	m := inventory{}
	m.system()
	m.interfaces()
	m.listeners()
	m.hatParams()
	m.certificates()
	m.crls() // crl_inventory.go
	m.destinations()
	m.mtaSTS() // mtasts.go
	m.delivery()
	m.alerts()
	m.ldap()
	m.setup()
	m.dns()
	m.ssl()
	m.dialogQuestions()

	m.mtaSTSPolicy() // mtasts_policy.go
	return m
}

// dialogQuestions classifies the answers of questions added so that the
// dialogs ask what AsyncOS asks (issue 14, question order): smtproutes'
// SMTP authentication profile and the HAT trusted-relay header.
func (m inventory) dialogQuestions() {
	m["smtproutes[*].smtp_auth_profile"] = refused("an empty value", "esash does not authenticate to route hosts: there is no smtpauthconfig")
	relay := refused(`"off"`, "esash has no SenderBase lookups and takes each client's address from its connection")
	relayHeader := refused("an empty value", "esash has no SenderBase lookups and takes each client's address from its connection")
	for _, p := range []string{"listeners[*].default_policy.", "listeners[*].policies[*].params."} {
		m[p+"use_trusted_relay_header"] = relay
		m[p+"trusted_relay_header"] = relayHeader
	}
}

func (m inventory) system() {
	m["hostname"] = enforced("mta (banner and EHLO of interfaces without a hostname), the shell prompt", "cmd/esash.TestScripts/sethostname")
	m["users[*].name"] = enforced("accounts (FindUser), sshd and web logins", "sshd.TestRoles")
	m["users[*].full_name"] = enforced("userconfig and sshconfig lists (a description: no behaviour)", "cmd/esash.TestScripts/sshconfig_userkeys")
	m["users[*].role"] = enforced("shell/access.go (commands allowed per role), web/auth.go", "sshd.TestRoles")
	m["users[*].password_hash"] = enforced("accounts (CheckPassword), sshd/server.go, web/auth.go", "accounts.TestPasswords")
	m["users[*].ssh_keys"] = enforced("sshd/server.go (public key login)", "sshd.TestThreeWaysIn")
}

func (m inventory) interfaces() {
	const p = "interfaces[*]."
	m[p+"name"] = enforced("the key listeners, delivery and services name the interface by", "mta.TestListenerIPv6")
	m[p+"ipv4"] = enforced("mta/mta.go, web/runtime.go, sshd/server.go bind it", "mta.TestPreferredDeliversOverTLS")
	m[p+"prefixlen"] = enforced("mta/outiface.go (delivery interface Auto: the interface whose network holds the next hop)", "mta.TestDeliverInterfaceAuto")
	m[p+"ipv6"] = enforced("mta/mta.go, web/runtime.go, sshd/server.go bind it", "mta.TestListenerIPv6")
	m[p+"ipv6_prefixlen"] = enforced("mta/outiface.go (delivery interface Auto: the interface whose network holds the next hop)", "mta.TestDeliverInterfaceIPv6")
	m[p+"hostname"] = enforced("mta/mta.go (banner, Received), mta/tlsout.go (EHLO)", "mta.TestCustomBanner")
	m[p+"ethernet"] = enforced("config.Validate (one subnet per port); the address itself must exist on the host", "config.TestValidateListenerChecks")
	m[p+"ssh.enabled"] = enforced("sshd/server.go listens on every interface with SSH enabled", tSSHCommits)
	m[p+"ssh.port"] = enforced("sshd/server.go", tSSHCommits)
	m[p+"http.enabled"] = enforced("web/runtime.go", tHTTPRedirect)
	m[p+"http.port"] = enforced("web/runtime.go", tHTTPRedirect)
	m[p+"https.enabled"] = enforced("web/runtime.go", tSwapOnCommit)
	m[p+"https.port"] = enforced("web/runtime.go", "web.TestPrepareRefusesTakenPort")
	m[p+"https_certificate"] = enforced("web/runtime.go serves the profile's chain", "web.TestServesChosenChain")
	m[p+"redirect_http"] = enforced("web/handlers.go", tHTTPRedirect)
	for _, svc := range []string{"ftp", "telnet", "ccs", "euq_http", "euq_https", "api_http", "api_https"} {
		m[p+svc+".enabled"] = refused("false", "esash runs no such service")
		m[p+svc+".port"] = refused("any value while the service is disabled", "the service itself is refused")
	}
	m[p+"euq_redirect_http"] = refused("false", "esash has no spam quarantine")
	m[p+"euq_default_interface"] = refused("false", "esash has no spam quarantine")
	m[p+"euq_base_url"] = refused("an empty value", "esash has no spam quarantine")
	m[p+"smtp_helo"] = enforced("mta/outiface.go (the EHLO name of deliveries from the interface)", "mta.TestDeliverInterfaceAuto")
}

func (m inventory) listeners() {
	const p = "listeners[*]."
	m[p+"name"] = enforced("mta (mail_logs name the listener); the key of the list", "mta.TestBlackholeDiscards")
	m[p+"type"] = enforced("mta/session.go (Blackhole discards; the RAT applies to every type, RELAY policies relay)", "mta.TestBlackholeDiscards")
	m[p+"interface"] = enforced("mta/mta.go binds the interface's addresses", "mta.TestListenerIPv6")
	m[p+"protocol"] = enforced("mta/mta.go refuses anything but SMTP", "mta.TestListenerProtocolSMTPOnly")
	m[p+"port"] = enforced("mta/mta.go", "mta.TestPrepareFailuresLeaveOldRuntime")
	m[p+"certificate"] = enforced("mta/mta.go (STARTTLS certificate)", "mta.TestReloadSwapsCertificate")
	m[p+"max_connections"] = enforced("mta/socket.go (connection slots of the listener)", "mta.TestListenerIPv6")
	m[p+"default_domain"] = refused("an empty value", "bare recipient addresses are not completed")
	m[p+"rcpt_access"] = enforced("mta/session.go (Rcpt: the recipient access table, empty = ALL REJECT; RELAY policies skip it)", "mta.TestFactoryRATRefusesThirdParty")
	m[p+"policies[*].name"] = enforced("mta/hat.go (sender groups name their policy)", "mta.TestRejectAndTCPRefuse")
	m[p+"policies[*].action"] = enforced("mta/socket.go (ACCEPT, REJECT, TCPREFUSE, RELAY, CONTINUE)", "mta.TestRejectAndTCPRefuse")
	m[p+"sender_groups[*].name"] = enforced("mta/hat.go (mail_logs SG name)", "mta.TestPreferredDeliversOverTLS")
	m[p+"sender_groups[*].policy"] = enforced("mta/hat.go", "mta.TestRejectAndTCPRefuse")
	m[p+"sender_groups[*].hosts"] = enforced("mta/hat.go, config/hat_match.go", "config.TestHATMatcher")
	m[p+"sender_groups[*].comment"] = enforced("config.FormatHAT (a description: no behaviour)", "config.TestFormatHATFactory")
	m[p+"tcp_queue"] = refused("50", "the system's listen backlog is used")
	m[p+"queue_to_disk"] = refused("false", "a Blackhole listener discards without writing")
	m[p+"bounce_profile"] = refused(`"Default"`, "esash has no bounce profiles")
	m[p+"senderbase_filtering"] = compat("SenderBase reputation service")
	m[p+"omit_received_header"] = refused("false", "the Received: header is always added")
	const slow = "mta/slow.go, mta/socket.go (slow and idle clients: the stress timeout and eviction)"
	m[p+"slow_clients.stress_percent"] = enforced(slow, "mta.TestStressTimeout")
	m[p+"slow_clients.stress_command_timeout"] = enforced(slow, "mta.TestStressTimeout")
	m[p+"slow_clients.no_message_percent"] = enforced(slow, "mta.TestSlowClientsDoNotLockOutSenders")
}

// hatParams classifies the mail flow policy parameters: each row covers
// the listener's default policy and every named policy.
func (m inventory) hatParams() {
	rows := map[string]SettingInfo{
		"max_message_size":         enforced("mta/mta.go (go-smtp MaxMessageBytes)", tPolicyLimits),
		"max_concurrency":          enforced("mta/socket.go (connections per client address)", tPolicyLimits),
		"max_msgs_per_connection":  enforced("mta/session.go (Mail)", tPolicyLimits),
		"max_rcpts_per_msg":        enforced("mta/mta.go (go-smtp MaxRecipients)", tPolicyLimits),
		"smtp_banner_host":         enforced("mta/mta.go (the banner's host name)", "mta.TestCustomBanner"),
		"smtp_banner_code":         enforced("mta/conn.go (customBanner)", "mta.TestCustomBanner"),
		"smtp_banner_text":         enforced("mta/conn.go (customBanner)", "mta.TestCustomBanner"),
		"smtp_reject_code":         enforced("mta/socket.go (REJECT reply)", "mta.TestRejectAndTCPRefuse"),
		"smtp_reject_text":         enforced("mta/socket.go (REJECT reply)", "mta.TestRejectAndTCPRefuse"),
		"use_rate_limit":           enforced("mta/session.go (Rcpt: recipients per hour per client)", tPolicyLimits),
		"max_rcpts_per_hour":       enforced("mta/session.go (Rcpt)", tPolicyLimits),
		"max_rcpts_per_hour_code":  refused("452", "the rate limit answers 452"),
		"max_rcpts_per_hour_text":  refused("an empty value", "the rate limit answers with its own text"),
		"use_sender_rate_limit":    refused(`"off"`, "esash has no rate limit per envelope sender"),
		"max_rcpts_per_sender":     refused("0 (unset)", "esash has no rate limit per envelope sender"),
		"sender_rate_interval":     refused("0 (unset)", "esash has no rate limit per envelope sender"),
		"dhap":                     compat("directory harvest prevention (it counts LDAP acceptance and SMTP call-ahead rejections)"),
		"dhap_limit":               compat("directory harvest prevention"),
		"dhap_action":              compat("directory harvest prevention"),
		"dhap_code":                compat("directory harvest prevention"),
		"dhap_text":                compat("directory harvest prevention"),
		"use_sb":                   compat("SenderBase reputation service"),
		"host_grouping":            refused(`"off"`, "rate limits count per client address"),
		"significant_bits":         refused("0 (unset)", "rate limits count per client address"),
		"spam_check":               compat("anti-spam engine"),
		"virus_check":              compat("anti-virus engine"),
		"sdr_check":                compat("sender domain reputation service"),
		"outbreak_filters":         compat("outbreak filters"),
		"advanced_phishing":        compat("advanced phishing protection"),
		"graymail_check":           compat("graymail engine"),
		"content_filters":          compat("content filters"),
		"message_filters":          compat("message filters"),
		"tls":                      enforced("mta/mta.go (STARTTLS offered), mta/hooks.go and mta/session.go (530 before STARTTLS)", "mta.TestRequiredRefusesPlainMail"),
		"tls_verify_client":        enforced("mta/mta.go (client certificate verified)", "mta.TestVerifyClientCertificate"),
		"smtp_auth":                refused(`"off"`, "the MTA offers no SMTP AUTH"),
		"smtp_auth_requires_tls":   refused(`"off"`, "the MTA offers no SMTP AUTH"),
		"dkim_signing":             compat("DKIM signing"),
		"smime_harvest":            compat("S/MIME engine"),
		"smime_harvest_on_failure": compat("S/MIME engine"),
		"smime_harvest_updated":    compat("S/MIME engine"),
		"smime_gateway":            compat("S/MIME engine"),
		"smime_signature":          compat("S/MIME engine"),
		"dkim_verify":              compat("DKIM verification"),
		"dkim_verify_profile":      compat("DKIM verification"),
		"spf_verify":               compat("SPF/SIDF verification"),
		"spf_level":                compat("SPF/SIDF verification"),
		"spf_downgrade_pra":        compat("SPF/SIDF verification"),
		"spf_helo_check":           compat("SPF/SIDF verification"),
		"spf_timeout":              compat("SPF/SIDF verification"),
		"dmarc_verify":             compat("DMARC verification"),
		"dmarc_verify_profile":     compat("DMARC verification"),
		"dmarc_aggregate_reports":  compat("DMARC verification"),
		"enforce_sender_verify":    refused(`"off"`, "envelope senders are not checked in DNS"),
		"malformed_sender_code":    refused("553", "envelope senders are not checked in DNS"),
		"malformed_sender_text":    refused("an empty value", "envelope senders are not checked in DNS"),
		"unresolved_sender_code":   refused("451", "envelope senders are not checked in DNS"),
		"unresolved_sender_text":   refused("an empty value", "envelope senders are not checked in DNS"),
		"nonexistent_sender_code":  refused("553", "envelope senders are not checked in DNS"),
		"nonexistent_sender_text":  refused("an empty value", "envelope senders are not checked in DNS"),
		"domain_exception_table":   refused(`"off"`, "envelope senders are not checked in DNS"),
		"accept_untagged_bounces":  refused(`"off"`, "esash tags no bounces"),
	}
	for k, s := range rows {
		m["listeners[*].default_policy."+k] = s
		m["listeners[*].policies[*].params."+k] = s
	}
}

func (m inventory) certificates() {
	m["certificates[*].name"] = enforced("the key listeners, interfaces and destconfig name the profile by", "mta.TestReloadSwapsCertificate")
	m["certificates[*].certificate"] = enforced("mta/tls.go, web/runtime.go serve it", "web.TestServesChosenChain")
	m["certificates[*].private_key"] = enforced("mta/tls.go, web/runtime.go", "web.TestServesChosenChain")
	m["certificates[*].intermediates"] = enforced("mta/tls.go, web/runtime.go serve them after the leaf", "mta.TestPreferredDeliversOverTLS")
	m.acme()
	m["certificates[*].csr"] = enforced("certconfig (the signing request printed for the CA, matched to the key on EDIT)", "commands/certconfig.TestUserStoryOpenSSL")
	m["certauthority.system_enabled"] = enforced("mta/tls.go, pki.TrustPool (trusted roots)", "pki.TestTrustPoolCustomOnly")
	m["certauthority.custom_enabled"] = enforced("mta/tls.go, pki.TrustPool (trusted roots)", "mta.TestDeliverPolicies")
	m["certauthority.custom[*].name"] = enforced("the key of the custom list (certconfig CERTAUTHORITY)", "mta.TestDeliverPolicies")
	m["certauthority.custom[*].pem"] = enforced("mta/tls.go (verification of peers)", "mta.TestDeliverPolicies")
}

// destinations classifies destconfig: each DestControl row covers the
// default entry and every domain entry.
func (m inventory) destinations() {
	m["destinations.certificate"] = enforced("mta/tlsout.go (the client certificate offered)", "mta.TestDeliverOffersClientCertificate")
	m["destinations.tls_alert"] = enforced("mta/deliver.go (tlsAlert)", "mta.TestDeliverStrippedSTARTTLS")
	rows := map[string]SettingInfo{
		"domain":                      enforced("config.DestIndex (the entry a domain uses)", "config.TestDestLookup"),
		"max_host_concurrency":        enforced("mta/limits.go", "mta.TestDeliverConcurrencyLimits"),
		"recipient_limit":             refused("0 (unset)", "esash has no recipient rate limit per destination"),
		"recipient_minutes":           refused("any value while recipient_limit is 0", "esash has no recipient rate limit per destination"),
		"limit_type":                  refused(`"host"`, "concurrency counts per domain"),
		"limit_apply":                 refused(`"system"`, "esash has no virtual gateways"),
		"max_messages_per_connection": enforced("mta/deliver.go (connection reuse)", "mta.TestDeliverReuse"),
		"tls":                         enforced("mta/deliver.go, mta/tlsout.go", tDeliverPolicy),
		"dane":                        enforced("mta/dane.go (RFC 7672 through the dnsconfig resolver's DNSSEC answers)", "mta.TestDANE"),
		"bounce_validation":           refused(`"off"`, "esash tags no bounces"),
		"bounce_profile":              refused(`"Default"`, "esash has no bounce profiles"),
		"ip_sort_pref":                refused(`"PREFER_V6"`, "addresses are tried in the resolver's RFC 6724 order"),
	}
	for k, s := range rows {
		m["destinations.default."+k] = s
		m["destinations.entries[*]."+k] = s
	}
}

func (m inventory) delivery() {
	m["delivery.default_interface"] = enforced("mta/outiface.go (delivery binds the chosen interface's address)", "mta.TestDeliverInterfaceAuto")
	m["delivery.possible_delivery"] = refused("false", "esash does not mark interrupted deliveries as possibly delivered")
	m["delivery.max_concurrency"] = enforced("mta/limits.go", "mta.TestDeliverConcurrencyLimits")
	m["delivery.max_tls_concurrency"] = enforced("mta/limits.go", "mta.TestDeliverTLSConcurrency")
	m["delivery.fallback_no_tls"] = enforced("mta/deliver.go (plain delivery when TLS slots are taken)", "mta.TestDeliverTLSConcurrency")
	m["smtproutes[*].domain"] = enforced("config.RouteIndex, mta/tlsout.go (targets)", "config.TestRouteFor")
	m["smtproutes[*].hosts"] = enforced("mta/tlsout.go (targets)", "mta.TestDeliverPolicies")
}

func (m inventory) alerts() {
	const p = "alerts."
	m[p+"from"] = enforced("mta/deliver.go (tlsAlert: envelope and header From, else alert@<hostname>)", "mta.TestAlertFrom")
	m[p+"recipients[*].address"] = enforced("mta/deliver.go (tlsAlert), config.TLSFailAlertRecipients", "mta.TestDeliverStrippedSTARTTLS")
	m[p+"recipients[*].classes"] = enforced("config.TLSFailAlertRecipients", "config.TestTLSFailAlertRecipients")
	m[p+"recipients[*].severities"] = enforced("config.TLSFailAlertRecipients", "config.TestTLSFailAlertRecipients")
	m[p+"recipients[*].levels"] = enforced("config.TLSFailAlertRecipients", "config.TestTLSFailAlertRecipients")
	m[p+"initial_wait"] = refused("300", "a repeated alert waits the MTA's fixed interval")
	m[p+"max_wait"] = refused("3600", "a repeated alert waits the MTA's fixed interval")
	m[p+"autosupport"] = compat("Cisco AutoSupport service")
	m[p+"weekly_reports"] = compat("Cisco AutoSupport service")
	m[p+"max_saved"] = compat("alert history (the list of alerts sent)")
	m[p+"interface"] = enforced("mta/deliver.go (tlsAlert leaves from alertconfig's interface)", "mta.TestDeliverAlertInterface")
	m[p+"tls"] = refused("false", "alerts follow the destconfig TLS policy")
	// Issue 15 (acme2): certificate expiry alerts.
	m[p+"cert_expiry_days"] = enforced("acme/expiry.go (Expiry.Check: config.Alerts.CertExpiryThresholds)", "acme.TestExpiryWarnDays")
}

func (m inventory) ldap() {
	const p = "ldap."
	m[p+"interface"] = enforced("commands/ldapconfig/probe.go (the source address of LDAP connections)", "commands/ldapconfig.TestProbeInterface")
	m[p+"negative_on_failure"] = compat("LDAP queries")
	m[p+"validate_certificate"] = enforced("commands/ldapconfig/probe.go (server certificate checked)", "commands/ldapconfig.TestProbeTLS")
	m[p+"certificate"] = enforced("commands/ldapconfig/probe.go (client certificate)", "commands/ldapconfig.TestProbeTLS")
	m[p+"servers[*].name"] = enforced("ldapconfig (the profile's key)", tInterfaceProbe)
	m[p+"servers[*].host"] = enforced("commands/ldapconfig/probe.go", tInterfaceProbe)
	m[p+"servers[*].port"] = enforced("commands/ldapconfig/probe.go", tInterfaceProbe)
	m[p+"servers[*].ssl"] = enforced("commands/ldapconfig/probe.go (LDAPS)", "commands/ldapconfig.TestProbeTLS")
	m[p+"servers[*].auth_method"] = enforced("commands/ldapconfig/probe.go (simple bind or anonymous)", tInterfaceProbe)
	m[p+"servers[*].bind_dn"] = enforced("commands/ldapconfig/probe.go (simple bind)", tInterfaceProbe)
	m[p+"servers[*].bind_password"] = enforced("commands/ldapconfig/probe.go (simple bind)", tInterfaceProbe)
	m[p+"servers[*].server_type"] = compat("LDAP queries (the type chooses query defaults)")
	m[p+"servers[*].base_dn"] = compat("LDAP queries")
	m["websecurity.url_filtering"] = compat("URL filtering engine")
	m["websecurity.allow_list"] = compat("URL filtering engine")
	m["websecurity.client_certificate"] = enforced("commands/websecurityconfig/test.go (the client certificate of the test connection)", "commands/websecurityconfig.TestTest")
	m["websecurity.web_interaction_tracking"] = compat("URL filtering engine")
}

func (m inventory) setup() {
	const p = "listener_setup."
	m[p+"max_concurrency"] = enforced("mta/global.go (connections across listeners: 421)", "mta.TestGlobalConnectionLimit")
	m[p+"max_tls_concurrency"] = enforced("mta/global.go (TLS connections: STARTTLS 454)", "mta.TestGlobalTLSLimit")
	m[p+"max_header_lines"] = enforced("mta/global.go (552 past the limit)", "mta.TestMaxHeaderLines")
	m[p+"injection_counter_reset"] = enforced("mta/global.go (the rate-limit window)", "mta.TestCounterResetPeriod")
	m[p+"unsuccessful_timeout"] = enforced("mta/slow.go (no message accepted for that long)", "mta.TestSessionTimeLimits")
	m[p+"max_connection_time"] = enforced("mta/slow.go (a connection's total time)", "mta.TestSessionTimeLimits")
	m[p+"senderbase_cache"] = compat("SenderBase reputation service")
	m[p+"senderbase_cache_time"] = compat("SenderBase reputation service")
	m[p+"received_hostname"] = refused(`"interface"`, "esash has no virtual gateways")
	m[p+"add_message_id"] = refused(`"off"`, "incoming messages are not given a Message-ID")
	m[p+"reject_at_rcpt"] = refused(`"off"`, "a REJECT policy answers at the banner")
	m[p+"max_subject_size"] = refused("255", "mail_logs log no subjects")
}

// dns classifies dnsconfig: the resolver of MX, addresses, PTR and TLSA.
func (m inventory) dns() {
	const p = "dns."
	m[p+"mode"] = enforced("resolver (own servers, or /etc/resolv.conf in root mode)", "resolver.TestRootMode")
	m[p+"servers[*].address"] = enforced("resolver (the servers asked)", "resolver.TestServerOrder")
	m[p+"servers[*].priority"] = enforced("resolver (asked by priority)", "resolver.TestServerOrder")
	m[p+"alternates[*].domain"] = enforced("resolver (alternate servers win for their domain)", "resolver.TestServerOrder")
	m[p+"alternates[*].hostname"] = enforced("resolver (names the alternate server in errors)", "resolver.TestServerOrder")
	m[p+"alternates[*].address"] = enforced("resolver (the alternate server asked)", "resolver.TestServerOrder")
	m[p+"interface"] = enforced("resolver (queries leave from the interface's address)", "resolver.TestInterface")
	m[p+"reverse_timeout"] = enforced("mta/dns.go (reverse DNS of connecting hosts)", "mta.TestReverseDNSThroughDNSConfig")
	m[p+"min_ttl"] = enforced("resolver (the cache keeps answers at least this long)", "resolver.TestMinTTL")
}

// ssl classifies sslconfig: TLS versions and TLS 1.2 suites per service.
func (m inventory) ssl() {
	for _, svc := range []struct{ name, by, test string }{
		{"gui", "web/web.go (the HTTPS handshake)", "web.TestGUIPolicy"},
		{"inbound", "mta/mta.go handshakeConfig (STARTTLS on listeners)", "mta.TestInboundPolicy"},
		{"outbound", "mta/tlsout.go (delivery's TLS client)", "mta.TestOutboundPolicy"},
	} {
		m["ssl."+svc.name+".method"] = enforced(svc.by, svc.test)
		m["ssl."+svc.name+".ciphers"] = enforced(svc.by, svc.test)
	}
}

// SettingPattern turns a setting path (listeners[IncomingMail].certificate)
// into its inventory pattern (listeners[*].certificate).
func SettingPattern(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '[')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], ']')
		if j < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:i] + "[*]")
		path = path[i+j+1:]
	}
}

// Setting returns the inventory row of a setting path, concrete
// (listeners[IncomingMail].certificate) or a pattern.
func Setting(path string) (SettingInfo, bool) {
	s, ok := Inventory[SettingPattern(path)]
	return s, ok
}

// Inactive reports a setting stored for script compatibility only.
func Inactive(path string) bool {
	s, ok := Setting(path)
	return ok && s.Class == StoredForCompat
}

// MarkInactive returns value followed by InactiveNote when the setting at
// path is stored for script compatibility only, else value: the one helper
// every printout uses.
func MarkInactive(path, value string) string {
	if Inactive(path) {
		return value + " " + InactiveNote
	}
	return value
}

// HATParamInactive reports a mail flow policy parameter, by its key in the
// host access table text (spam_check), that is stored for script
// compatibility only.
func HATParamInactive(key string) bool {
	sp := paramByKey[key]
	if sp == nil {
		return false
	}
	f, _ := reflect.TypeFor[HATParams]().FieldByName(sp.field)
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return Inactive("listeners[*].default_policy." + name)
}

// SettingPaths returns the inventory's patterns, sorted.
func SettingPaths() []string {
	out := make([]string, 0, len(Inventory))
	for p := range Inventory {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// InactiveValue is a setting stored for script compatibility that holds a
// value, with its concrete path.
type InactiveValue struct {
	Path  string // listeners[IncomingMail].default_policy.spam_check
	Value string // as showconfig writes it: on, 25, true
}

// InactiveValues lists, in configuration order, the settings of cfg stored
// for script compatibility that hold a value other than zero (the status
// page lists them, marked).
func InactiveValues(cfg *Config) []InactiveValue {
	var out []InactiveValue
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		for _, f := range fieldsOf(v.Type()) {
			fv := v.Field(f.index)
			p := join(path, f.name)
			switch {
			case f.keyed:
				if _, isDest := destEntries(fv); isDest {
					continue // no destination setting is stored for compatibility
				}
				for i := 0; i < fv.Len(); i++ {
					walk(itemPath(p, keyOf(fv, i, f.keyIdx)), fv.Index(i))
				}
			case fv.Kind() == reflect.Struct:
				walk(p, fv)
			case !fv.IsZero() && Inactive(p):
				out = append(out, InactiveValue{Path: p, Value: fmt.Sprint(fv.Interface())})
			}
		}
	}
	walk("", reflect.ValueOf(cfg).Elem())
	return out
}

// acme: certconfig's ACME profiles (issue 15), obtained and renewed by
// package acme against Pebble in its tests.
func (m inventory) acme() {
	const p = "certificates[*].acme."
	m[p+"directory_url"] = enforced("acme/obtain.go (the ACME directory ordered from)", "acme.TestIssueHTTP01")
	m[p+"email"] = enforced("acme/obtain.go (the account's contact at registration)", "acme.TestIssueHTTP01")
	m[p+"names"] = enforced("acme/obtain.go (the order's identifiers: CN and subjectAltNames)", "acme.TestIssueHTTP01")
	m[p+"key_type"] = enforced("acme/obtain.go (the issued certificate's fresh key)", "acme.TestIssueTLSALPN01")
	m[p+"challenge"] = enforced("acme/challenges.go (HTTP-01 on port 80 while pending, TLS-ALPN-01 through the HTTPS service)", "acme.TestIssueTLSALPN01")
	m[p+"trust"] = enforced("acme/obtain.go (the roots verifying the ACME server)", "acme.TestTrustSystemRefusesPebble")
	m[p+"account_key"] = enforced("acme/obtain.go (signs every ACME request)", "acme.TestIssueHTTP01")
	m[p+"account_url"] = enforced("acme/obtain.go (a renewal reuses the registered account)", "acme.TestRenewAndBackOff")
	m[p+"cert_url"] = enforced("acme/manager.go (empty: pending, obtained at once; else renewed at two thirds or per ARI)", "acme.TestRenewAndBackOff")
}
