package mta

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// The factory configuration is not an open relay: its recipient access
// table is ALL REJECT, so a third-party recipient from any host is refused
// with AsyncOS's reply and logged as AsyncOS logs it, and nothing is queued.
func TestFactoryRATRefusesThirdParty(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = nil // the factory table
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO client.test")
	if r := raw.cmd("MAIL FROM:<s@a.example>"); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("MAIL: %q", r)
	}
	if r := raw.cmd("RCPT TO:<victim@any-third-party.example>"); r != "550 #5.1.0 Address rejected.\r\n" {
		t.Fatalf("RCPT to a third party: %q", r)
	}
	if r := raw.cmd("DATA"); strings.HasPrefix(r, "354") {
		t.Fatalf("DATA without an accepted recipient: %q", r)
	}
	raw.cmd("QUIT")
	waitLog(t, dir, "Info: MID 1 ICID 1 To: <victim@any-third-party.example> Rejected by RAT")
	if n, _ := s.Queue().Len(); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
	if l := logLines(t, dir); strings.Contains(l, "RID 0 To:") {
		t.Fatalf("a refused recipient got a RID:\n%s", l)
	}
}

// An entry in the table accepts its domain and nothing else; the
// recipients it refuses do not use up RIDs.
func TestRATEntryAcceptsItsDomain(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"esash.test"}
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	err := send(t, addr(cfg), nil, "s@a.example", []string{"victim@third.example", "bob@esash.test"}, "x\r\n")
	if smtpCode(err) != 550 {
		t.Fatalf("third party next to a local recipient: %v", err)
	}
	if err := send(t, addr(cfg), nil, "s@a.example", []string{"bob@esash.test"}, "x\r\n"); err != nil {
		t.Fatalf("local recipient: %v", err)
	}
	l := s.Queue().List()
	if len(l) != 1 || len(l[0].To) != 1 || l[0].To[0] != "bob@esash.test" || l[0].Relay {
		t.Fatalf("queue: %+v", l)
	}
	waitLog(t, dir, fmt.Sprintf("MID %d ICID 2 RID 0 To: <bob@esash.test>", l[0].MID))
}

// A private listener relays for its RELAYLIST, to any domain, and refuses
// everyone else at the connection, as AsyncOS's factory private listener.
func TestPrivateListenerRelaysForRelaylist(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	out := config.FactoryListener("OutgoingMail", config.Private, "Management", cfg.Listeners[0].Port+1)
	out.Certificate = cfg.Listeners[0].Certificate
	for i := range out.SenderGroups {
		if out.SenderGroups[i].Name == "RELAYLIST" {
			out.SenderGroups[i].Hosts = []string{"127.0.0.0/8"}
		}
	}
	cfg.Listeners = append(cfg.Listeners, out)
	if probs := config.Validate(cfg, time.Now()); len(probs.Errors()) > 0 {
		t.Fatalf("invalid: %v", probs.Errors())
	}
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	privAddr := fmt.Sprintf("%s:%d", cfg.Interfaces[0].IPv4, out.Port)
	if err := send(t, privAddr, nil, "app@esash.test", []string{"anyone@far-away.example"}, "x\r\n"); err != nil {
		t.Fatalf("relay from RELAYLIST: %v", err)
	}
	if l := s.Queue().List(); len(l) != 1 || !l[0].Relay || l[0].Listener != "OutgoingMail" {
		t.Fatalf("queue: %+v", l)
	}
	waitLog(t, dir, "RELAY SG RELAYLIST match 127.0.0.0/8")

	// A host outside the RELAYLIST meets the ALL group's BLOCKED policy.
	blocked := cfg.Clone()
	for i := range blocked.Listeners[1].SenderGroups {
		if blocked.Listeners[1].SenderGroups[i].Name == "RELAYLIST" {
			blocked.Listeners[1].SenderGroups[i].Hosts = []string{"192.0.2.1"}
		}
	}
	apply(t, s, blocked)
	if err := send(t, privAddr, nil, "app@esash.test", []string{"anyone@far-away.example"}, "x\r\n"); err == nil || smtpCode(err) != 554 {
		t.Fatalf("outside the RELAYLIST: %v", err)
	}
}

func TestAccepts(t *testing.T) {
	table := []string{"example.com", ".sub.test", "postmaster@", "joe@[192.0.2.1]", "Ann@Mixed.Test"}
	tests := []struct {
		name    string
		entries []string
		rcpt    string
		want    bool
	}{
		{"empty table accepts nothing", nil, "a@example.com", false},
		{"ALL", []string{"ALL"}, "a@anything.example", true},
		{"domain", table, "a@example.com", true},
		{"domain case", table, "A@EXAMPLE.COM", true},
		{"domain trailing dot", table, "a@example.com.", true},
		{"not a subdomain of a domain entry", table, "a@x.example.com", false},
		{"partial domain", table, "a@x.sub.test", true},
		{"partial domain is not the domain itself", table, "a@sub.test", false},
		{"partial domain suffix only at a label", table, "a@xsub.test", false},
		{"user name", table, "postmaster@any.test", true},
		{"user name case", table, "PostMaster@any.test", true},
		{"full address literal", table, "joe@[192.0.2.1]", true},
		{"full address other user", table, "ann@[192.0.2.1]", false},
		{"full address case", table, "ann@mixed.test", true},
		{"third party", table, "victim@third.example", false},
		{"no domain", table, "postmaster", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accepts(tt.entries, tt.rcpt); got != tt.want {
				t.Fatalf("accepts(%q, %q) = %v", tt.entries, tt.rcpt, got)
			}
		})
	}
}

// The check runs once per RCPT: it must not allocate.
func TestAcceptsAllocatesNothing(t *testing.T) {
	table := []string{"example.com", ".sub.test", "postmaster@", "joe@[192.0.2.1]"}
	if n := testing.AllocsPerRun(100, func() { accepts(table, "Some.One@X.Sub.Test") }); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}

// An envelope address that would mean something else to the next hop is
// refused, not accepted by the RAT and sent on: go-smtp unquotes a quoted
// local part, so its "@", ">" and spaces would reach the delivery's RCPT
// and MAIL lines raw (a second "@" made the RAT see example.com while
// the next hop saw a path to third.example, or extra parameters).
func TestAddressSyntaxNotSmuggled(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"example.com"}
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO client.test")
	for _, tc := range []struct{ name, cmd, want string }{
		{"sender with a second @", "MAIL FROM:<\"a@b.example\"@c.example>", "501 5.1.7 "},
		{"sender smuggling a parameter", "MAIL FROM:<\"a> SIZE=1;\"@c.example>", "501 5.1.7 "},
		{"sender", "MAIL FROM:<s@a.example>", "250 "},
		{"recipient with a second @", "RCPT TO:<\"victim@third.example\"@example.com>", "501 5.1.3 "},
		{"recipient smuggling a parameter", "RCPT TO:<\"victim@third.example> ORCPT=rfc822;\"@example.com>", "501 5.1.3 "},
		{"recipient with a space", "RCPT TO:<\"a b\"@example.com>", "501 5.1.3 "},
		{"plain recipient", "RCPT TO:<bob@example.com>", "250 "},
		{"address literal", "RCPT TO:<joe@[192.0.2.1]>", "550 "},
	} {
		if r := raw.cmd(tc.cmd); !strings.HasPrefix(r, tc.want) {
			t.Errorf("%s: %q, want %q...", tc.name, r, tc.want)
		}
	}
	raw.cmd("RSET")
	raw.cmd("QUIT")
	if n, _ := s.Queue().Len(); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
}
