package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// jsonCopy is a deep copy that does not rely on Clone.
func jsonCopy(t testing.TB, c *Config) *Config {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var n Config
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func indexOf[T any](s []T, key func(T) string, k string) int {
	return slices.IndexFunc(s, func(e T) bool { return key(e) == k })
}

func groupName(g SenderGroup) string { return g.Name }
func listenerName(l Listener) string { return l.Name }
func domainOf(d DestControl) string  { return d.Domain }

// threeListeners is the factory plus two more listeners.
func threeListeners(t testing.TB) *Config {
	c := factory(t)
	c.Listeners = append(c.Listeners,
		FactoryListener("OutgoingMail", Private, "Management", 2526),
		FactoryListener("Partners", Public, "Management", 2527))
	return c
}

// editCase is a named edit of a configuration, shared by the Diff/Apply and
// the records round trips.
type editCase struct {
	name string
	base func(t testing.TB) *Config // nil: the factory configuration
	edit func(c *Config)
	want []string // the exact changes, when the case pins them
}

// a and b are the configurations before and after the edit, independent
// of each other.
func (tc editCase) configs(t testing.TB) (a, b *Config) {
	if tc.base == nil {
		a = factory(t)
	} else {
		a = tc.base(t)
	}
	b = jsonCopy(t, a)
	tc.edit(b)
	return a, b
}

func editCases(t testing.TB) []editCase {
	r := withEntries(threeListeners(t), 50)
	r.Hostname = "replaced.example.com"
	r.Listeners[0].SenderGroups = nil
	replacement, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return []editCase{
		{
			name: "scalar",
			edit: func(c *Config) { c.Hostname = "mx.example.org" },
			want: []string{"set hostname"},
		},
		{
			name: "scalar in a section",
			edit: func(c *Config) { c.Destinations.Default.TLS = TLSOutPreferred },
			want: []string{"set destinations.default.tls"},
		},
		{
			name: "setting of an item",
			edit: func(c *Config) { c.Listeners[0].Port = 25 },
			want: []string{"set listeners[IncomingMail].port"},
		},
		{
			name: "sender group hosts, a keyed list inside an item",
			edit: func(c *Config) { c.Listeners[0].SenderGroups[0].Hosts = []string{"10.0.0.0/8", ".partner.example"} },
			want: []string{"set listeners[IncomingMail].sender_groups[ALLOWED_LIST].hosts"},
		},
		{
			name: "sender group added in the middle",
			edit: func(c *Config) {
				l := &c.Listeners[0]
				l.SenderGroups = slices.Insert(l.SenderGroups, 1, SenderGroup{Name: "PARTNERS", Policy: "TRUSTED", Hosts: []string{"192.0.2.1"}})
			},
			want: []string{"add listeners[IncomingMail].sender_groups[PARTNERS]", "order listeners[IncomingMail].sender_groups"},
		},
		{
			name: "sender group removed from the middle",
			edit: func(c *Config) {
				l := &c.Listeners[0]
				l.SenderGroups = slices.Delete(l.SenderGroups, 1, 2)
			},
			want: []string{"remove listeners[IncomingMail].sender_groups[BLOCKED_LIST]", "order listeners[IncomingMail].sender_groups"},
		},
		{
			name: "sender groups reordered",
			edit: func(c *Config) {
				g := c.Listeners[0].SenderGroups
				g[0], g[3] = g[3], g[0]
			},
			want: []string{"order listeners[IncomingMail].sender_groups"},
		},
		{
			name: "sender groups reordered and edited",
			edit: func(c *Config) {
				g := c.Listeners[0].SenderGroups
				g[0], g[4] = g[4], g[0]
				g[0].Hosts = append(g[0].Hosts, "198.51.100.0/24")
				g[4].Comment = "moved"
			},
		},
		{
			name: "listener added",
			edit: func(c *Config) {
				c.Listeners = append(c.Listeners, FactoryListener("OutgoingMail", Private, "Management", 2526))
			},
			want: []string{"add listeners[OutgoingMail]", "order listeners"},
		},
		{
			name: "first of three listeners removed",
			base: threeListeners,
			edit: func(c *Config) { c.Listeners = c.Listeners[1:] },
			want: []string{"remove listeners[IncomingMail]", "order listeners"},
		},
		{
			name: "middle of three listeners removed",
			base: threeListeners,
			edit: func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
		},
		{
			name: "listeners reordered",
			base: threeListeners,
			edit: func(c *Config) { slices.Reverse(c.Listeners) },
			want: []string{"order listeners"},
		},
		{
			name: "remove, add, reorder and edit in one list",
			base: func(t testing.TB) *Config { return withEntries(factory(t), 6) },
			edit: func(c *Config) {
				e := c.Destinations.Entries
				e = slices.Delete(e, 2, 3)                                                           // remove
				e = slices.Insert(e, 0, DestControl{Domain: "new.example.net", TLS: TLSOutRequired}) // add first
				e[3], e[4] = e[4], e[3]                                                              // reorder
				e[1].MaxMsgsPerConn = 7                                                              // edit
				c.Destinations.Entries = e
			},
		},
		{
			name: "item renamed",
			edit: func(c *Config) { c.Certificates[0].Name = "Renamed"; c.Listeners[0].Certificate = "Renamed" },
		},
		{
			name: "nil and empty lists are the same setting",
			edit: func(c *Config) {
				c.Routes = []Route{}
				c.Alerts.Recipients = []AlertRecipient{}
				c.Listeners[0].SenderGroups[0].Hosts = []string{}
				c.Listeners[0].AcceptDomains = []string{}
				c.Certificates[0].Intermediates = []string{}
			},
			want: []string{},
		},
		{
			name: "empty list filled",
			edit: func(c *Config) {
				c.Routes = []Route{{Domain: "example.net", Hosts: []RouteHost{{Host: "mx1.example.net", Port: 25}}}}
				c.Listeners[0].AcceptDomains = []string{"example.com"}
			},
			want: []string{"set listeners[IncomingMail].rcpt_access", "add smtproutes[example.net]", "order smtproutes"},
		},
		{
			name: "list emptied to nil",
			base: func(t testing.TB) *Config { return withEntries(factory(t), 3) },
			edit: func(c *Config) { c.Destinations.Entries = nil },
		},
		{
			name: "list of plain structs inside an item",
			base: func(t testing.TB) *Config {
				c := factory(t)
				c.Routes = []Route{{Domain: "ALL", Hosts: []RouteHost{{Host: "USEDNS"}}}, {Domain: "example.net", Hosts: []RouteHost{{Host: "mx1.example.net"}}}}
				return c
			},
			edit: func(c *Config) {
				c.Routes[1].Hosts = append(c.Routes[1].Hosts, RouteHost{Host: "mx2.example.net", Priority: 10})
			},
			want: []string{"set smtproutes[example.net].hosts"},
		},
		// Long lists (the ten thousand of the benchmarks are slow under
		// the race detector; records_test.go loads ten thousand).
		{
			name: "one entry of two thousand changed",
			base: func(t testing.TB) *Config { return withEntries(factory(t), 2000) },
			edit: func(c *Config) { c.Destinations.Entries[1000].TLS = TLSOutRequiredVerify },
			want: []string{"set destinations.entries[d01000.example.com].tls"},
		},
		{
			name: "one entry of two thousand removed",
			base: func(t testing.TB) *Config { return withEntries(factory(t), 2000) },
			edit: func(c *Config) { c.Destinations.Entries = slices.Delete(c.Destinations.Entries, 1000, 1001) },
			want: []string{"remove destinations.entries[d01000.example.com]", "order destinations.entries"},
		},
		{
			name: "bulk removal and import",
			base: func(t testing.TB) *Config { return withEntries(factory(t), 1000) },
			edit: func(c *Config) {
				e := slices.Delete(c.Destinations.Entries, 200, 500)
				for i := range 500 {
					e = append(e, DestControl{Domain: fmt.Sprintf("import%d.example.net", i), TLS: TLSOutPreferred})
				}
				c.Destinations.Entries = e
			},
		},
		{
			name: "changes in several sections and items",
			base: threeListeners,
			edit: func(c *Config) {
				c.Hostname = "other.example.com"
				c.Interfaces[0].SSH.Port = 22
				c.Listeners[1].SenderGroups[0].Hosts = []string{"10.1.1.1-50"}
				c.Listeners[2].Policies[2].Params.MaxRcptsPerHour = 100
				c.Users = append(c.Users, User{Name: "op", Role: RoleOperator, SSHKeys: []string{"ssh-ed25519 AAAA"}})
				c.Alerts.Recipients = []AlertRecipient{{Address: "a@example.com", Classes: []string{"all"}}}
				c.CAs.Custom = []CA{{Name: "corp", PEM: "x"}}
				c.LDAP.Servers = []LDAPServer{{Name: "ad", Host: "ad.example.com", Port: 389}}
			},
		},
		{
			name: "whole configuration replaced",
			edit: func(c *Config) {
				var n Config
				if err := json.Unmarshal(replacement, &n); err != nil {
					panic(err)
				}
				*c = n
			},
		},
	}
}

func TestDiffApplyRoundTrip(t *testing.T) {
	for _, tc := range editCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.configs(t)
			ca, cb := canon(t, a), canon(t, b)

			chs := Diff(a, b)
			if tc.want != nil && !slices.Equal(paths(chs), tc.want) {
				t.Errorf("Diff = %q, want %q", paths(chs), tc.want)
			}
			if d := Diff(a, a); len(d) != 0 {
				t.Errorf("Diff(a, a) = %q, want none", paths(d))
			}

			fwd := a.Clone()
			if err := Apply(fwd, chs); err != nil {
				t.Fatalf("Apply(a, Diff(a, b)): %v", err)
			}
			assertCanon(t, "Apply(a, Diff(a, b))", fwd, cb, b)
			if d := Diff(fwd, b); len(d) != 0 {
				t.Errorf("Diff(Apply(a, Diff(a, b)), b) = %q, want none", paths(d))
			}

			back := b.Clone()
			if err := Apply(back, Invert(chs)); err != nil {
				t.Fatalf("Apply(b, Invert(Diff(a, b))): %v", err)
			}
			assertCanon(t, "Apply(b, Invert(Diff(a, b)))", back, ca, a)

			// Revisions store their changes as JSON: the decoded changes
			// must undo just as well.
			raw, err := json.Marshal(chs)
			if err != nil {
				t.Fatal(err)
			}
			var decoded []Change
			if err := json.Unmarshal(raw, &decoded); err != nil {
				t.Fatal(err)
			}
			back2 := b.Clone()
			if err := Apply(back2, Invert(decoded)); err != nil {
				t.Fatalf("Apply(b, Invert(decoded)): %v", err)
			}
			assertCanon(t, "Apply(b, Invert(decoded changes))", back2, ca, a)

			if canon(t, a) != ca || canon(t, b) != cb {
				t.Error("Diff or Apply on a clone modified its input")
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name string
		ch   Change
		want error
	}{
		{"unknown field", Change{Op: OpSet, Path: "nosuch", New: json.RawMessage(`1`)}, ErrBadPath},
		{"field of a scalar", Change{Op: OpSet, Path: "hostname.x", New: json.RawMessage(`1`)}, ErrBadPath},
		{"key on a plain field", Change{Op: OpSet, Path: "hostname[x]", New: json.RawMessage(`1`)}, ErrBadPath},
		{"empty field name", Change{Op: OpSet, Path: "listeners..port", New: json.RawMessage(`1`)}, ErrBadPath},
		{"unterminated key", Change{Op: OpSet, Path: "listeners[IncomingMail.port", New: json.RawMessage(`1`)}, ErrBadPath},
		{"inside a missing item", Change{Op: OpSet, Path: "listeners[Nope].port", New: json.RawMessage(`1`)}, ErrNotFound},
		{"set on a whole item", Change{Op: OpSet, Path: "listeners[IncomingMail]", New: json.RawMessage(`{}`)}, ErrBadPath},
		{"add without a key", Change{Op: OpAdd, Path: "listeners", New: json.RawMessage(`{}`)}, ErrBadPath},
		{"remove without a key", Change{Op: OpRemove, Path: "hostname"}, ErrBadPath},
		{"order of a plain list", Change{Op: OpOrder, Path: "listeners[IncomingMail].rcpt_access", New: json.RawMessage(`["a"]`)}, ErrBadPath},
		{"order of a scalar", Change{Op: OpOrder, Path: "hostname", New: json.RawMessage(`["a"]`)}, ErrBadPath},
		{"unknown op", Change{Op: "frob", Path: "hostname"}, ErrBadPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			err := Apply(c, []Change{tc.ch})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply(%s %s) = %v, want %v", tc.ch.Op, tc.ch.Path, err, tc.want)
			}
		})
	}
	t.Run("bad value", func(t *testing.T) {
		err := Apply(factory(t), []Change{{Op: OpSet, Path: "listeners[IncomingMail].port", New: json.RawMessage(`"x"`)}})
		if err == nil || !strings.Contains(err.Error(), "listeners[IncomingMail].port") {
			t.Fatalf("Apply with a value of the wrong type = %v, want an error naming the path", err)
		}
	})
	t.Run("added item takes the key of its path", func(t *testing.T) {
		c := factory(t)
		err := Apply(c, []Change{{Op: OpAdd, Path: "users[ops]", New: json.RawMessage(`{"name":"other","role":"operator"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if i := indexOf(c.Users, func(u User) string { return u.Name }, "ops"); i < 0 {
			t.Fatalf("users after add = %+v, want an item named ops", c.Users)
		}
	})
}

// wantOrder checks the keys of a list, in order.
func wantOrder[T any](t *testing.T, list []T, key func(T) string, want ...string) {
	t.Helper()
	var got []string
	for _, e := range list {
		got = append(got, key(e))
	}
	if !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
}

// conflictWant is a conflict as the test expects it; empty fields are not
// checked.
type conflictWant struct{ path, base, theirs, ours string }

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		base      func(t testing.TB) *Config
		theirs    func(c *Config)
		ours      func(c *Config)
		conflicts []conflictWant
		check     func(t *testing.T, m *Config)
	}{
		{
			name:   "disjoint changes merge",
			theirs: func(c *Config) { c.Hostname = "theirs.example.com" },
			ours: func(c *Config) {
				c.Listeners[0].Port = 25
				c.Destinations.Entries = append(c.Destinations.Entries, DestControl{Domain: "ours.example.com"})
			},
			check: func(t *testing.T, m *Config) {
				if m.Hostname != "theirs.example.com" || m.Listeners[0].Port != 25 || len(m.Destinations.Entries) != 1 {
					t.Errorf("merged: hostname %q, port %d, entries %v", m.Hostname, m.Listeners[0].Port, m.Destinations.Entries)
				}
			},
		},
		{
			name:   "different settings of the same item merge",
			theirs: func(c *Config) { c.Listeners[0].Port = 25 },
			ours:   func(c *Config) { c.Listeners[0].MaxConnections = 99 },
			check: func(t *testing.T, m *Config) {
				if m.Listeners[0].Port != 25 || m.Listeners[0].MaxConnections != 99 {
					t.Errorf("merged listener: port %d, max connections %d", m.Listeners[0].Port, m.Listeners[0].MaxConnections)
				}
			},
		},
		{
			name:   "same change on both sides",
			theirs: func(c *Config) { c.Hostname = "same.example.com"; c.Listeners[0].Port = 25 },
			ours:   func(c *Config) { c.Hostname = "same.example.com" },
			check: func(t *testing.T, m *Config) {
				if m.Hostname != "same.example.com" || m.Listeners[0].Port != 25 {
					t.Errorf("merged: hostname %q, port %d", m.Hostname, m.Listeners[0].Port)
				}
			},
		},
		{
			name:   "same item removed on both sides",
			base:   threeListeners,
			theirs: func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
			ours:   func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
			check: func(t *testing.T, m *Config) {
				if got := len(m.Listeners); got != 2 {
					t.Errorf("merged listeners: %d, want 2", got)
				}
			},
		},
		{
			name:      "same setting, different values",
			theirs:    func(c *Config) { c.Hostname = "theirs.example.com" },
			ours:      func(c *Config) { c.Hostname = "ours.example.com" },
			conflicts: []conflictWant{{"hostname", `"esa.example.com"`, `"theirs.example.com"`, `"ours.example.com"`}},
		},
		{
			name:      "same nested setting, different values",
			theirs:    func(c *Config) { c.Listeners[0].SenderGroups[4].Policy = "THROTTLED" },
			ours:      func(c *Config) { c.Listeners[0].SenderGroups[4].Policy = "BLOCKED" },
			conflicts: []conflictWant{{"listeners[IncomingMail].sender_groups[ALL].policy", `"ACCEPTED"`, `"THROTTLED"`, `"BLOCKED"`}},
		},
		{
			name:      "they removed an item we edited",
			base:      threeListeners,
			theirs:    func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
			ours:      func(c *Config) { c.Listeners[1].Port = 587 },
			conflicts: []conflictWant{{path: "listeners[OutgoingMail].port", base: "2526", ours: "587"}},
		},
		{
			name:      "we removed an item they edited",
			base:      threeListeners,
			theirs:    func(c *Config) { c.Listeners[1].SenderGroups[0].Hosts = []string{"10.0.0.1"} },
			ours:      func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
			conflicts: []conflictWant{{path: "listeners[OutgoingMail]", theirs: `["10.0.0.1"]`}},
		},
		{
			name:   "they removed an item whose inner list we reordered",
			base:   threeListeners,
			theirs: func(c *Config) { c.Listeners = slices.Delete(c.Listeners, 1, 2) },
			ours: func(c *Config) {
				g := c.Listeners[1].SenderGroups
				g[0], g[1] = g[1], g[0]
			},
			conflicts: []conflictWant{{path: "listeners[OutgoingMail].sender_groups"}},
		},
		{
			name:      "both sides added the same key differently",
			theirs:    func(c *Config) { c.Users = append(c.Users, User{Name: "ops", Role: RoleOperator}) },
			ours:      func(c *Config) { c.Users = append(c.Users, User{Name: "ops", Role: RoleReadOnly}) },
			conflicts: []conflictWant{{path: "users[ops]"}},
		},
		{
			name:   "both sides added different items",
			theirs: func(c *Config) { c.Users = append(c.Users, User{Name: "alice", Role: RoleOperator}) },
			ours:   func(c *Config) { c.Users = append(c.Users, User{Name: "bob", Role: RoleReadOnly}) },
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Users, func(u User) string { return u.Name }, "admin", "alice", "bob")
			},
		},
		{
			name: "both sides added a sender group before ALL",
			theirs: func(c *Config) {
				c.Listeners[0].SenderGroups = slices.Insert(c.Listeners[0].SenderGroups, 4, SenderGroup{Name: "THEIRS", Policy: "ACCEPTED"})
			},
			ours: func(c *Config) {
				c.Listeners[0].SenderGroups = slices.Insert(c.Listeners[0].SenderGroups, 4, SenderGroup{Name: "OURS", Policy: "BLOCKED"})
			},
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Listeners[0].SenderGroups, groupName,
					"ALLOWED_LIST", "BLOCKED_LIST", "SUSPECTLIST", "UNKNOWNLIST", "THEIRS", "OURS", "ALL")
			},
		},
		{
			name: "both sides added sender groups first",
			theirs: func(c *Config) {
				c.Listeners[0].SenderGroups = slices.Insert(c.Listeners[0].SenderGroups, 0, SenderGroup{Name: "T1", Policy: "ACCEPTED"}, SenderGroup{Name: "T2", Policy: "ACCEPTED"})
			},
			ours: func(c *Config) {
				c.Listeners[0].SenderGroups = slices.Insert(c.Listeners[0].SenderGroups, 0, SenderGroup{Name: "O1", Policy: "BLOCKED"})
			},
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Listeners[0].SenderGroups, groupName,
					"T1", "T2", "O1", "ALLOWED_LIST", "BLOCKED_LIST", "SUSPECTLIST", "UNKNOWNLIST", "ALL")
			},
		},
		{
			name:   "their reorder and our addition merge",
			base:   threeListeners,
			theirs: func(c *Config) { slices.Reverse(c.Listeners) },
			ours: func(c *Config) {
				c.Listeners = append(c.Listeners, FactoryListener("Extra", Public, "Management", 2600))
			},
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Listeners, listenerName, "Partners", "OutgoingMail", "IncomingMail", "Extra")
			},
		},
		{
			name: "our reorder and their addition merge",
			theirs: func(c *Config) {
				c.Listeners[0].SenderGroups = slices.Insert(c.Listeners[0].SenderGroups, 1, SenderGroup{Name: "NEW", Policy: "ACCEPTED"})
			},
			ours: func(c *Config) {
				g := c.Listeners[0].SenderGroups
				g[0], g[3] = g[3], g[0]
			},
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Listeners[0].SenderGroups, groupName,
					"UNKNOWNLIST", "NEW", "BLOCKED_LIST", "SUSPECTLIST", "ALLOWED_LIST", "ALL")
			},
		},
		{
			name:   "same reorder on both sides",
			base:   threeListeners,
			theirs: func(c *Config) { slices.Reverse(c.Listeners) },
			ours:   func(c *Config) { slices.Reverse(c.Listeners) },
			check: func(t *testing.T, m *Config) {
				wantOrder(t, m.Listeners, listenerName, "Partners", "OutgoingMail", "IncomingMail")
			},
		},
		{
			name:      "different reorders of the same list",
			base:      threeListeners,
			theirs:    func(c *Config) { slices.Reverse(c.Listeners) },
			ours:      func(c *Config) { c.Listeners[0], c.Listeners[1] = c.Listeners[1], c.Listeners[0] },
			conflicts: []conflictWant{{"listeners", `["IncomingMail","OutgoingMail","Partners"]`, `["Partners","OutgoingMail","IncomingMail"]`, `["OutgoingMail","IncomingMail","Partners"]`}},
		},
		{
			name:   "their removal and our addition in one long list",
			base:   func(t testing.TB) *Config { return withEntries(factory(t), 1000) },
			theirs: func(c *Config) { c.Destinations.Entries = slices.Delete(c.Destinations.Entries, 10, 20) },
			ours: func(c *Config) {
				c.Destinations.Entries = slices.Insert(c.Destinations.Entries, 500, DestControl{Domain: "ours.example.com"})
			},
			check: func(t *testing.T, m *Config) {
				e := m.Destinations.Entries
				if len(e) != 991 || e[490].Domain != "ours.example.com" || indexOf(e, domainOf, "d00010.example.com") >= 0 {
					t.Errorf("merged entries: %d, [490] = %q", len(e), e[490].Domain)
				}
			},
		},
		{
			name:   "several conflicts reported together",
			theirs: func(c *Config) { c.Hostname = "t.example.com"; c.Listeners[0].Port = 1 },
			ours:   func(c *Config) { c.Hostname = "o.example.com"; c.Listeners[0].Port = 2; c.Alerts.MaxSaved = 3 },
			conflicts: []conflictWant{
				{"hostname", `"esa.example.com"`, `"t.example.com"`, `"o.example.com"`},
				{"listeners[IncomingMail].port", "2525", "1", "2"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := factory(t)
			if tc.base != nil {
				base = tc.base(t)
			}
			theirs, ours := jsonCopy(t, base), jsonCopy(t, base)
			tc.theirs(theirs)
			tc.ours(ours)
			before := canon(t, theirs)
			merged, conflicts, err := Merge(theirs, Diff(base, theirs), Diff(base, ours))
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if canon(t, theirs) != before {
				t.Error("Merge modified theirs")
			}
			if tc.conflicts != nil {
				if merged != nil {
					t.Error("Merge returned a configuration along with conflicts")
				}
				if len(conflicts) != len(tc.conflicts) {
					t.Fatalf("conflicts = %+v, want %d", conflicts, len(tc.conflicts))
				}
				for i, w := range tc.conflicts {
					c := conflicts[i]
					for _, f := range []struct{ name, got, want string }{
						{"path", c.Path, w.path}, {"base", string(c.Base), w.base},
						{"theirs", string(c.Theirs), w.theirs}, {"ours", string(c.Ours), w.ours},
					} {
						if f.want != "" && f.got != f.want {
							t.Errorf("conflict %d %s = %s, want %s", i, f.name, f.got, f.want)
						}
					}
				}
				return
			}
			if len(conflicts) > 0 {
				t.Fatalf("unexpected conflicts: %+v", conflicts)
			}
			if merged == theirs {
				t.Error("Merge returned theirs itself, want a new configuration")
			}
			// Everything they did is kept: our changes on top of the
			// merged result change nothing of theirs that we did not touch.
			tc.check(t, merged)
		})
	}
}

// fill sets every field reachable from v to a non-zero value and every
// list to two elements with distinct keys. A kind it does not know fails
// the test, so a new kind of field gets a decision here too.
func fill(t *testing.T, v reflect.Value, seed string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(t, v.Field(i), seed+"."+v.Type().Field(i).Name)
		}
	case reflect.String:
		v.SetString(seed)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(seed)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(len(seed)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(len(seed)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), fmt.Sprintf("%s[%d]", seed, i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, seed+"#k")
		fill(t, e, seed+"#v")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), seed)
		v.Set(p)
	default:
		t.Fatalf("fill %s: unsupported kind %s; teach this test and Clone about it", seed, v.Kind())
	}
}

// mutate changes, in place, every value reachable from v, including the
// elements of lists (in their backing arrays), map values and pointees.
// It returns how many lists it reached.
func mutate(t *testing.T, v reflect.Value) int {
	lists := 0
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			lists += mutate(t, v.Field(i))
		}
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		lists++
		for i := 0; i < v.Len(); i++ {
			lists += mutate(t, v.Index(i))
		}
	case reflect.Map:
		lists++
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			lists += mutate(t, e)
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			lists += mutate(t, v.Elem())
		}
	default:
		t.Fatalf("mutate: unsupported kind %s", v.Kind())
	}
	return lists
}

func TestCloneIndependence(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T) *Config
	}{
		{"every field set", func(t *testing.T) *Config {
			c := &Config{}
			fill(t, reflect.ValueOf(c).Elem(), "c")
			return c
		}},
		{"factory", func(t *testing.T) *Config { return factory(t) }},
		{"two thousand entries", func(t *testing.T) *Config { return withEntries(factory(t), 2000) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.make(t)
			before, err := json.Marshal(orig)
			if err != nil {
				t.Fatal(err)
			}
			snapshot := jsonCopy(t, orig)
			clone := orig.Clone()
			if !reflect.DeepEqual(clone, orig) {
				assertSame(t, "Clone", clone, orig)
				t.Error("Clone is not deeply equal to the original")
			}
			lists := mutate(t, reflect.ValueOf(clone).Elem())
			if lists == 0 {
				t.Fatal("mutate reached no list")
			}
			after, _ := json.Marshal(orig)
			if string(before) != string(after) {
				t.Errorf("mutating the clone changed the original at %q", paths(Diff(snapshot, orig)))
			}
			// And the other way round.
			clone2 := orig.Clone()
			mutate(t, reflect.ValueOf(orig).Elem())
			assertSame(t, "clone after the original was mutated", clone2, snapshot)
		})
	}
	t.Run("nil lists stay nil", func(t *testing.T) {
		c := &Config{}
		if n := c.Clone(); !reflect.DeepEqual(n, c) {
			t.Errorf("Clone of an empty configuration = %+v", n)
		}
	})
}

// TestFillCoversConfig guards the guard: fill must reach every field of
// Config, so the clone test sees any list a future field adds.
func TestFillCoversConfig(t *testing.T) {
	c := &Config{}
	fill(t, reflect.ValueOf(c).Elem(), "c")
	var zero func(v reflect.Value, path string)
	zero = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				zero(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		case reflect.Slice:
			if v.Len() == 0 {
				t.Errorf("%s: empty after fill", path)
			}
			for i := 0; i < v.Len(); i++ {
				zero(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		default:
			if v.IsZero() {
				t.Errorf("%s: zero after fill", path)
			}
		}
	}
	zero(reflect.ValueOf(c).Elem(), "Config")
}

func TestApplyRemovals(t *testing.T) {
	rm := func(p string) Change { return Change{Op: OpRemove, Path: p} }
	tests := []struct {
		name    string
		base    func(t testing.TB) *Config
		changes []Change
		entries []string // the destination entries left
		users   []string // the users left
	}{
		{"run from one list",
			func(t testing.TB) *Config { return withEntries(factory(t), 5) },
			[]Change{rm("destinations.entries[d00001.example.com]"), rm("destinations.entries[d00000.example.com]"), rm("destinations.entries[d00004.example.com]")},
			[]string{"d00002.example.com", ".subd00003.example.com"}, []string{"admin"}},
		{"runs from several lists",
			func(t testing.TB) *Config {
				c := withEntries(factory(t), 3)
				c.Users = append(c.Users, User{Name: "a"}, User{Name: "b"})
				return c
			},
			[]Change{rm("destinations.entries[d00000.example.com]"), rm("users[a]"), rm("destinations.entries[d00002.example.com]"), rm("users[admin]")},
			[]string{"d00001.example.com"}, []string{"b"}},
		{"missing items",
			func(t testing.TB) *Config { return withEntries(factory(t), 2) },
			[]Change{rm("destinations.entries[nope.example.com]"), rm("destinations.entries[d00000.example.com]"), rm("users[nobody]")},
			[]string{"d00001.example.com"}, []string{"admin"}},
		{"duplicate keys go one removal at a time",
			func(t testing.TB) *Config {
				c := factory(t)
				c.Destinations.Entries = []DestControl{{Domain: "x.example"}, {Domain: "y.example"}, {Domain: "x.example", MaxConcurrency: 2}}
				return c
			},
			[]Change{rm("destinations.entries[x.example]")},
			[]string{"y.example", "x.example"}, []string{"admin"}},
		{"removals around other changes",
			func(t testing.TB) *Config { return withEntries(factory(t), 3) },
			[]Change{rm("destinations.entries[d00000.example.com]"),
				{Op: OpAdd, Path: "destinations.entries[d00000.example.com]", New: json.RawMessage(`{}`)},
				rm("destinations.entries[d00001.example.com]")},
			[]string{"d00002.example.com", "d00000.example.com"}, []string{"admin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base(t)
			if err := Apply(c, tc.changes); err != nil {
				t.Fatal(err)
			}
			wantOrder(t, c.Destinations.Entries, domainOf, tc.entries...)
			wantOrder(t, c.Users, func(u User) string { return u.Name }, tc.users...)
		})
	}
}
