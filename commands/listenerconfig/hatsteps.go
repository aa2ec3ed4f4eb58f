package listenerconfig

import (
	"strings"

	"esash/config"
)

// The steps of the mail flow policy parameter dialog, one per group of
// questions, in the order AsyncOS asks them (editParams lists them). Each
// asks about the parameters it is named after and nothing else; the
// answers go through paramDialog's helpers, which decide what is stored.

// askMessageLimits asks the maximum message size, the connections per IP,
// the messages per connection and the recipients per message.
func (d *paramDialog) askMessageLimits() error {
	p, def := d.p, d.def
	size := p.MaxMessageSize
	if size == 0 {
		size = def.MaxMessageSize
	}
	if size == 0 {
		size = 10 << 20
	}
	a, err := d.s.Ask("Enter the maximum message size. Add a trailing k for kilobytes, M for megabytes, or no letter for bytes.", formatSize(size), func(a string) string {
		if !d.dp && strings.EqualFold(a, "default") {
			return ""
		}
		if _, ok := parseSize(a); !ok {
			return "The value must be a size from 1 byte to 1024M: a number, optionally followed by k or M."
		}
		return ""
	})
	if err != nil {
		return err
	}
	if strings.EqualFold(a, "default") {
		p.MaxMessageSize = 0
	} else if n, _ := parseSize(a); d.dp || n != size {
		p.MaxMessageSize = n
	}
	if err := d.number("Enter the maximum number of concurrent connections allowed from a single IP address.", &p.MaxConcurrency, def.MaxConcurrency, 10, 1, 1000); err != nil {
		return err
	}
	if err := d.number("Enter the maximum number of messages per connection.", &p.MaxMsgsPerConn, def.MaxMsgsPerConn, 10, 1, 100000); err != nil {
		return err
	}
	return d.number("Enter the maximum number of recipients per message.", &p.MaxRcptsPerMsg, def.MaxRcptsPerMsg, 50, 1, 100000)
}

// askBanners asks the hostname of the SMTP banner (bannerHost, the
// interface's hostname, is offered when it is overridden) and the custom
// greeting and rejection responses.
func (d *paramDialog) askBanners(bannerHost string) error {
	p, def := d.p, d.def
	host := p.BannerHostname
	if host == "" {
		host = def.BannerHostname
	}
	override, err := d.s.YesNo("Do you want to override the hostname in the SMTP banner?", host != "")
	if err != nil {
		return err
	}
	if !override {
		p.BannerHostname = ""
	} else {
		if host == "" {
			host = bannerHost
		}
		h, err := d.s.Ask("Enter the hostname to use in the SMTP banner.", host, config.CheckHostname)
		if err != nil {
			return err
		}
		if d.dp || h != host || p.BannerHostname != "" {
			p.BannerHostname = h
		}
	}
	if err := d.response("Would you like to specify a custom SMTP response?", &p.BannerCode, &p.BannerText, def.BannerCode, def.BannerText, 220); err != nil {
		return err
	}
	return d.response("Would you like to specify a custom SMTP rejection response?", &p.RejectCode, &p.RejectText, def.RejectCode, def.RejectText, 554)
}

// askRateLimits asks the recipient rate limits per remote host and per
// envelope sender, with their limits, interval and response.
func (d *paramDialog) askRateLimits() error {
	p, def := d.p, d.def
	on, err := d.onoff("Do you want to enable rate limiting per host?", &p.RateLimit, def.RateLimit, false)
	if err != nil {
		return err
	}
	if on {
		if err := d.number("Enter the maximum number of recipients per hour from a remote host.", &p.MaxRcptsPerHour, def.MaxRcptsPerHour, 1000, 1, 100000000); err != nil {
			return err
		}
		if err := d.response("Would you like to specify a custom SMTP limit exceeded response?", &p.RateLimitCode, &p.RateLimitText, def.RateLimitCode, def.RateLimitText, 452); err != nil {
			return err
		}
	}
	if on, err = d.onoff("Do you want to enable rate limiting per envelope sender?", &p.SenderRateLimit, def.SenderRateLimit, false); err != nil || !on {
		return err
	}
	if err := d.number("Enter the maximum number of recipients per envelope sender.", &p.MaxRcptsPerSender, def.MaxRcptsPerSender, 1000, 1, 100000000); err != nil {
		return err
	}
	return d.number("Enter the time interval in minutes for Envelope Sender Rate Limiting.", &p.SenderRateInterval, def.SenderRateInterval, 60, 1, 1440)
}

