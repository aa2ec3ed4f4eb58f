// Package deliveryconfig is the deliveryconfig command: the system-wide
// delivery settings. It shows them (one "label: value" line each, as
// scripts parse them) and offers SETUP: the default delivery interface or
// Auto, "Possible Delivery", the system-wide maximum outbound concurrency,
// the system-wide TLS maximum (at most the former), and whether to connect
// without TLS when the TLS limit is reached (AsyncOS 12.0 and later). One
// blank line returns to the main prompt (reference section 4).
//
// The interface is enforced: every delivery connection is bound to its
// address and says EHLO with its SMTP HELO name, else its host name. Auto
// chooses per next hop (config.SourceInterface): the interface whose
// network holds it, else the one the host's routing table sends from,
// else Management; mail_logs' "New SMTP DCID n interface <address>" names
// the address used.
package deliveryconfig

import (
	"fmt"

	"esash/config"
	"esash/shell"
)

// Command is deliveryconfig.
type Command struct{}

// New returns the deliveryconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "deliveryconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure mail delivery" }

// Run shows the settings and the SETUP menu.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "deliveryconfig", "takes no batch arguments")
	}
	return s.Menu(status, []shell.MenuItem{
		{Name: "SETUP", Help: "Configure mail delivery.", Run: setup},
	})
}

func enabled(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

// status prints the current settings.
func status(s *shell.Session) {
	d := s.Draft.Config().Delivery
	iface := d.Interface
	if iface == "" {
		iface = config.DeliveryAuto
	}
	s.Printf("Default interface to deliver mail: %s\n", iface)
	s.Printf("\"Possible Delivery\": %s\n", enabled(d.PossibleDelivery))
	s.Printf("Default system wide maximum outbound message delivery concurrency: %d\n", d.MaxConcurrency)
	s.Printf("Default system wide TLS maximum outbound message delivery concurrency: %d\n", d.MaxTLSConcurrency)
	s.Printf("Connect without TLS when the TLS concurrency limit is reached: %s\n", enabled(d.FallbackNoTLS))
}

func setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	d := cfg.Delivery
	items := []string{config.DeliveryAuto}
	names := []string{config.DeliveryAuto}
	def := 1
	for _, in := range cfg.Interfaces {
		items = append(items, fmt.Sprintf("%s (%s/%d: %s)", in.Name, in.IPv4, in.PrefixLen, in.Hostname))
		names = append(names, in.Name)
		if in.Name == d.Interface {
			def = len(names)
		}
	}
	i, err := s.Choose("Choose the default interface to deliver mail.", items, def, true)
	if err != nil {
		return err
	}
	d.Interface = names[i]
	if d.PossibleDelivery, err = s.YesNo(`Enable "Possible Delivery" (recommended)?`, d.PossibleDelivery); err != nil {
		return err
	}
	if d.MaxConcurrency, err = s.AskInt("Please enter the default system wide maximum outbound message delivery concurrency.",
		clamp(d.MaxConcurrency, 1, config.MaxDeliveryConcurrency), 1, config.MaxDeliveryConcurrency); err != nil {
		return err
	}
	if d.MaxTLSConcurrency, err = s.AskInt("Please enter the default system wide TLS maximum outbound message delivery concurrency.",
		clamp(d.MaxTLSConcurrency, 1, d.MaxConcurrency), 1, d.MaxConcurrency); err != nil {
		return err
	}
	if d.FallbackNoTLS, err = s.YesNo("Do you want to attempt to connect without TLS when the system wide TLS maximum outbound concurrency is reached?", d.FallbackNoTLS); err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Delivery = d
		return nil
	})
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
