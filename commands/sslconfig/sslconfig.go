// Package sslconfig is the sslconfig command (AsyncOS 14 dialect, reference
// asyncos-cli-2 section 1): the TLS versions and the TLS 1.2 cipher string
// of the web interface's HTTPS (GUI), the listeners' STARTTLS (INBOUND)
// and delivery's STARTTLS (OUTBOUND), and VERIFY, which shows the suites a
// cipher string selects. Changes are staged; the commit applies them to
// the next handshake of each service.
//
// Screen: the "sslconfig settings:" block in the 2016 layout (a "label:
// value" line per method; a "label:" line per cipher string, then the
// string split at ':' one element per line), then the menu; one blank
// line returns to the main prompt. The indentation (two spaces before a
// label, three before a cipher element) follows the technote transcripts
// as remembered [I]; scripts parse "label: value" and are not affected.
//
// Where esash departs from AsyncOS, and why:
//   - The method list is 215282's (1. TLS v1.0, 2. TLS v1.1, 3. TLS v1.2)
//     with "4. TLS v1.3" in place of SSL v2 and v3, which crypto/tls does
//     not implement at all. An answer is a number, a range ("1-3"), a list
//     ("2,3"), an item's text ("TLS v1.3") or a method value
//     ("tlsv1_2tlsv1_3"); the versions must be consecutive (215282: TLS 1.0
//     and 1.2 only together with 1.1). The wording of that refusal is ours
//     [U]. Method values join the version names as AsyncOS 12 prints them
//     (tlsv1_2), which for several versions is inferred [U].
//   - The cipher string is OpenSSL's language for TLS 1.2 and earlier,
//     mapped onto the suites crypto/tls implements (config/cipherlist.go).
//     Unknown words and strings that select no suite are refused at the
//     question, naming what is accepted. TLS 1.3 suites cannot be chosen:
//     crypto/tls always enables its three, as OpenSSL's cipher string
//     never reaches them either.
//   - TLS Renegotiation (GUI and INBOUND, AsyncOS 13.0 and later) is asked
//     as IAF scripts answer it, 1 to enable or 0 to disable [U wording],
//     and enabling is refused: crypto/tls never renegotiates as a server,
//     so the setting could not be enforced. It is not stored; "disabled"
//     is what runs (openssl s_client's renegotiation gets an alert from
//     the listeners and the GUI: TestSSLConfigPeers in cmd/esash).
//   - VERIFY's question and output are [U]: the question mirrors the
//     others, the output is openssl ciphers -v's, TLS 1.3 suites first as
//     OpenSSL prints them, then the TLS 1.2 suites the string selects in
//     the order crypto/tls prefers them (the order of a string does not
//     matter to crypto/tls).
//   - OTHER_CLIENT_TLSV10, PEER_CERT_FQDN, PEER_CERT_X509 (late 13.8 and
//     14.x) and the cluster items are not offered: esash has no other TLS
//     clients, verifies peers per destination (destconfig), and no cluster.
//   - Defaults are what esash did before sslconfig: TLS 1.2 and 1.3, the
//     six ECDHE AEAD suites inbound and for the GUI, crypto/tls's default
//     list for delivery.
package sslconfig

import (
	"fmt"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is sslconfig.
type Command struct{}

// New returns the sslconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "sslconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure SSL/TLS settings" }

// service is one of the three services sslconfig sets.
type service struct {
	label string // "GUI HTTPS", as the settings block names it
	noun  string // "GUI HTTPS", "inbound SMTP", as the questions name it
	reneg bool   // asks the renegotiation question
	field func(*config.SSL) *config.SSLService
}

var services = []service{
	{"GUI HTTPS", "GUI HTTPS", true, func(s *config.SSL) *config.SSLService { return &s.GUI }},
	{"Inbound SMTP", "inbound SMTP", true, func(s *config.SSL) *config.SSLService { return &s.Inbound }},
	{"Outbound SMTP", "outbound SMTP", false, func(s *config.SSL) *config.SSLService { return &s.Outbound }},
}

// Run shows the settings and the menu.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "sslconfig", "takes no batch arguments")
	}
	return s.Menu(settings, []shell.MenuItem{
		{Name: "GUI", Help: "Edit GUI HTTPS ssl settings.", Run: func(s *shell.Session) error { return edit(s, services[0]) }},
		{Name: "INBOUND", Help: "Edit Inbound SMTP ssl settings.", Run: func(s *shell.Session) error { return edit(s, services[1]) }},
		{Name: "OUTBOUND", Help: "Edit Outbound SMTP ssl settings.", Run: func(s *shell.Session) error { return edit(s, services[2]) }},
		{Name: "VERIFY", Help: "Verify and show ssl cipher list.", Run: verify},
	})
}

// settings prints the sslconfig settings block.
func settings(s *shell.Session) {
	eff := s.Draft.Config().SSL.Effective()
	s.Println("sslconfig settings:")
	for _, svc := range services {
		v := svc.field(&eff)
		s.Printf("  %s method: %s\n", svc.label, v.Method)
		s.Printf("  %s ciphers:\n", svc.label)
		for _, el := range strings.Split(v.Ciphers, ":") {
			s.Printf("   %s\n", el)
		}
	}
}

