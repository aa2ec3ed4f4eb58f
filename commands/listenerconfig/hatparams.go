package listenerconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// The mail flow policy parameter dialog, in the order of AsyncOS's three
// blocks. For a named policy each question shows the value in force (the
// policy's own or, when it has none, the listener default's); an answer
// equal to it keeps the policy as it was, inheriting or not, and numbers
// and texts also take the word "default" to go back to inheriting. For the
// default policy itself every answer is stored.

type paramDialog struct {
	s   *shell.Session
	p   *config.HATParams // being edited
	def config.HATParams  // the listener default (zero when editing it)
	dp  bool              // editing the default policy
}

// editParams runs the dialog over p. def is the listener default, nil when
// p is the default. cfg and l give the listener's certificate (the demo
// warning) and its interface hostname (the banner default).
func editParams(s *shell.Session, p *config.HATParams, def *config.HATParams, cfg *config.Config, l config.Listener) error {
	d := &paramDialog{s: s, p: p, dp: def == nil}
	if def != nil {
		d.def = *def
	}
	banner := cfg.Hostname
	if in, ok := findInterface(cfg, l.Interface); ok {
		banner = in.Hostname
	}
	for _, step := range []func() error{
		func() error { return d.block1(banner) },
		d.block2,
		func() error { return d.block3(l.Certificate) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// onoff asks a yes/no question about an "on"/"off" parameter.
func (d *paramDialog) onoff(q string, cur *string, inherited string, fallback bool) (bool, error) {
	eff := *cur
	if eff == "" {
		eff = inherited
	}
	if eff == "" {
		eff = onOff(fallback)
	}
	on, err := d.s.YesNo(q, eff == "on")
	if err != nil {
		return false, err
	}
	if v := onOff(on); d.dp || v != eff {
		*cur = v
	}
	return on, nil
}

// number asks for an integer parameter.
func (d *paramDialog) number(q string, cur *int, inherited, fallback, lo, hi int) error {
	eff := *cur
	if eff == 0 {
		eff = inherited
	}
	if eff == 0 {
		eff = fallback
	}
	a, err := d.s.Ask(q, strconv.Itoa(eff), func(a string) string {
		if !d.dp && strings.EqualFold(a, "default") {
			return ""
		}
		return checkRange(lo, hi)(a)
	})
	if err != nil {
		return err
	}
	if strings.EqualFold(a, "default") {
		*cur = 0
		return nil
	}
	if n, _ := strconv.Atoi(a); d.dp || n != eff {
		*cur = n
	}
	return nil
}

// choice asks a numbered list for an enumerated parameter; values[i] is
// the stored value of items[i].
func (d *paramDialog) choice(q string, cur *string, inherited string, items, values []string) (string, error) {
	eff := *cur
	if eff == "" {
		eff = inherited
	}
	def := slices.Index(values, eff) + 1
	if def == 0 {
		def = 1
	}
	k, err := d.s.Choose(q, items, def, true)
	if err != nil {
		return "", err
	}
	if v := values[k]; d.dp || v != eff {
		*cur = v
	}
	return values[k], nil
}

// response asks whether to use a custom SMTP response and, if so, its code
// and text. The text is typed line by line and ended by a blank line; a
// blank first line keeps the text in force.
func (d *paramDialog) response(q string, code *int, text *string, inCode int, inText string, std int) error {
	effText := *text
	if effText == "" {
		effText = inText
	}
	custom, err := d.s.YesNo(q, effText != "")
	if err != nil {
		return err
	}
	if !custom {
		*text = ""
		return nil
	}
	if err := d.number(fmt.Sprintf("Enter the SMTP code to use in the response. %d is the standard code.", std), code, inCode, std, 200, 599); err != nil {
		return err
	}
	d.s.Println("Enter your custom SMTP response. Press Enter on a blank line to finish.")
	var lines []string
	for {
		ln, err := d.s.AskOptional("", "", nil)
		if err != nil {
			return err
		}
		if ln == "" {
			break
		}
		lines = append(lines, ln)
	}
	if t := strings.Join(lines, "\n"); t != "" && (d.dp || t != effText) {
		*text = t
	} else if d.dp && t == "" {
		*text = effText
	}
	return nil
}

func (d *paramDialog) block1(bannerHost string) error {
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
	if err := d.number("Enter the maximum number of recipients per message.", &p.MaxRcptsPerMsg, def.MaxRcptsPerMsg, 50, 1, 100000); err != nil {
		return err
	}
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

func (d *paramDialog) block2() error {
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
	if on, err = d.onoff("Do you want to enable rate limiting per envelope sender?", &p.SenderRateLimit, def.SenderRateLimit, false); err != nil {
		return err
	}
	if on {
		if err := d.number("Enter the maximum number of recipients per envelope sender.", &p.MaxRcptsPerSender, def.MaxRcptsPerSender, 1000, 1, 100000000); err != nil {
			return err
		}
		if err := d.number("Enter the time interval in minutes for Envelope Sender Rate Limiting.", &p.SenderRateInterval, def.SenderRateInterval, 60, 1, 1440); err != nil {
			return err
		}
	}
	if on, err = d.onoff("Do you want to enable Directory Harvest Attack Prevention per host?", &p.DHAP, def.DHAP, false); err != nil {
		return err
	}
	if on {
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
	}
	// AsyncOS asks next for an Address List of exceptions; esash has no
	// address lists, so there is nothing to choose and nothing is asked.
	return nil
}

func (d *paramDialog) block3(cert string) error {
	p, def := d.p, d.def
	sb, err := d.onoff("Would you like to use SenderBase for flow control by default?", &p.UseSenderBase, def.UseSenderBase, true)
	if err != nil {
		return err
	}
	if !sb {
		grp, err := d.onoff("Would you like to group hosts by the similarity of their IP addresses?", &p.HostGrouping, def.HostGrouping, false)
		if err != nil {
			return err
		}
		if grp {
			if err := d.number("Enter the number of bits of IP address to treat as significant, from 16 to 32.", &p.SignificantBits, def.SignificantBits, 24, 16, 32); err != nil {
				return err
			}
		}
	}
	for _, q := range []struct {
		text     string
		cur      *string
		inh      string
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
	tlsCur := string(p.TLS)
	tls, err := d.choice("Do you want to allow encrypted TLS connections?", &tlsCur, string(def.TLS),
		[]string{"No", "Preferred", "Required"}, []string{"off", "preferred", "required"})
	if err != nil {
		return err
	}
	p.TLS = config.TLSIn(tlsCur)
	if tls != "off" {
		if _, err := d.onoff("Would you like to verify client certificates?", &p.VerifyClientCert, def.VerifyClientCert, false); err != nil {
			return err
		}
		if cert == "Demo" || cert == "" {
			d.s.Println("You may use the demo certificate to test TLS, but this will not be secure.")
			ok, err := d.s.YesNo("Do you really wish to use the demo certificate?", true)
			if err != nil {
				return err
			}
			if !ok {
				p.TLS = config.TLSInOff
				if !d.dp && def.TLS == config.TLSInOff {
					p.TLS = config.TLSInDefault
				}
				d.s.Println("TLS stays off. Choose a certificate with EDIT > CERTIFICATE, then allow TLS.")
			}
		}
	}
	auth, err := d.choice("Do you want to allow SMTP authentication?", &p.SMTPAuth, def.SMTPAuth,
		[]string{"No", "Preferred", "Required"}, []string{"off", "preferred", "required"})
	if err != nil {
		return err
	}
	if auth != "off" {
		if _, err := d.onoff("Require TLS to offer SMTP authentication?", &p.RequireTLSForAuth, def.RequireTLSForAuth, false); err != nil {
			return err
		}
	}
	if _, err := d.onoff("Would you like to enable DKIM/DomainKeys signing?", &p.DKIMSigning, def.DKIMSigning, false); err != nil {
		return err
	}
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
	if on, err = d.onoff("Would you like to enable S/MIME gateway decryption/verification?", &p.SMIMEGateway, def.SMIMEGateway, false); err != nil {
		return err
	}
	if on {
		if _, err := d.choice("Select the appropriate operation for the S/MIME signature processing:", &p.SMIMESignature, def.SMIMESignature,
			[]string{"Preserve Signature", "Remove Signature"}, []string{"preserve", "remove"}); err != nil {
			return err
		}
	}
	if on, err = d.onoff("Would you like to enable DKIM verification?", &p.DKIMVerify, def.DKIMVerify, false); err != nil {
		return err
	}
	if on {
		if _, err := d.choice("Select the DKIM verification profile to use:", &p.DKIMProfile, def.DKIMProfile,
			[]string{"DEFAULT"}, []string{"DEFAULT"}); err != nil {
			return err
		}
	}
	if err := d.spf(); err != nil {
		return err
	}
	if on, err = d.onoff("Would you like to enable DMARC verification?", &p.DMARCVerify, def.DMARCVerify, false); err != nil {
		return err
	}
	if on {
		if _, err := d.choice("Select the DMARC verification profile to use:", &p.DMARCProfile, def.DMARCProfile,
			[]string{"DEFAULT"}, []string{"DEFAULT"}); err != nil {
			return err
		}
		if _, err := d.onoff("Would you like to send aggregate reports?", &p.DMARCReports, def.DMARCReports, false); err != nil {
			return err
		}
	}
	if on, err = d.onoff("Would you like to enable envelope sender verification?", &p.EnvelopeSenderVerify, def.EnvelopeSenderVerify, false); err != nil {
		return err
	}
	if on {
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
		if _, err := d.onoff("Would you like to enable use of the domain exception table?", &p.DomainExceptionTable, def.DomainExceptionTable, false); err != nil {
			return err
		}
	}
	_, err = d.onoff("Would you like to accept untagged bounces?", &p.UntaggedBounces, def.UntaggedBounces, false)
	return err
}

func (d *paramDialog) spf() error {
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

// printDefaults is the Default Policy Parameters summary AsyncOS shows
// above HOSTACCESS and before NEW's "change the default host access
// policy" question.
func printDefaults(s *shell.Session, p config.HATParams) {
	enabled := func(v string) string {
		if v == "on" {
			return "Enabled"
		}
		return "Disabled"
	}
	perHour := func(on string, n int) string {
		if on != "on" {
			return "Disabled"
		}
		return strconv.Itoa(n)
	}
	tls := map[config.TLSIn]string{config.TLSInOff: "No", config.TLSInPreferred: "Preferred", config.TLSInRequired: "Required"}[p.TLS]
	// mark: settings esash stores only for script compatibility say so (docs/settings.md).
	mark := func(key, v string) string { return config.MarkInactive("listeners[*].default_policy."+key, v) }
	s.Println("Default Policy Parameters")
	s.Println("==========================")
	s.Printf("Maximum Message Size: %s\n", formatSize(p.MaxMessageSize))
	s.Printf("Maximum Number Of Concurrent Connections From A Single IP: %d\n", p.MaxConcurrency)
	s.Printf("Maximum Number Of Messages Per Connection: %d\n", p.MaxMsgsPerConn)
	s.Printf("Maximum Number Of Recipients Per Message: %d\n", p.MaxRcptsPerMsg)
	s.Printf("Directory Harvest Attack Prevention: %s\n", mark("dhap", enabled(p.DHAP)))
	if p.DHAP == "on" {
		s.Printf("Maximum Number Of Invalid Recipients Per Hour: %s\n", mark("dhap_limit", strconv.Itoa(p.DHAPLimit)))
	}
	s.Printf("Maximum Number Of Recipients Per Hour: %s\n", perHour(p.RateLimit, p.MaxRcptsPerHour))
	s.Printf("Maximum Number Of Recipients Per Envelope Sender: %s\n", perHour(p.SenderRateLimit, p.MaxRcptsPerSender))
	s.Printf("Use SenderBase for Flow Control: %s\n", mark("use_sb", yesNo(p.UseSenderBase)))
	s.Printf("Spam Detection Enabled: %s\n", mark("spam_check", yesNo(p.SpamCheck)))
	s.Printf("Virus Detection Enabled: %s\n", mark("virus_check", yesNo(p.VirusCheck)))
	s.Printf("Allow TLS Connections: %s\n", tls)
	if p.TLS != config.TLSInOff {
		s.Printf("Verify Client Certificate: %s\n", yesNo(p.VerifyClientCert))
	}
	s.Printf("Allow SMTP Authentication: %s\n", titleCase(p.SMTPAuth))
	s.Printf("Require TLS To Offer SMTP authentication: %s\n", yesNo(p.RequireTLSForAuth))
	s.Printf("DKIM/DomainKeys Signing Enabled: %s\n", mark("dkim_signing", yesNo(p.DKIMSigning)))
	s.Printf("DKIM Verification Enabled: %s\n", mark("dkim_verify", yesNo(p.DKIMVerify)))
	s.Printf("SPF/SIDF Verification Enabled: %s\n", mark("spf_verify", yesNo(p.SPFVerify)))
	s.Printf("DMARC Verification Enabled: %s\n", mark("dmarc_verify", yesNo(p.DMARCVerify)))
	s.Printf("Envelope Sender DNS Verification Enabled: %s\n", yesNo(p.EnvelopeSenderVerify))
	s.Printf("Domain Exception Table Enabled: %s\n", yesNo(p.DomainExceptionTable))
	s.Printf("Accept Untagged Bounces: %s\n", yesNo(p.UntaggedBounces))
	s.Println()
}

// formatSize writes a byte count as AsyncOS shows sizes: 10M, 512k, 1000.
func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n > 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// parseSize reads 10M, 512k or 1000 (bytes), from 1 byte to 1024M.
func parseSize(a string) (int64, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(a, "k"), strings.HasSuffix(a, "K"):
		mult, a = 1<<10, a[:len(a)-1]
	case strings.HasSuffix(a, "m"), strings.HasSuffix(a, "M"):
		mult, a = 1<<20, a[:len(a)-1]
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 1 || n > (1<<30)/mult {
		return 0, false
	}
	return n * mult, true
}
