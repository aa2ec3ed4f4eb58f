package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// paramKind is how a HAT parameter is written and checked.
type paramKind int

const (
	pNumber paramKind = iota // a count or size: 1..max
	pCode                    // an SMTP reply code: 200..599
	pOnOff                   // an OnOff: "on" or "off"
	pEnum                    // one of enum
	pText                    // free text (banners, responses, profile names)
	pHost                    // a host name
)

// paramSpec describes one mail flow policy parameter: its key in the host
// access table text (PRINT, EXPORT, IMPORT), its HATParams field, and what
// values it takes.
type paramSpec struct {
	key   string
	field string
	kind  paramKind
	max   int64
	enum  []string
	index int // field index in HATParams, filled at init
}

// hatParams lists every HATParams field in the order AsyncOS asks for them
// (the three blocks of the HAT parameter dialog); PRINT writes them in
// this order.
var hatParams = []paramSpec{
	// Block 1: sizes, connections, banners.
	{key: "max_message_size", field: "MaxMessageSize", kind: pNumber, max: 1 << 30},
	{key: "max_concurrency", field: "MaxConcurrency", kind: pNumber, max: 1000},
	{key: "max_msgs_per_session", field: "MaxMsgsPerConn", kind: pNumber, max: 100000},
	{key: "max_rcpts_per_msg", field: "MaxRcptsPerMsg", kind: pNumber, max: 100000},
	{key: "smtp_banner_host", field: "BannerHostname", kind: pHost},
	{key: "smtp_banner_code", field: "BannerCode", kind: pCode},
	{key: "smtp_banner_text", field: "BannerText", kind: pText},
	{key: "smtp_reject_code", field: "RejectCode", kind: pCode},
	{key: "smtp_reject_text", field: "RejectText", kind: pText},
	// Block 2: rate limits, directory harvest prevention.
	{key: "use_rate_limit", field: "RateLimit", kind: pOnOff},
	{key: "max_rcpts_per_hour", field: "MaxRcptsPerHour", kind: pNumber, max: 100000000},
	{key: "max_rcpts_per_hour_code", field: "RateLimitCode", kind: pCode},
	{key: "max_rcpts_per_hour_text", field: "RateLimitText", kind: pText},
	{key: "use_sender_rate_limit", field: "SenderRateLimit", kind: pOnOff},
	{key: "max_rcpts_per_sender", field: "MaxRcptsPerSender", kind: pNumber, max: 100000000},
	{key: "sender_rate_interval", field: "SenderRateInterval", kind: pNumber, max: 1440},
	{key: "dhap", field: "DHAP", kind: pOnOff},
	{key: "dhap_limit", field: "DHAPLimit", kind: pNumber, max: 100000000},
	{key: "dhap_action", field: "DHAPAction", kind: pEnum, enum: []string{"drop", "code"}},
	{key: "dhap_code", field: "DHAPCode", kind: pCode},
	{key: "dhap_text", field: "DHAPText", kind: pText},
	// Block 3: reputation, scanning, TLS, authentication, verification.
	{key: "use_sb", field: "UseSenderBase", kind: pOnOff},
	{key: "host_grouping", field: "HostGrouping", kind: pOnOff},
	{key: "significant_bits", field: "SignificantBits", kind: pNumber, max: 32},
	{key: "use_trusted_relay_header", field: "TrustedRelay", kind: pOnOff},
	{key: "trusted_relay_header", field: "TrustedRelayHeader", kind: pText},
	{key: "spam_check", field: "SpamCheck", kind: pOnOff},
	{key: "virus_check", field: "VirusCheck", kind: pOnOff},
	{key: "sdr_check", field: "SDRCheck", kind: pOnOff},
	{key: "outbreak_filters", field: "OutbreakFilters", kind: pOnOff},
	{key: "advanced_phishing", field: "PhishingCheck", kind: pOnOff},
	{key: "graymail_check", field: "GraymailCheck", kind: pOnOff},
	{key: "content_filters", field: "ContentFilters", kind: pOnOff},
	{key: "message_filters", field: "MessageFilters", kind: pOnOff},
	{key: "tls", field: "TLS", kind: pEnum, enum: []string{"off", "preferred", "required"}},
	{key: "tls_verify_client", field: "VerifyClientCert", kind: pOnOff},
	{key: "smtp_auth", field: "SMTPAuth", kind: pEnum, enum: []string{"off", "preferred", "required"}},
	{key: "smtp_auth_requires_tls", field: "RequireTLSForAuth", kind: pOnOff},
	{key: "dkim_signing", field: "DKIMSigning", kind: pOnOff},
	{key: "smime_harvest", field: "SMIMEHarvest", kind: pOnOff},
	{key: "smime_harvest_on_failure", field: "SMIMEHarvestOnFailure", kind: pOnOff},
	{key: "smime_harvest_updated", field: "SMIMEHarvestUpdated", kind: pOnOff},
	{key: "smime_gateway", field: "SMIMEGateway", kind: pOnOff},
	{key: "smime_signature", field: "SMIMESignature", kind: pEnum, enum: []string{"preserve", "remove"}},
	{key: "dkim_verify", field: "DKIMVerify", kind: pOnOff},
	{key: "dkim_verify_profile", field: "DKIMProfile", kind: pText},
	{key: "spf_verify", field: "SPFVerify", kind: pOnOff},
	{key: "spf_level", field: "SPFLevel", kind: pEnum, enum: []string{"spf_only", "sidf_compatible", "sidf_strict"}},
	{key: "spf_downgrade_pra", field: "SPFDowngradePRA", kind: pOnOff},
	{key: "spf_helo_check", field: "SPFHelo", kind: pOnOff},
	{key: "spf_timeout", field: "SPFTimeout", kind: pNumber, max: 60},
	{key: "dmarc_verify", field: "DMARCVerify", kind: pOnOff},
	{key: "dmarc_verify_profile", field: "DMARCProfile", kind: pText},
	{key: "dmarc_aggregate_reports", field: "DMARCReports", kind: pOnOff},
	{key: "enforce_sender_verify", field: "EnvelopeSenderVerify", kind: pOnOff},
	{key: "malformed_sender_code", field: "MalformedSenderCode", kind: pCode},
	{key: "malformed_sender_text", field: "MalformedSenderText", kind: pText},
	{key: "unresolved_sender_code", field: "UnresolvedSenderCode", kind: pCode},
	{key: "unresolved_sender_text", field: "UnresolvedSenderText", kind: pText},
	{key: "nonexistent_sender_code", field: "MissingSenderCode", kind: pCode},
	{key: "nonexistent_sender_text", field: "MissingSenderText", kind: pText},
	{key: "domain_exception_table", field: "DomainExceptionTable", kind: pOnOff},
	{key: "accept_untagged_bounces", field: "UntaggedBounces", kind: pOnOff},
}

