// Package tlsverify is the tlsverify command: it opens an outbound
// connection to a destination the way a "Required - Verify" delivery
// would, without sending mail, and prints every step: the connection, the
// EHLO extensions, STARTTLS, the protocol and cipher, each certificate of
// the chain, the host name match and the verdict.
//
// For the domain's mail exchangers (no other host given) the first line
// says whether an MTA-STS policy (RFC 8461) is in force for the domain and
// where it came from, discovering it when the cache has none, and which
// rule governs the domain's TLS: an enforce policy raises the destination
// entry's TLS setting to Required - Verify (a line says so when the
// entry's setting is weaker), unless destconfig MTASTS exempts the entry,
// which the "not applied" line names (mta/mtasts.go). The verification
// itself stays the Required - Verify one.
//
// Interactive: two questions, the TLS domain, then the host to connect to
// (host or host:port, the domain by default). Batch:
// `tlsverify DOMAIN [HOST[:PORT]]`.
//
// The command never imports the MTA: it talks to the Verifier below, which
// the appliance wiring adapts.
package tlsverify

import (
	"context"
	"strconv"
	"strings"
	"time"

	"esash/config"
	"esash/shell"
)

// Verifier runs one verification, reporting each step through emit. host
// is "" (the domain's mail exchangers), a name or address, with an
// optional :port. It returns the verdict.
type Verifier interface {
	TLSVerify(ctx context.Context, domain, host string, emit func(line string)) bool
}

// Command is tlsverify.
type Command struct{ v Verifier }

// New returns the tlsverify command over v.
func New(v Verifier) Command { return Command{v: v} }

// Name implements shell.Command.
func (Command) Name() string { return "tlsverify" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Test and verify a TLS connection to a remote MTA." }

// Timeout bounds one verification.
const Timeout = 2 * time.Minute

// CheckHost validates host[:port] as the second question takes it; ""
// when valid.
func CheckHost(h string) string {
	if h == "" {
		return "You must enter a host."
	}
	name, port := h, ""
	switch {
	case strings.HasPrefix(h, "["):
		i := strings.IndexByte(h, ']')
		if i < 0 {
			return "The host " + strconv.Quote(h) + " has no closing bracket."
		}
		name = h[1:i]
		if rest := h[i+1:]; rest != "" {
			if rest[0] != ':' {
				return "Only :port may follow the closing bracket."
			}
			port = rest[1:]
		}
	case strings.Count(h, ":") == 1:
		name, port, _ = strings.Cut(h, ":")
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "The port must be a number between 1 and 65535."
		}
	}
	if strings.Contains(name, ":") || isIP(name) {
		return ""
	}
	return config.CheckRouteHostname(strings.ToLower(name))
}

func isIP(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return strings.Count(s, ".") == 3
}

// Run implements shell.Command.
func (c Command) Run(s *shell.Session, args []string) error {
	var domain, host string
	if len(args) > 0 {
		if len(args) > 2 {
			return shell.Invalid(s, "tlsverify", "usage: tlsverify DOMAIN [HOST[:PORT]]")
		}
		domain = args[0]
		if msg := config.CheckDomain(domain); msg != "" {
			return shell.Invalid(s, "domain", msg)
		}
		host = domain
		if len(args) == 2 {
			host = args[1]
		}
		if msg := CheckHost(host); msg != "" {
			return shell.Invalid(s, "host", msg)
		}
	} else {
		var err error
		domain, err = s.Ask("Enter the TLS domain to verify against:", "", config.CheckDomain)
		if err != nil {
			return err
		}
		host, err = s.Ask("Enter the destination host to connect to. Append the port (example.com:26) if you are not connecting on port 25:", domain, CheckHost)
		if err != nil {
			return err
		}
	}
	if strings.EqualFold(host, domain) {
		host = "" // the domain's mail exchangers
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c.v.TLSVerify(ctx, domain, host, func(line string) { s.Println(line) })
	return nil
}