// askHarvestPrevention asks Directory Harvest Attack Prevention: whether,
// the limit of invalid recipients, the action and its response.
func (d *paramDialog) askHarvestPrevention() error {
	p, def := d.p, d.def
	on, err := d.onoff("Do you want to enable Directory Harvest Attack Prevention per host?", &p.DHAP, def.DHAP, false)
	if err != nil || !on {
		return err
	}
	if err := d.number("Enter the maximum number of invalid recipients per hour from a remote host.", &p.DHAPLimit, def.DHAPLimit, 25, 1, 100000000); err != nil {
		return err
	}
	if _, err := d.choice("Select an action to apply when a recipient is rejected due to DHAP:", &p.DHAPAction, def.DHAPAction,
		[]string{"Drop the connection", "Send an SMTP code"}, []string{"drop", "code"}); err != nil {
		return err
	}
	if err := d.response("Would you like to specify a custom SMTP DHAP response?", &p.DHAPCode, &p.DHAPText, def.DHAPCode, def.DHAPText, 550); err != nil {
		return err
	}
	return nil
}

// askExceptionList asks AsyncOS's "Address List to define exceptions"
// (after the harvest prevention block, whatever its answer). esash has no
// address lists (addresslistconfig), so None is the one item: a script's
// blank, 1 or None passes, the name of a list is refused as not in it.
func (d *paramDialog) askExceptionList() error {
	_, err := d.s.Choose("Select an Address List to define exceptions:", []string{"None"}, 1, true)
	return err
}

// askSenderBase asks whether SenderBase controls the flow and, when it
// does not, how hosts are grouped.
func (d *paramDialog) askSenderBase() error {
	p, def := d.p, d.def
	sb, err := d.onoff("Would you like to use SenderBase for flow control by default?", &p.UseSenderBase, def.UseSenderBase, true)
	if err != nil || sb {
		return err
	}
	grp, err := d.onoff("Would you like to group hosts by the similarity of their IP addresses?", &p.HostGrouping, def.HostGrouping, false)
	if err != nil || !grp {
		return err
	}
	if err := d.number("Enter the number of bits of IP address to treat as significant, from 16 to 32.", &p.SignificantBits, def.SignificantBits, 24, 16, 32); err != nil {
		return err
	}
	return d.askTrustedRelay()
}

// qTrustedRelay is AsyncOS's question as Cisco's automation matches it
// (IAF EditHatParameters, "delayed_sb"), its spelling included.
const qTrustedRelay = "Will this IronPort applicance need to fetch the incoming address (for SenderBase) from a trusted relay's header?"

// askTrustedRelay asks whether the client's address comes from a trusted
// relay's header, and which header; only after the significant bits of
// host grouping (see the package comment). Stored and refused at commit
// unless no (config inventory): esash takes every address from the
// connection.
func (d *paramDialog) askTrustedRelay() error {
	p, def := d.p, d.def
	on, err := d.onoff(qTrustedRelay, &p.TrustedRelay, def.TrustedRelay, false)
	if err != nil || !on {
		if err == nil && d.dp {
			p.TrustedRelayHeader = ""
		}
		return err
	}
	cur := p.TrustedRelayHeader
	if cur == "" {
		cur = def.TrustedRelayHeader
	}
	h, err := d.s.Ask("Enter the header name containing the IP address.", cur, checkHeaderName)
	if err != nil {
		return err
	}
	if d.dp || h != cur || p.TrustedRelayHeader != "" {
		p.TrustedRelayHeader = h
	}
	return nil
}

// checkHeaderName accepts an RFC 5322 field name.
func checkHeaderName(h string) string {
	for _, r := range h {
		if r <= ' ' || r > '~' || r == ':' {
			return "The value must be a header name: printable characters without spaces or colons."
		}
	}
	return ""
}

// askScanning asks which scanning engines and filters run.
func (d *paramDialog) askScanning() error {
	p, def := d.p, d.def
	for _, q := range []struct {
		text     string
		cur      *config.OnOff
		inh      config.OnOff
		fallback bool
	}{
		{"Would you like to enable anti-spam scanning?", &p.SpamCheck, def.SpamCheck, true},
		{"Would you like to enable anti-virus scanning?", &p.VirusCheck, def.VirusCheck, true},
		{"Would you like to enable Sender Domain Reputation scanning?", &p.SDRCheck, def.SDRCheck, false},
		{"Would you like to enable Outbreak Filters?", &p.OutbreakFilters, def.OutbreakFilters, true},
		{"Would you like to enable Advanced Phishing Protection scanning?", &p.PhishingCheck, def.PhishingCheck, false},
		{"Would you like to enable Graymail scanning?", &p.GraymailCheck, def.GraymailCheck, true},
		{"Would you like to enable Content Filters?", &p.ContentFilters, def.ContentFilters, true},
		{"Would you like to enable Message Filters?", &p.MessageFilters, def.MessageFilters, true},
	} {
		if _, err := d.onoff(q.text, q.cur, q.inh, q.fallback); err != nil {
			return err
		}
	}
	return nil
}

