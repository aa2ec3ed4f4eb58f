// Package mailconfig is the mailconfig command: the committed
// configuration, as saveconfig writes it (the same passphrase menu: mask,
// encrypt or plain), sent by mail as an attachment through the appliance's
// own delivery path.
package mailconfig

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"esash/config"
	"esash/shell"
	"esash/shell/backup"
)

// Mailer queues a message for delivery; cmd/esash passes the MTA.
type Mailer interface {
	SubmitMessage(from string, to []string, msg []byte) (int64, error)
}

// Command is mailconfig.
type Command struct{ m Mailer }

// New returns the mailconfig command.
func New(m Mailer) Command { return Command{m: m} }

// Name implements shell.Command.
func (Command) Name() string { return "mailconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Mail the current configuration file" }

// Run asks the recipients (or takes them as the first batch argument),
// then the passphrase option, and queues the message.
func (c Command) Run(s *shell.Session, args []string) error {
	var list string
	if len(args) > 0 {
		list = args[0]
		if msg := checkAddresses(list); msg != "" {
			return shell.Invalid(s, "email address", msg)
		}
		args = args[1:]
	} else {
		var err error
		list, err = s.Ask("Please enter the email address(es) to which you want to send the configuration file.\nSeparate multiple addresses with commas.", "", checkAddresses)
		if err != nil {
			return err
		}
	}
	o, data, err := backup.Prepare(s, args)
	if err != nil {
		return err
	}
	to := splitAddresses(list)
	host := s.Head().Config.Hostname
	name := fmt.Sprintf("%s-%s.xml", host, s.Now().UTC().Format("20060102T150405"))
	msg := message("mailconfig@"+host, to, "Configuration file of "+host, name, data, s)
	mid, err := c.m.SubmitMessage("mailconfig@"+host, to, msg)
	if err != nil {
		return fmt.Errorf("the configuration could not be queued for delivery: %w", err)
	}
	if err := backup.Audit(s, "mailconfig", o); err != nil {
		return err
	}
	s.Printf("The configuration file has been sent to %s (MID %d).\n", strings.Join(to, ", "), mid)
	return nil
}

func splitAddresses(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func checkAddresses(list string) string {
	as := splitAddresses(list)
	if len(as) == 0 {
		return "You must enter at least one email address."
	}
	for _, a := range as {
		if msg := config.CheckEmail(a); msg != "" {
			return fmt.Sprintf("%q: %s", a, msg)
		}
	}
	return ""
}

// message is a MIME message with the configuration attached.
func message(from string, to []string, subject, name string, data []byte, s *shell.Session) []byte {
	const boundary = "esash-mailconfig-boundary"
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n", from, strings.Join(to, ">, <"), subject, s.Now().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe configuration file of %s is attached (%s).\r\n\r\n", boundary, strings.TrimPrefix(from, "mailconfig@"), name)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/xml; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, name, name)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}
