// Package websecurityconfig is the websecurityconfig command: URL filtering
// on or off, the URL list whose URLs are allowed ("whitelisted"), the client
// certificate the appliance presents to the web security service, and Web
// Interaction Tracking.
//
// It has no operation menu: the questions come in AsyncOS 14.x's order and
// only the applicable ones are asked (IAF websecurityconfig):
//
//  1. "Enable URL Filtering" when it is off, "Disable URL Filtering" when
//     it is on. Leaving it off, or turning it off, ends the command.
//  2. "...whitelist URLs using a URL list" yes/no, then "Enter the number
//     of URL list".
//  3. "...want to set client certificate" yes/no (the seed guide's wording),
//     then "Choose the certificate".
//  4. "...enable Web Interaction Tracking" or "...disable Web Interaction
//     Tracking".
//
// esash has no urllistconfig: the URL list is stored by name, for scripts
// and exports. The list offered by number holds the list already chosen;
// a new name may be typed instead of a number.
//
// "websecurityconfig test [host[:port]]" (esash's, no AsyncOS evidence
// of a CLI test) connects to the web security service presenting the
// client certificate, as the seed guide's "URL filtering" step means it to
// be presented, and reports each step (test.go). esash has no URL
// filtering engine: URL filtering, the URL list and Web Interaction
// Tracking are stored for script compatibility; the certificate is checked
// at commit (it must exist and have its key) and used by the test.
package websecurityconfig

import (
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is websecurityconfig.
type Command struct{}

// New returns the websecurityconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "websecurityconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure web security services settings" }

// Run asks the questions and stages the answers once, at the end.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		if strings.EqualFold(args[0], "test") {
			return test(s, args[1:])
		}
		return shell.Invalid(s, "websecurityconfig", `the only argument is "test [host[:port]]"`)
	}
	cur := s.Draft.Config()
	ws := cur.WebSecurity
	if !ws.URLFiltering {
		on, err := s.YesNo("Do you want to Enable URL Filtering?", false)
		if err != nil || !on {
			return err
		}
		ws.URLFiltering = true
	} else {
		off, err := s.YesNo("Do you want to Disable URL Filtering?", false)
		if err != nil {
			return err
		}
		if off {
			ws.URLFiltering = false
			return stage(s, ws)
		}
	}

	allow, err := s.YesNo("Do you want to whitelist URLs using a URL list?", ws.AllowList != "")
	if err != nil {
		return err
	}
	ws.AllowList = ""
	if allow {
		if ws.AllowList, err = urlList(s, cur.WebSecurity.AllowList); err != nil {
			return err
		}
	}

	set, err := s.YesNo("Do you want to set client certificate for Cisco Web Security Services Authentication?", ws.ClientCertificate != "")
	if err != nil {
		return err
	}
	switch {
	case !set:
		ws.ClientCertificate = ""
	case len(cur.Certificates) == 0:
		s.Println("No certificates are configured. Use certconfig to add one.")
		ws.ClientCertificate = ""
	default:
		names := make([]string, len(cur.Certificates))
		def := 1
		for i, c := range cur.Certificates {
			names[i] = c.Name
			if c.Name == ws.ClientCertificate {
				def = i + 1
			}
		}
		i, err := s.Choose("Choose the certificate:", names, def, true)
		if err != nil {
			return err
		}
		ws.ClientCertificate = names[i]
	}

	q := "Do you want to enable Web Interaction Tracking?"
	if ws.InteractionTrack {
		q = "Do you want to disable Web Interaction Tracking?"
	}
	flip, err := s.YesNo(q, false)
	if err != nil {
		return err
	}
	if flip {
		ws.InteractionTrack = !ws.InteractionTrack
	}
	return stage(s, ws)
}

// urlList asks which URL list allows URLs: by number from the lists known
// (the one chosen so far), or by name.
func urlList(s *shell.Session, current string) (string, error) {
	var known []string
	if current != "" {
		known = []string{current}
	}
	s.Println("Enter the number of URL list, or the name of a URL list:")
	for i, n := range known {
		s.Printf("%d. %s\n", i+1, n)
	}
	def := ""
	if len(known) > 0 {
		def = "1"
	}
	ans, err := s.AskOptional("", def, func(a string) string {
		if n, err := strconv.Atoi(a); err == nil {
			if n < 1 || n > len(known) {
				if len(known) == 0 {
					return "You must enter the name of a URL list: none is configured yet."
				}
				return "The value must be a number from 1 to " + strconv.Itoa(len(known)) + " or the name of a URL list."
			}
			return ""
		}
		if a == "" {
			return "You must enter the name of a URL list."
		}
		return config.CheckName(a)
	})
	if err != nil {
		return "", err
	}
	if n, err := strconv.Atoi(ans); err == nil {
		return known[n-1], nil
	}
	return ans, nil
}

// stage records the answers; answers that change nothing stage nothing.
func stage(s *shell.Session, ws config.WebSecurity) error {
	return s.Draft.Update(func(c *config.Config) error {
		c.WebSecurity = ws
		return nil
	})
}