// tlsItems are the inbound TLS choices: AsyncOS's No, Preferred and
// Required, and client certificate verification as the same list's
// "Preferred - Verify" and "Required - Verify" (see the package comment).
var (
	tlsItems  = []string{"No", "Preferred", "Required", "Preferred - Verify", "Required - Verify"}
	tlsValues = []string{"off", "preferred", "required", "preferred_verify", "required_verify"}
)

// tlsChoice is the list value of a TLS setting and its verification.
func tlsChoice(tls config.TLSIn, verify config.OnOff) string {
	switch {
	case tls == "" || tls == config.TLSInOff:
		return string(config.TLSInOff)
	case verify.EqualBool(true):
		return string(tls) + "_verify"
	}
	return string(tls)
}

// askTLS asks whether TLS is allowed, and with client certificate
// verification; for Preferred, the address list that enforces TLS; with
// the demo certificate (cert is the listener's) it warns and lets the
// administrator keep TLS off.
func (d *paramDialog) askTLS(cert string) error {
	p, def := d.p, d.def
	inherited := tlsChoice(def.TLS, def.VerifyClientCert)
	own := "" // the policy's own choice; "" inherits the default policy's
	if p.TLS != config.TLSInDefault || p.VerifyClientCert != config.UseDefault {
		tls := p.TLS
		if tls == config.TLSInDefault {
			tls = def.TLS
		}
		own = tlsChoice(tls, p.VerifyClientCert.Or(def.VerifyClientCert))
	}
	cur := own
	chosen, err := d.choice("Do you want to allow encrypted TLS connections?", &cur, inherited, tlsItems, tlsValues)
	if err != nil {
		return err
	}
	if d.dp || cur != own {
		tls, verify := strings.CutSuffix(cur, "_verify")
		p.TLS = config.TLSIn(tls)
		// A named policy keeps inheriting the verification it agrees with.
		if d.dp || p.VerifyClientCert != config.UseDefault || !def.VerifyClientCert.Or(config.Off).EqualBool(verify) {
			p.VerifyClientCert = config.NewOnOff(verify)
		}
	}
	if chosen == string(config.TLSInOff) {
		return nil
	}
	if strings.HasPrefix(chosen, string(config.TLSInPreferred)) {
		// esash has no address lists: None is the one item (as in
		// askExceptionList).
		if _, err := d.s.Choose("Choose address list to enforce TLS:", []string{"None"}, 1, true); err != nil {
			return err
		}
	}
	if cert != "Demo" && cert != "" {
		return nil
	}
	d.s.Println("You may use the demo certificate to test TLS, but this will not be secure.")
	ok, err := d.s.YesNo("Do you really wish to use the demo certificate?", true)
	if err != nil || ok {
		return err
	}
	p.TLS, p.VerifyClientCert = config.TLSInOff, config.Off
	if !d.dp && def.TLS == config.TLSInOff {
		p.TLS, p.VerifyClientCert = config.TLSInDefault, config.UseDefault
	}
	d.s.Println("TLS stays off. Choose a certificate with EDIT > CERTIFICATE, then allow TLS.")
	return nil
}

// askSMTPAuth asks whether SMTP authentication is offered and whether
// only over TLS.
func (d *paramDialog) askSMTPAuth() error {
	p, def := d.p, d.def
	auth, err := d.choice("Do you want to allow SMTP authentication?", &p.SMTPAuth, def.SMTPAuth,
		[]string{"No", "Preferred", "Required"}, []string{"off", "preferred", "required"})
	if err != nil || auth == "off" {
		return err
	}
	_, err = d.onoff("Require TLS to offer SMTP authentication?", &p.RequireTLSForAuth, def.RequireTLSForAuth, false)
	return err
}

// askDKIMSigning asks whether outgoing mail is DKIM/DomainKeys signed.
func (d *paramDialog) askDKIMSigning() error {
	_, err := d.onoff("Would you like to enable DKIM/DomainKeys signing?", &d.p.DKIMSigning, d.def.DKIMSigning, false)
	return err
}

// askSMIME asks S/MIME public key harvesting and gateway decryption and
// verification, with their options.
func (d *paramDialog) askSMIME() error {
	p, def := d.p, d.def
	on, err := d.onoff("Would you like to enable S/MIME Public Key Harvesting?", &p.SMIMEHarvest, def.SMIMEHarvest, false)
	if err != nil {
		return err
	}
	if on {
		if _, err := d.onoff("Would you like to harvest certificate on verification failure?", &p.SMIMEHarvestOnFailure, def.SMIMEHarvestOnFailure, false); err != nil {
			return err
		}
		if _, err := d.onoff("Would you like to harvest updated certificate?", &p.SMIMEHarvestUpdated, def.SMIMEHarvestUpdated, true); err != nil {
			return err
		}
	}
	if on, err = d.onoff("Would you like to enable S/MIME gateway decryption/verification?", &p.SMIMEGateway, def.SMIMEGateway, false); err != nil || !on {
		return err
	}
	_, err = d.choice("Select the appropriate operation for the S/MIME signature processing:", &p.SMIMESignature, def.SMIMESignature,
		[]string{"Preserve Signature", "Remove Signature"}, []string{"preserve", "remove"})
	return err
}

