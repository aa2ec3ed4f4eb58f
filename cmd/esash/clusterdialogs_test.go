package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"esash/config"

	"esash/internal/golden"
)

// The transcripts of the cluster dialogs (issue 13), recorded from real
// daemons on their own loopback addresses over real SSH, since the txtar
// runner drives one appliance: ESASH_UPDATE=1 re-records
// testdata/cluster/*.golden. What differs from run to run (addresses,
// the SSH host key's fingerprint, commit times) is masked.

// transcript masks what varies between runs in out.
type transcript struct{ ips map[string]string }

var (
	fingerprintRE = regexp.MustCompile(`SHA256:[A-Za-z0-9+/=]+`)
	committedRE   = regexp.MustCompile(`Changes committed: [^\n]*`)
	sshNoticeRE   = regexp.MustCompile(`(?m)^(Warning: Permanently added|Pseudo-terminal will not be allocated)[^\n]*\n`)
)

func (tr transcript) mask(out string) string {
	out = strings.ReplaceAll(out, "\r", "")
	out = sshNoticeRE.ReplaceAllString(out, "")
	for ip, name := range tr.ips {
		out = strings.ReplaceAll(out, ip, name)
	}
	out = fingerprintRE.ReplaceAllString(out, "SHA256:<fingerprint>")
	return committedRE.ReplaceAllString(out, "Changes committed: <time>")
}

// clusterGolden compares got with testdata/cluster/name.golden.
func clusterGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "cluster", name+".golden"), got)
}

// session runs a script session on m as admin and masks its transcript.
func (tr transcript) session(t *testing.T, m *sshAppliance, stdin string) string {
	t.Helper()
	r := m.withPassword("admin", adminPW, stdin)
	if r.code != 0 {
		t.Fatalf("session on %s: exit %d\n%s", tr.ips[m.ip], r.code, r.out)
	}
	return tr.mask(r.out)
}

// converged waits until CONNSTATUS on m shows every machine at one
// revision, which it returns: a transcript that shows revisions must not
// depend on how fast the other machine applied the last one.
func converged(t *testing.T, m *sshAppliance, machines int) string {
	t.Helper()
	re := regexp.MustCompile(`runs revision (\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := m.withPassword("admin", adminPW, "", "clusterconfig connstatus")
		revs := re.FindAllStringSubmatch(r.out, -1)
		same := len(revs) == machines
		for _, rv := range revs {
			same = same && rv[1] == revs[0][1]
		}
		if same && !strings.Contains(r.out, "disconnected") {
			return revs[0][1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not converge:\n%s", r.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterDialogs records the interactive create and join (over SSH to
// the other daemon), the clustered menu, the level prompts, the §1.4
// pre-questions, and DISCONNECT/RECONNECT as both machines see them.
func TestClusterDialogs(t *testing.T) {
	ms := newClusterMachines(t, 2)
	a, b := ms[0], ms[1]
	tr := transcript{ips: map[string]string{a.ip: "<A-IP>", b.ip: "<B-IP>"}}
	// The listener presents certificate One; Two is there to switch to.
	p := newPeerPKI(t)
	one, two := p.profile(t, "One", mxHost), p.profile(t, "Two", mxHost)
	a.stop()
	editStopped(t, a, func(c *config.Config) {
		useProfile(one, config.TLSInPreferred)(c)
		c.Certificates = append(c.Certificates, two)
	})
	a.start()
	for _, m := range []struct {
		m    *sshAppliance
		host string
	}{{a, "a.example.com"}, {b, "b.example.com"}} {
		if r := m.m.withPassword("admin", adminPW, "", fmt.Sprintf(`sethostname %s; commit "hostname"`, m.host)); r.code != 0 {
			t.Fatalf("sethostname: %d\n%s", r.code, r.out)
		}
	}
	clusterGolden(t, "create", tr.session(t, a, "clusterconfig\n2\nTest-Cluster\n\n\n"))
	clusterGolden(t, "join", tr.session(t, b, fmt.Sprintf("clusterconfig\n3\n%s\n\nadmin\n%s\ny\n\n\n", a.ip, adminPW)))

	// The clustered menu on A; CONNSTATUS once B runs the head.
	menu := tr.session(t, a, "clusterconfig\nADDGROUP\nEurope\nSETGROUP\nb.example.com\nEurope\nLIST\n\n")
	converged(t, a, 2)
	menu += tr.session(t, a, "clusterconfig\nCONNSTATUS\n\n")
	clusterGolden(t, "menu", menu)

	// The level prompts and the §1.4 pre-questions.
	clusterGolden(t, "levels", tr.session(t, a, strings.Join([]string{
		"clustermode", "2", "Europe",
		"destconfig", "2", "", "clear",
		"clustermode", "3", "2",
		"sethostname", "N",
		"userconfig", "Y", "",
		"clustermode", "Machine", "a.example.com",
		"sethostname", "",
		"clustermode cluster",
		"destconfig", "",
	}, "\n")+"\n"))

	// A disconnects B; what A commits then is not what B runs, though B
	// has read it (it sees the group added after it), until B, told it is
	// disconnected, reconnects.
	waitOrg(t, b.ip, "One")
	clusterGolden(t, "disconnect", tr.session(t, a, "clusterconfig\nDISCONNECT\nb.example.com\nY\nLIST\nCONNSTATUS\n\n"))
	if out := tr.session(t, a, "listenerconfig\nEDIT\n1\nCERTIFICATE\nTwo\n\n\ncommit\ncertificate Two\nn\nclusterconfig addgroup Marker\n"); !strings.Contains(out, "Changes committed") {
		t.Fatalf("commit on A:\n%s", out)
	}
	waitOrg(t, a.ip, "Two")
	// Twice: as it runs, and after a reboot, which does not reconnect it.
	for _, when := range []string{"running", "rebooted"} {
		if when == "rebooted" {
			b.restart()
		}
		deadline := time.Now().Add(60 * time.Second)
		for b.withPassword("admin", adminPW, "", "clustermode group Marker").code != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s, B did not read the revisions committed after it was disconnected", when)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if org := starttlsOrg(t, b.ip); org != "One" {
			t.Fatalf("%s, the disconnected B presents %q: it applied a revision committed after it was disconnected", when, org)
		}
	}
	clusterGolden(t, "disconnected", tr.session(t, b, "clusterconfig\nN\nCONNSTATUS\n\ndestconfig\nN\nclusterconfig\nY\nLIST\n\n"))
	waitOrg(t, b.ip, "Two")
}