// paramByKey finds a spec by its text key.
var paramByKey = map[string]*paramSpec{}

func init() {
	t := reflect.TypeOf(HATParams{})
	for i := range hatParams {
		f, ok := t.FieldByName(hatParams[i].field)
		if !ok {
			panic("config: hatParams names no field " + hatParams[i].field)
		}
		hatParams[i].index = f.Index[0]
		paramByKey[hatParams[i].key] = &hatParams[i]
	}
}

// check returns "" or why v does not fit the parameter. Zero values (unset)
// always fit.
func (sp *paramSpec) check(v reflect.Value) string {
	switch sp.kind {
	case pNumber:
		if n := v.Int(); n != 0 && (n < 1 || n > sp.max) {
			return fmt.Sprintf("The value must be a number from 1 to %d, not %d.", sp.max, n)
		}
	case pCode:
		if n := v.Int(); n != 0 && (n < 200 || n > 599) {
			return fmt.Sprintf("The value must be an SMTP code from 200 to 599, not %d.", n)
		}
	case pOnOff:
		if o := OnOff(v.String()); !o.Valid() {
			return fmt.Sprintf("The value must be \"on\" or \"off\", not %q.", string(o))
		}
	case pEnum:
		if s := v.String(); s != "" && !contains(sp.enum, s) {
			return fmt.Sprintf("The value must be one of %s, not %q.", quoteList(sp.enum), s)
		}
	case pHost:
		if s := v.String(); s != "" {
			if r := CheckHostname(s); r != "" {
				return r
			}
		}
	case pText:
		if s := v.String(); len(s) > 4096 {
			return "The value must be at most 4096 characters long."
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, e := range list {
		q[i] = strconv.Quote(e)
	}
	return strings.Join(q, ", ")
}

// ParamProblem is one parameter whose value does not fit.
type ParamProblem struct {
	Key string // the text key: max_concurrency
	Msg string
}

// CheckParams checks every parameter of a mail flow policy.
func CheckParams(p HATParams) []ParamProblem {
	var out []ParamProblem
	v := reflect.ValueOf(p)
	for i := range hatParams {
		sp := &hatParams[i]
		if msg := sp.check(v.Field(sp.index)); msg != "" {
			out = append(out, ParamProblem{Key: sp.key, Msg: msg})
		}
	}
	return out
}

// ParamKey is the text key of a HATParams field ("MaxConcurrency" ->
// "max_concurrency"), or "".
func ParamKey(field string) string {
	for i := range hatParams {
		if hatParams[i].field == field {
			return hatParams[i].key
		}
	}
	return ""
}
