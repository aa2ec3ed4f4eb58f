package config

import (
	"errors"
	"strings"
	"testing"
)

// recordMap is what a store holds after writing every record of c.
func recordMap(c *Config) map[string][]byte {
	m := map[string][]byte{}
	for _, r := range Records(c) {
		m[r.Key] = r.Value
	}
	return m
}

func TestRecordsLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		make  func(t *testing.T) *Config
		check func(t *testing.T, recs []Record)
	}{
		{"empty", func(t *testing.T) *Config { return &Config{} }, nil},
		{"factory", func(t *testing.T) *Config { return factory(t) }, nil},
		{"three listeners", func(t *testing.T) *Config { return threeListeners(t) }, nil},
		{"ten thousand destination entries", func(t *testing.T) *Config { return withEntries(factory(t), 10000) },
			func(t *testing.T, recs []Record) {
				n := 0
				for _, r := range recs {
					if strings.HasPrefix(r.Key, "destinations.entries[") {
						n++
					}
				}
				if n != 10000 {
					t.Errorf("%d destination entry records, want one per entry (10000)", n)
				}
			}},
		{"every list filled", func(t *testing.T) *Config {
			c := threeListeners(t)
			withEntries(c, 20)
			c.Routes = []Route{{Domain: "ALL", Hosts: []RouteHost{{Host: "USEDNS"}}}, {Domain: "example.net", Hosts: []RouteHost{{Host: "10.0.0.1", Port: 2525}}}}
			c.Alerts.Recipients = []AlertRecipient{{Address: "b@example.com", Classes: []string{"all"}}, {Address: "a@example.com"}}
			c.CAs.Custom = []CA{{Name: "z"}, {Name: "a"}}
			c.LDAP.Servers = []LDAPServer{{Name: "ad", Host: "ad.example.com", Port: 636, SSL: true}}
			c.Users = append(c.Users, User{Name: "op", Role: RoleOperator, SSHKeys: []string{"k1", "k2"}})
			return c
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.make(t)
			recs := Records(c)
			seen := map[string]bool{}
			for _, r := range recs {
				if seen[r.Key] {
					t.Errorf("record key %q written twice", r.Key)
				}
				seen[r.Key] = true
			}
			if tc.check != nil {
				tc.check(t, recs)
			}
			got, err := Load(recordMap(c))
			if err != nil {
				t.Fatalf("Load(Records(c)): %v", err)
			}
			assertSame(t, "Load(Records(c))", got, c)
			if d := Diff(c, got); len(d) != 0 {
				t.Errorf("Diff(c, Load(Records(c))) = %q", paths(d))
			}
		})
	}
}

// TestChangedRecords plays a store: it holds the records of a, writes the
// records the changes to b touched, and loads b back.
func TestChangedRecords(t *testing.T) {
	for _, tc := range editCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.configs(t)
			m := recordMap(a)
			changed, err := ChangedRecords(b, Diff(a, b))
			if err != nil {
				t.Fatalf("ChangedRecords: %v", err)
			}
			for _, r := range changed {
				if r.Value == nil {
					delete(m, r.Key)
				} else {
					m[r.Key] = r.Value
				}
			}
			got, err := Load(m)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			assertSame(t, "records of a + changed records of b", got, b)
			if len(m) != len(recordMap(b)) {
				t.Errorf("%d records after the update, want %d (stale records left)", len(m), len(recordMap(b)))
			}
		})
	}
	t.Run("one change writes one record", func(t *testing.T) {
		a := withEntries(factory(t), 10000)
		b := a.Clone()
		b.Destinations.Entries[1234].MaxConcurrency = 3
		b.Listeners[0].SenderGroups[4].Hosts = []string{"ALL", "10.0.0.0/8"}
		b.Listeners[0].Port = 25
		changed, err := ChangedRecords(b, Diff(a, b))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range changed {
			keys = append(keys, r.Key)
		}
		want := "listeners[IncomingMail] destinations.entries[d01234.example.com]"
		if strings.Join(keys, " ") != want {
			t.Errorf("changed records = %q, want %q", keys, want)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m map[string][]byte)
		wantErr bool
		is      error // when set, the error wraps it
	}{
		{"item of an order missing", func(m map[string][]byte) { delete(m, "listeners[IncomingMail]") }, true, ErrNotFound},
		{"order that is not JSON", func(m map[string][]byte) { m["listeners#order"] = []byte("{") }, true, nil},
		{"item that is not JSON", func(m map[string][]byte) { m["users[admin]"] = []byte("[") }, true, nil},
		{"order of an unknown list", func(m map[string][]byte) { m["nosuch#order"] = []byte(`[]`) }, true, ErrBadPath},
		{"order of a setting that is not a list", func(m map[string][]byte) { m["hostname#order"] = []byte(`[]`) }, true, ErrBadPath},
		{"setting this version no longer has", func(m map[string][]byte) { m["obsolete.setting"] = []byte(`1`) }, false, nil},
		{"orphan item", func(m map[string][]byte) { m["users[ghost]"] = []byte(`{"name":"ghost"}`) }, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := recordMap(factory(t))
			tc.edit(m)
			c, err := Load(m)
			if tc.wantErr {
				if err == nil || tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("Load = %v, want an error (wrapping %v)", err, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(c.Users) != 1 || c.Users[0].Name != "admin" {
				t.Errorf("users = %+v, want only admin", c.Users)
			}
		})
	}
}
