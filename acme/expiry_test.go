package acme

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell/shelltest"
	"esash/store"
)

// certExpiring is a profile whose certificate ends at notAfter.
func certExpiring(t *testing.T, name string, notAfter time.Time) config.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name + ".example.com"},
		NotBefore: notAfter.AddDate(-1, 0, 0), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return config.Certificate{Name: name, CertPEM: string(pki.EncodeCertificatePEM(leaf)), KeyPEM: string(keyPEM)}
}

type sentAlert struct{ severity, subject string }

// TestExpiryThresholds walks a fixed clock towards a certificate's end:
// one alert at 30, 7 and 1 days left, none in between nor repeated, none
// again after a restart; the days are certconfig's Remaining.
func TestExpiryThresholds(t *testing.T) {
	base := shelltest.Now
	end := base.AddDate(0, 0, 40)
	now := base
	db := shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Clock: func() time.Time { return base },
		Factory: func(c *config.Config) { c.Certificates = append(c.Certificates, certExpiring(t, "Web", end)) }})
	state := filepath.Join(t.TempDir(), "expiry.json")
	var sent []sentAlert
	open := func() *Expiry {
		e, err := NewExpiry(ExpiryOptions{Head: db, Now: func() time.Time { return now }, StateFile: state,
			Alert: func(sev, subj, _ string) error { sent = append(sent, sentAlert{sev, subj}); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	for _, step := range []struct {
		name    string
		at      time.Time
		restart bool
		want    string // subject part of the one alert expected, "" none
		sev     string
	}{
		{"40 days left", base, false, "", ""},
		{"31 days left", end.Add(-31*24*time.Hour - time.Minute), false, "", ""},
		{"30 days left", end.Add(-30*24*time.Hour - time.Minute), false, "certificate profile Web expires in 30 days", config.SeverityWarning},
		{"29 days: no repeat", end.Add(-29 * 24 * time.Hour), false, "", ""},
		{"after a restart: no repeat", end.Add(-29 * 24 * time.Hour), true, "", ""},
		{"7 days left", end.Add(-7*24*time.Hour - time.Minute), false, "expires in 7 days", config.SeverityWarning},
		{"1 day left", end.Add(-24*time.Hour - time.Minute), true, "expires in 1 day", config.SeverityCritical},
		{"hours left: no repeat", end.Add(-time.Hour), false, "", ""},
	} {
		t.Run(step.name, func(t *testing.T) {
			now = step.at
			if step.restart {
				e = open()
			}
			sent = nil
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
			if step.want == "" {
				if len(sent) != 0 {
					t.Fatalf("sent %+v, want none", sent)
				}
				return
			}
			if len(sent) != 1 || !strings.Contains(sent[0].subject, step.want) || sent[0].severity != step.sev ||
				!strings.HasPrefix(sent[0].subject, step.sev+" <System> esa.example.com: ") {
				t.Fatalf("sent %+v, want one %s alert with %q", sent, step.sev, step.want)
			}
			for _, c := range e.List() {
				if c.Profile == "Web" && !strings.Contains(step.want, "in "+plural(c.DaysLeft)) {
					t.Errorf("the list says %d days left, the alert %q", c.DaysLeft, step.want)
				}
			}
		})
	}
}

func plural(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// TestExpiryJumpAndRenewal: a certificate first seen at 5 days left gets
// one alert (7 days), not one per threshold passed; a new certificate in
// the profile starts afresh; the list is by days left.
func TestExpiryJumpAndRenewal(t *testing.T) {
	now := shelltest.Now
	db := shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Factory: func(c *config.Config) {
		c.Certificates = append(c.Certificates, certExpiring(t, "Soon", now.AddDate(0, 0, 5).Add(time.Hour)),
			certExpiring(t, "Later", now.AddDate(0, 0, 100)))
	}})
	var sent []string
	e, err := NewExpiry(ExpiryOptions{Head: db, Now: func() time.Time { return now }, StateFile: filepath.Join(t.TempDir(), "s.json"),
		Alert: func(_, subj, _ string) error { sent = append(sent, subj); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || !strings.Contains(sent[0], "Soon expires in 5 days") {
		t.Fatalf("sent %q, want one alert for Soon", sent)
	}
	var order []string
	for _, c := range e.List() {
		order = append(order, c.Profile)
	}
	if strings.Join(order, ",") != "Soon,Later,Demo" {
		t.Errorf("list order %v, want fewest days first", order)
	}
	d := store.NewDraft(db, "admin", "test")
	renewed := certExpiring(t, "Soon", now.AddDate(0, 0, 3))
	if err := d.Update(func(c *config.Config) error {
		for i := range c.Certificates {
			if c.Certificates[i].Name == "Soon" {
				c.Certificates[i] = renewed
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(t.Context(), "new cert", false, nil); err != nil {
		t.Fatal(err)
	}
	sent = nil
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || !strings.Contains(sent[0], "Soon expires in 3 days") {
		t.Fatalf("after a new certificate: sent %q", sent)
	}
}

// TestExpiryWarnDays: alertconfig WARNDAYS sets the first threshold; a
// certificate 20 days from its end is not announced at N=14 (the fixed 30
// of old would), it is at 14, then at 7 and 1; raising N after a commit
// takes effect at the next check without a restart.
func TestExpiryWarnDays(t *testing.T) {
	base := shelltest.Now
	end := base.AddDate(0, 0, 40)
	now := base
	db := shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Clock: func() time.Time { return base },
		Factory: func(c *config.Config) {
			c.Alerts.CertExpiryDays = 14
			c.Certificates = append(c.Certificates, certExpiring(t, "Web", end))
		}})
	var sent []string
	e, err := NewExpiry(ExpiryOptions{Head: db, Now: func() time.Time { return now }, StateFile: filepath.Join(t.TempDir(), "s.json"),
		Alert: func(_, subj, _ string) error { sent = append(sent, subj); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	setDays := func(n int) {
		d := store.NewDraft(db, "admin", "test")
		if err := d.Update(func(c *config.Config) error { c.Alerts.CertExpiryDays = n; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Commit(t.Context(), "warn days", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name string
		at   time.Time
		days int // committed before the check when not 0
		want string
	}{
		{"20 days left at N=14", end.Add(-20*24*time.Hour - time.Minute), 0, ""},
		{"14 days left", end.Add(-14*24*time.Hour - time.Minute), 0, "Web expires in 14 days"},
		{"10 days left", end.Add(-10 * 24 * time.Hour), 0, ""},
		{"7 days left", end.Add(-7*24*time.Hour - time.Minute), 0, "Web expires in 7 days"},
		{"N raised to 60: nothing above 7 again", end.Add(-6 * 24 * time.Hour), 60, ""},
		{"1 day left", end.Add(-24*time.Hour - time.Minute), 0, "Web expires in 1 day"},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.days != 0 {
				setDays(step.days)
			}
			now, sent = step.at, nil
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
			if step.want == "" && len(sent) != 0 || step.want != "" && (len(sent) != 1 || !strings.Contains(sent[0], step.want)) {
				t.Fatalf("sent %q, want %q", sent, step.want)
			}
		})
	}
}

// TestExpiryWarnDaysLive: a certificate 45 days from its end gets its
// first alert as soon as a commit raises N to 60.
func TestExpiryWarnDaysLive(t *testing.T) {
	now := shelltest.Now
	db := shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Factory: func(c *config.Config) {
		c.Certificates = append(c.Certificates, certExpiring(t, "Web", now.AddDate(0, 0, 45).Add(time.Hour)))
	}})
	var sent []string
	e, err := NewExpiry(ExpiryOptions{Head: db, Now: func() time.Time { return now }, StateFile: filepath.Join(t.TempDir(), "s.json"),
		Alert: func(_, subj, _ string) error { sent = append(sent, subj); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil || len(sent) != 0 {
		t.Fatalf("at the default 30: sent %q, err %v", sent, err)
	}
	d := store.NewDraft(db, "admin", "test")
	if err := d.Update(func(c *config.Config) error { c.Alerts.CertExpiryDays = 60; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(t.Context(), "warn days", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil || len(sent) != 1 || !strings.Contains(sent[0], "Web expires in 45 days") {
		t.Fatalf("at 60: sent %q, err %v", sent, err)
	}
}

// TestExpiryStateWrittenOnChange: Check runs at every commit; it writes
// its state file only when what was sent changed. The file is replaced by
// a marker after the first alert: an unchanged configuration, and a
// commit that touches no certificate, leave the marker; a new certificate
// that is due, and a certificate deleted, rewrite it.
func TestExpiryStateWrittenOnChange(t *testing.T) {
	now := shelltest.Now
	db := shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Factory: func(c *config.Config) {
		c.Certificates = append(c.Certificates, certExpiring(t, "Soon", now.AddDate(0, 0, 5).Add(time.Hour)))
	}})
	state := filepath.Join(t.TempDir(), "s.json")
	e, err := NewExpiry(ExpiryOptions{Head: db, Now: func() time.Time { return now }, StateFile: state,
		Alert: func(_, _, _ string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "not rewritten"
	check := func(t *testing.T, wantRewritten bool) {
		t.Helper()
		if err := os.WriteFile(state, []byte(marker), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e.Check(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		if rewritten := string(b) != marker; rewritten != wantRewritten {
			t.Errorf("state file rewritten = %v (%q), want %v", rewritten, b, wantRewritten)
		}
	}
	commit := func(t *testing.T, fn func(c *config.Config)) {
		t.Helper()
		d := store.NewDraft(db, "admin", "test")
		if err := d.Update(func(c *config.Config) error { fn(c); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Commit(t.Context(), "test", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	check(t, true) // the first alert for Soon
	for _, step := range []struct {
		name      string
		edit      func(c *config.Config) // nil: no commit
		rewritten bool
	}{
		{"unchanged", nil, false},
		{"a commit without certificate changes", func(c *config.Config) { c.Hostname = "other.example.com" }, false},
		{"a new certificate due", func(c *config.Config) {
			c.Certificates = append(c.Certificates, certExpiring(t, "Sooner", now.AddDate(0, 0, 2).Add(time.Hour)))
		}, true},
		{"unchanged again", nil, false},
		{"a certificate deleted", func(c *config.Config) {
			c.Certificates = slices.DeleteFunc(c.Certificates, func(ct config.Certificate) bool { return ct.Name == "Soon" })
		}, true},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.edit != nil {
				commit(t, step.edit)
			}
			check(t, step.rewritten)
		})
	}
}
