package main

import (
	"strings"
	"testing"
	"time"

	"esash/config"
)

// Relaying against a served appliance, with swaks as the sending client
// (swaks exits 24 when no recipient is accepted, 21 when the banner is a
// refusal).

// The factory configuration is not an open relay: RCPTACCESS prints ALL
// REJECT and the MTA does what it prints. A RAT entry committed through
// the CLI on the running appliance accepts its domain and nothing else.
func TestMTARelayFactoryAndRAT(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	dir, a := mtaDataRAT(t, nil, nil)
	serveMTA(t, dir, a)
	rat, _, _ := esash(t, "listenerconfig\nEDIT\n1\nRCPTACCESS\nPRINT\n\n\n\n", "--data", dir)
	if !strings.Contains(rat, "\nALL REJECT\n") || strings.Contains(rat, " ACCEPT\n") {
		t.Fatalf("factory RCPTACCESS:\n%s", rat)
	}
	thirdParty := func() {
		t.Helper()
		out, code := runTool(t, 30*time.Second, "", swaks, "--server", a, "--ehlo", "client.test",
			"--from", "s@a.example", "--to", "victim@any-third-party.example")
		if code != 24 || !strings.Contains(out, "<** 550 #5.1.0 Address rejected.") {
			t.Fatalf("swaks to a third party: exit %d\n%s", code, out)
		}
	}
	thirdParty()
	if q, _, _ := esash(t, "", "--data", dir, "-c", "showqueue"); !strings.Contains(q, "There are no messages in the queue.") {
		t.Fatalf("showqueue after a refused recipient:\n%s", q)
	}
	logs, _, _ := esash(t, "", "--data", dir, "-c", `grep -e "Rejected by RAT" mail_logs`)
	// (ICID 1 was serveMTA's probe of the port.)
	if !strings.Contains(logs, "Info: MID 1 ICID 2 To: <victim@any-third-party.example> Rejected by RAT") {
		t.Fatalf("mail_logs:\n%s", logs)
	}

	script := "listenerconfig\nEDIT\n1\nRCPTACCESS\nNEW\nesash.test\n\n\n\ncommit\nrecipients for esash.test\ny\n"
	if out, errOut, code := esash(t, script, "--data", dir); code != 0 || !strings.Contains(out, "esash.test ACCEPT\nALL REJECT") {
		t.Fatalf("RCPTACCESS NEW: exit %d\n%s\n%s", code, out, errOut)
	}
	out, code := runTool(t, 30*time.Second, "", swaks, "--server", a, "--ehlo", "client.test",
		"--from", "s@a.example", "--to", "bob@esash.test")
	if code != 0 || strings.Contains(out, "<** ") {
		t.Fatalf("swaks to the RAT's domain: exit %d\n%s", code, out)
	}
	if q, _, _ := esash(t, "", "--data", dir, "-c", "showqueue"); !strings.Contains(q, "bob@esash.test") {
		t.Fatalf("showqueue:\n%s", q)
	}
	thirdParty()
}

// A private listener (AsyncOS's OutgoingMail) relays for the hosts of its
// RELAYLIST sender group to any domain; other hosts meet the ALL group's
// BLOCKED policy at the banner.
func TestMTARelaylistRelays(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	relayHost := nextLoopback() // the source address swaks binds
	dir, a := mtaDataRAT(t, nil, func(c *config.Config) {
		l := config.FactoryListener("OutgoingMail", config.Private, "Management", 2526)
		for i := range l.SenderGroups {
			if l.SenderGroups[i].Name == "RELAYLIST" {
				l.SenderGroups[i].Hosts = []string{relayHost}
			}
		}
		c.Listeners = append(c.Listeners, l)
	})
	serveMTA(t, dir, a)
	priv := strings.TrimSuffix(a, ":2525") + ":2526"
	waitPort(t, priv)
	out, code := runTool(t, 30*time.Second, "", swaks, "--server", priv, "--local-interface", relayHost,
		"--ehlo", "app.esash.test", "--from", "app@esash.test", "--to", "anyone@far-away.example,other@elsewhere.example")
	if code != 0 || strings.Contains(out, "<** ") {
		t.Fatalf("swaks from the RELAYLIST: exit %d\n%s", code, out)
	}
	q, _, _ := esash(t, "", "--data", dir, "-c", "showqueue")
	if !strings.Contains(q, "anyone@far-away.example") || !strings.Contains(q, "other@elsewhere.example") {
		t.Fatalf("showqueue after relaying:\n%s", q)
	}
	logs, _, _ := esash(t, "", "--data", dir, "-c", `grep -e "RELAY SG" mail_logs`)
	if !strings.Contains(logs, "RELAY SG RELAYLIST match "+relayHost) {
		t.Fatalf("mail_logs:\n%s", logs)
	}

	// The public listener still refuses the same recipients from that host.
	out, code = runTool(t, 30*time.Second, "", swaks, "--server", a, "--local-interface", relayHost,
		"--ehlo", "app.esash.test", "--from", "app@esash.test", "--to", "anyone@far-away.example")
	if code != 24 || !strings.Contains(out, "<** 550 #5.1.0 Address rejected.") {
		t.Fatalf("swaks to the public listener: exit %d\n%s", code, out)
	}

	// Another host is not in the RELAYLIST.
	other := nextLoopback()
	out, code = runTool(t, 30*time.Second, "", swaks, "--server", priv, "--local-interface", other,
		"--ehlo", "stranger.test", "--from", "s@a.example", "--to", "anyone@far-away.example")
	if code != 21 || !strings.Contains(out, "<** 554 ") {
		t.Fatalf("swaks from outside the RELAYLIST: exit %d\n%s", code, out)
	}
}
