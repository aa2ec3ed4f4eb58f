package mta

import (
	"esash/config"
	"esash/maillog"
)

// SendSystemAlert queues an alert of alertconfig's System class at
// severity to the recipients who asked for it (certificate expiry and
// ACME renewal failures, issue 15), from alertconfig's interface and FROM
// address as the TLS alert is. No recipient: nothing is sent.
func (s *Server) SendSystemAlert(cfg *config.Config, severity, subject, text string) error {
	rcpts := cfg.Alerts.RecipientsFor(config.AlertSystem, severity)
	if len(rcpts) == 0 {
		return nil
	}
	from := cfg.Alerts.From
	if from == "" {
		from = "alert@" + cfg.Hostname
	}
	if err := s.injectFrom(cfg.Alerts.Interface, from, from, rcpts, subject, text); err != nil {
		return err
	}
	for _, a := range rcpts {
		s.log.Infof("%s", maillog.AlertSent(config.AlertSystem, severity, a, subject))
	}
	return nil
}