// askDKIMVerification asks whether incoming mail is DKIM verified, and
// with which profile.
func (d *paramDialog) askDKIMVerification() error {
	p, def := d.p, d.def
	on, err := d.onoff("Would you like to enable DKIM verification?", &p.DKIMVerify, def.DKIMVerify, false)
	if err != nil || !on {
		return err
	}
	_, err = d.choice("Select the DKIM verification profile to use:", &p.DKIMProfile, def.DKIMProfile,
		[]string{"DEFAULT"}, []string{"DEFAULT"})
	return err
}

// askSPF asks, when the administrator wants to change them, the SPF/SIDF
// verification settings.
func (d *paramDialog) askSPF() error {
	p, def := d.p, d.def
	change, err := d.s.YesNo("Would you like to change SPF/SIDF settings?", false)
	if err != nil || !change {
		return err
	}
	on, err := d.onoff("Would you like to perform SPF/SIDF Verification?", &p.SPFVerify, def.SPFVerify, true)
	if err != nil || !on {
		return err
	}
	level, err := d.choice("What Conformance Level would you like to use?", &p.SPFLevel, def.SPFLevel,
		[]string{"SPF only", "SIDF compatible", "SIDF strict"}, []string{"spf_only", "sidf_compatible", "sidf_strict"})
	if err != nil {
		return err
	}
	if level == "sidf_compatible" {
		if _, err := d.onoff(`Would you like to Downgrade PRA verification result "Pass" to "None" if the "Resent-Sender:" or "Resent-From:" headers are present?`,
			&p.SPFDowngradePRA, def.SPFDowngradePRA, false); err != nil {
			return err
		}
	}
	if _, err := d.onoff("Would you like to have the HELO check performed?", &p.SPFHelo, def.SPFHelo, true); err != nil {
		return err
	}
	return d.number("Verification timeout (in seconds):", &p.SPFTimeout, def.SPFTimeout, 40, 1, 60)
}

// askDMARC asks whether incoming mail is DMARC verified, with which
// profile, and whether aggregate reports are sent.
func (d *paramDialog) askDMARC() error {
	p, def := d.p, d.def
	on, err := d.onoff("Would you like to enable DMARC verification?", &p.DMARCVerify, def.DMARCVerify, false)
	if err != nil || !on {
		return err
	}
	if _, err := d.choice("Select the DMARC verification profile to use:", &p.DMARCProfile, def.DMARCProfile,
		[]string{"DEFAULT"}, []string{"DEFAULT"}); err != nil {
		return err
	}
	_, err = d.onoff("Would you like to send aggregate reports?", &p.DMARCReports, def.DMARCReports, false)
	return err
}

// askSenderVerification asks envelope sender DNS verification: whether,
// its three responses, and the domain exception table.
func (d *paramDialog) askSenderVerification() error {
	p, def := d.p, d.def
	on, err := d.onoff("Would you like to enable envelope sender verification?", &p.EnvelopeSenderVerify, def.EnvelopeSenderVerify, false)
	if err != nil || !on {
		return err
	}
	if err := d.response("Would you like to specify a custom SMTP response for malformed envelope senders?",
		&p.MalformedSenderCode, &p.MalformedSenderText, def.MalformedSenderCode, def.MalformedSenderText, 553); err != nil {
		return err
	}
	if err := d.response("Would you like to specify a custom SMTP response for envelope sender domains which do not resolve?",
		&p.UnresolvedSenderCode, &p.UnresolvedSenderText, def.UnresolvedSenderCode, def.UnresolvedSenderText, 451); err != nil {
		return err
	}
	if err := d.response("Would you like to specify a custom SMTP response for envelope sender domains which do not exist?",
		&p.MissingSenderCode, &p.MissingSenderText, def.MissingSenderCode, def.MissingSenderText, 553); err != nil {
		return err
	}
	_, err = d.onoff("Would you like to enable use of the domain exception table?", &p.DomainExceptionTable, def.DomainExceptionTable, false)
	return err
}

// askUntaggedBounces asks whether bounces without a Bounce Verification
// tag are accepted.
func (d *paramDialog) askUntaggedBounces() error {
	_, err := d.onoff("Would you like to accept untagged bounces?", &d.p.UntaggedBounces, d.def.UntaggedBounces, false)
	return err
}
