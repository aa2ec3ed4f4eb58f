package config

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

// cluster3 is a cluster of three machines (m1, m2 in group "dmz", m3 in
// Main_Group) created from m1's factory configuration, each with its own
// hostname and interface address.
func cluster3(t *testing.T) *Levels {
	t.Helper()
	l := NewLevels(factory(t), "Main_Group", "m1")
	for i, m := range []string{"m2", "m3"} {
		c := factory(t)
		c.Hostname = m + ".example.com"
		c.Interfaces[0].IPv4 = []string{"127.0.0.2", "127.0.0.3"}[i]
		l.Join(c, map[string]string{"m2": "dmz", "m3": "Main_Group"}[m], m)
	}
	return l
}

func TestLevelsEffective(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(t *testing.T, l *Levels)
		machine    string
		wantTLS    TLSOut
		wantOrigin Level
		wantHost   string
	}{
		{"cluster value", nil, "m2", TLSOutNo, ClusterLevel, "m2.example.com"},
		{"group override", func(t *testing.T, l *Levels) { stageTLS(t, l, Level{LevelGroup, "dmz"}, "m2", TLSOutRequired) },
			"m2", TLSOutRequired, Level{LevelGroup, "dmz"}, "m2.example.com"},
		{"group override spares other groups", func(t *testing.T, l *Levels) { stageTLS(t, l, Level{LevelGroup, "dmz"}, "m2", TLSOutRequired) },
			"m3", TLSOutNo, ClusterLevel, "m3.example.com"},
		{"machine beats group", func(t *testing.T, l *Levels) {
			stageTLS(t, l, Level{LevelGroup, "dmz"}, "m2", TLSOutRequired)
			stageTLS(t, l, Level{LevelMachine, "m2"}, "m2", TLSOutPreferred)
		}, "m2", TLSOutPreferred, Level{LevelMachine, "m2"}, "m2.example.com"},
		{"cluster change under a group override is hidden", func(t *testing.T, l *Levels) {
			stageTLS(t, l, Level{LevelGroup, "dmz"}, "m2", TLSOutRequired)
			stageTLS(t, l, ClusterLevel, "m1", TLSOutPreferredVerify)
		}, "m2", TLSOutRequired, Level{LevelGroup, "dmz"}, "m2.example.com"},
		{"inherit again", func(t *testing.T, l *Levels) {
			stageTLS(t, l, Level{LevelGroup, "dmz"}, "m2", TLSOutRequired)
			if err := l.Inherit(Level{LevelGroup, "dmz"}, "destinations"); err != nil {
				t.Fatal(err)
			}
		}, "m2", TLSOutNo, ClusterLevel, "m2.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := cluster3(t)
			if tc.edit != nil {
				tc.edit(t, l)
			}
			c, origins, err := l.Effective(tc.machine)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Destinations.Default.TLS; got != tc.wantTLS {
				t.Errorf("destinations default TLS = %q, want %q", got, tc.wantTLS)
			}
			if got := origins["destinations"]; got != tc.wantOrigin {
				t.Errorf("origin of destinations = %v, want %v", got, tc.wantOrigin)
			}
			if c.Hostname != tc.wantHost || origins["hostname"] != (Level{LevelMachine, tc.machine}) {
				t.Errorf("hostname = %q from %v, want %q from the machine", c.Hostname, origins["hostname"], tc.wantHost)
			}
		})
	}
}

// stageTLS sets the default destination TLS at level at, as a session
// logged in to machine edits it.
func stageTLS(t *testing.T, l *Levels, at Level, machine string, tls TLSOut) {
	t.Helper()
	base, _, err := l.View(at, machine)
	if err != nil {
		t.Fatal(err)
	}
	cand := base.Clone()
	cand.Destinations.Default.TLS = tls
	got, err := l.Stage(at, base, cand)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"destinations"}) {
		t.Fatalf("staged sections = %q, want [destinations]", got)
	}
}

