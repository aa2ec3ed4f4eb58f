package listenerconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// The mail flow policy parameter dialog, in the order of AsyncOS's
// questions, as named steps (hatsteps.go). For a named policy each question shows the value in force (the
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
		d.askMessageLimits,
		func() error { return d.askBanners(banner) },
		d.askRateLimits,
		d.askHarvestPrevention,
		d.askExceptionList,
		d.askSenderBase,
		d.askScanning,
		func() error { return d.askTLS(l.Certificate) },
		d.askSMTPAuth,
		d.askDKIMSigning,
		d.askSMIME,
		d.askDKIMVerification,
		d.askSPF,
		d.askDMARC,
		d.askSenderVerification,
		d.askUntaggedBounces,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// onoff asks a yes/no question about an on/off parameter. The answer
// offered is the value in force: the policy's own, else the inherited
// one, else fallback.
func (d *paramDialog) onoff(q string, cur *config.OnOff, inherited config.OnOff, fallback bool) (bool, error) {
	eff := cur.Or(inherited).Or(config.NewOnOff(fallback))
	on, err := d.s.YesNo(q, eff.EqualBool(true))
	if err != nil {
		return false, err
	}
	if v := config.NewOnOff(on); d.dp || v != eff {
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

// printDefaults is the Default Policy Parameters summary AsyncOS shows
// above HOSTACCESS and before NEW's "change the default host access
// policy" question.
func printDefaults(s *shell.Session, p config.HATParams) {
	enabled := func(v config.OnOff) string {
		if v.EqualBool(true) {
			return "Enabled"
		}
		return "Disabled"
	}
	perHour := func(on config.OnOff, n int) string {
		if !on.EqualBool(true) {
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
	if p.DHAP.EqualBool(true) {
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