// edit asks the method, the cipher string and (GUI, INBOUND) the
// renegotiation question, then stages the service's setting.
func edit(s *shell.Session, svc service) error {
	eff := s.Draft.Config().SSL.Effective()
	cur := *svc.field(&eff)
	method, err := askMethod(s, svc, cur.Method)
	if err != nil {
		return err
	}
	if lo, _, _ := config.ParseSSLMethod(method); config.TLSVersionChoices()[lo].Label == "TLS v1.3" {
		s.Println("TLS v1.3 suites are not configurable; the cipher string applies when TLS v1.2 or earlier is enabled.")
	}
	ciphers, err := s.Ask(fmt.Sprintf("Enter the %s ssl cipher you want to use.", svc.noun), cur.Ciphers, func(a string) string {
		_, msg := config.CheckSSLService(config.SSLService{Method: method, Ciphers: a})
		return msg
	})
	if err != nil {
		return err
	}
	if svc.reneg {
		if err := askRenegotiation(s, svc); err != nil {
			return err
		}
	}
	return s.Draft.Update(func(c *config.Config) error {
		*svc.field(&c.SSL) = config.SSLService{Method: method, Ciphers: ciphers}
		return nil
	})
}

// askMethod shows the version list and reads a selection of consecutive
// versions.
func askMethod(s *shell.Session, svc service, cur string) (string, error) {
	choices := config.TLSVersionChoices()
	def := ""
	if lo, hi, err := config.ParseSSLMethod(cur); err == nil {
		def = methodAnswer(lo, hi)
	}
	for {
		s.Printf("Enter the %s ssl method you want to use.\n", svc.noun)
		for i, c := range choices {
			s.Printf("%d. %s\n", i+1, c.Label)
		}
		ans, err := s.Ask("", def, nil)
		if err != nil {
			return "", err
		}
		lo, hi, msg := parseMethodAnswer(ans)
		if msg == "" {
			return config.SSLMethod(lo, hi), nil
		}
		if err := s.Reject(msg); err != nil {
			return "", err
		}
	}
}

// methodAnswer writes a range of the list as its answer: "3" or "3-4".
func methodAnswer(lo, hi int) string {
	if lo == hi {
		return strconv.Itoa(lo + 1)
	}
	return fmt.Sprintf("%d-%d", lo+1, hi+1)
}

// parseMethodAnswer reads an answer to the method question: numbers,
// ranges and lists of them, an item's text, or a method value. It returns
// the range of versions or the message for a bad answer.
func parseMethodAnswer(ans string) (lo, hi int, msg string) {
	choices := config.TLSVersionChoices()
	for i, c := range choices {
		if strings.EqualFold(ans, c.Label) {
			return i, i, ""
		}
	}
	if lo, hi, err := config.ParseSSLMethod(ans); err == nil {
		return lo, hi, ""
	}
	bad := fmt.Sprintf("The value must be a number from 1 to %d, a range such as 1-3, a list such as 2,3 or the name of a version listed.", len(choices))
	chosen := make([]bool, len(choices))
	for _, part := range strings.Split(ans, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			b = a
		}
		from, err1 := strconv.Atoi(strings.TrimSpace(a))
		to, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || from < 1 || to > len(choices) || from > to {
			return 0, 0, bad
		}
		for n := from; n <= to; n++ {
			chosen[n-1] = true
		}
	}
	lo, hi = -1, -1
	for i, on := range chosen {
		if on {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	for i := lo; i <= hi; i++ {
		if !chosen[i] {
			return 0, 0, fmt.Sprintf("The TLS versions must be consecutive: %s and %s can be enabled together only with %s in between (for example %s).",
				choices[lo].Label, choices[hi].Label, choices[i].Label, methodAnswer(lo, hi))
		}
	}
	return lo, hi, ""
}

// askRenegotiation asks the AsyncOS 13 renegotiation question and accepts
// only "disabled": crypto/tls never renegotiates as a server.
func askRenegotiation(s *shell.Session, svc service) error {
	_, err := s.Ask(fmt.Sprintf("Enter 1 to enable or 0 to disable TLS Renegotiation for %s.", svc.noun), "0", func(a string) string {
		switch strings.ToLower(a) {
		case "0", "n", "no":
			return ""
		case "1", "y", "yes":
			return "TLS Renegotiation cannot be enabled: the appliance's TLS server (Go crypto/tls) never renegotiates."
		}
		return "The value must be 1 (enable) or 0 (disable)."
	})
	return err
}

// verify shows the suites a cipher string selects.
func verify(s *shell.Session) error {
	var suites []config.CipherSuite
	_, err := s.Ask("Enter the ssl cipher you want to verify.", "", func(a string) string {
		var err error
		if suites, err = config.ParseCipherList(a); err != nil {
			return fmt.Sprintf("%v; accepted: %s", err, config.CipherListAccepted)
		}
		return ""
	})
	if err != nil {
		return err
	}
	for _, c := range append(config.TLS13Suites(), suites...) {
		s.Println(c.Describe())
	}
	s.Println("TLS v1.3 suites are always enabled with TLS v1.3 and are not configurable.")
	return nil
}