func TestLevelsStageScope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at      Level
		edit    func(c *Config)
		wantErr error
	}{
		{"hostname at cluster", ClusterLevel, func(c *Config) { c.Hostname = "x.example.com" }, ErrMachineOnly},
		{"interfaces at group", Level{LevelGroup, "dmz"}, func(c *Config) { c.Interfaces[0].IPv4 = "127.0.0.9" }, ErrMachineOnly},
		{"hostname at machine", Level{LevelMachine, "m2"}, func(c *Config) { c.Hostname = "x.example.com" }, nil},
		{"users at machine", Level{LevelMachine, "m2"}, func(c *Config) { c.Users[0].FullName = "Root" }, ErrClusterOnly},
		{"users at cluster", ClusterLevel, func(c *Config) { c.Users[0].FullName = "Root" }, nil},
		{"certificates at machine", Level{LevelMachine, "m2"}, func(c *Config) { c.Certificates[0].Name = "Mine" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := cluster3(t)
			before := l.Clone()
			base, _, err := l.View(tc.at, "m2")
			if err != nil {
				t.Fatal(err)
			}
			cand := base.Clone()
			tc.edit(cand)
			_, err = l.Stage(tc.at, base, cand)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Stage = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !reflect.DeepEqual(l, before) {
				t.Error("a refused edit changed the levels")
			}
		})
	}
}

// A new cluster runs exactly what its creator ran standalone.
func TestLevelsCreateKeepsConfig(t *testing.T) {
	c := factory(t)
	withEntries(c, 3)
	l := NewLevels(c, "Main_Group", "m1")
	got, origins, err := l.Effective("m1")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "effective configuration of the creator", got, c)
	if len(origins) != len(Sections()) {
		t.Errorf("origins cover %d sections, want all %d", len(origins), len(Sections()))
	}
	for _, s := range Sections() {
		want := ClusterLevel
		if ScopeOf(s) == MachineOnly {
			want = Level{LevelMachine, "m1"}
		}
		if origins[s] != want {
			t.Errorf("origin of %s = %v, want %v", s, origins[s], want)
		}
	}
}

// Leaving keeps the machine's layer (detached); rejoining restores its
// machine-level certificate, which AsyncOS loses.
func TestLevelsLeaveRejoin(t *testing.T) {
	l := cluster3(t)
	at := Level{LevelMachine, "m2"}
	base, _, _ := l.View(at, "m2")
	cand := base.Clone()
	cand.Certificates = append(cand.Certificates, validCert(t, "MachineOnlyCert"))
	if _, err := l.Stage(at, base, cand); err != nil {
		t.Fatal(err)
	}
	flat, err := l.Leave("m2")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "flattened configuration", flat, cand)
	if got := l.Detached(); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("detached = %q, want [m2]", got)
	}
	if _, _, err := l.Effective("m2"); !errors.Is(err, ErrNotMember) {
		t.Errorf("Effective of a machine that left = %v, want ErrNotMember", err)
	}
	l.Join(factory(t), "dmz", "m2")
	back, origins, err := l.Effective("m2")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Certificates) != 2 || back.Certificates[1].KeyPEM != cand.Certificates[1].KeyPEM {
		t.Errorf("after rejoin certificates = %d, want the machine-level one back", len(back.Certificates))
	}
	if origins["certificates"] != at {
		t.Errorf("origin of certificates = %v, want %v", origins["certificates"], at)
	}
	if back.Hostname != "esa.example.com" {
		t.Errorf("hostname after rejoin = %q, want the joiner's own", back.Hostname)
	}
}

// The cluster view shows the session's own machine-only sections, so a
// listener naming an interface can be judged.
func TestLevelsViewMachineSections(t *testing.T) {
	l := cluster3(t)
	for _, m := range []string{"m2", "m3"} {
		v, origins, err := l.View(ClusterLevel, m)
		if err != nil {
			t.Fatal(err)
		}
		if v.Hostname != m+".example.com" || origins["hostname"] != (Level{LevelMachine, m}) {
			t.Errorf("cluster view on %s: hostname %q from %v", m, v.Hostname, origins["hostname"])
		}
		if origins["listeners"] != ClusterLevel {
			t.Errorf("cluster view on %s: listeners from %v", m, origins["listeners"])
		}
	}
}

func TestSectionsCoverConfig(t *testing.T) {
	if n := reflect.TypeFor[Config]().NumField(); len(Sections()) != n {
		t.Fatalf("Sections() = %d, Config has %d fields", len(Sections()), n)
	}
	if err := SetSection(new(Config), "nosuch", []byte("{}")); !errors.Is(err, ErrUnknownSection) {
		t.Errorf("SetSection(nosuch) = %v, want ErrUnknownSection", err)
	}
}
