// Package deps_test enforces the dependency rules of the architecture: the
// arrows between our packages point one way.
package deps_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// forbidden maps a package pattern to imports it must never have: our own
// packages directly or indirectly, third-party ones directly (commands reach
// bbolt only through the store's interface, which is the point).
var forbidden = []struct {
	pkg     string // package path, or prefix ending in "/"
	imports []string
}{
	{"esash/config", []string{"esash/"}},
	{"esash/pki", []string{"esash/"}},
	{"esash/maillog", []string{"esash/"}},
	{"esash/lifecycle", []string{"esash/"}},
	{"esash/mta", []string{"esash/store", "esash/shell", "esash/commands/"}},
	{"esash/commands/", []string{"esash/mta", "go.etcd.io/bbolt"}},
	{"esash/shell", []string{"esash/mta", "esash/commands/", "go.etcd.io/bbolt"}},
	{"esash/store", []string{"esash/shell", "esash/commands/", "esash/mta"}},
	{"esash/sshd", []string{"esash/mta", "esash/commands/", "esash/web"}},
	{"esash/web", []string{"esash/mta", "esash/commands/", "esash/store", "esash/shell", "esash/sshd"}},
	{"esash/", []string{"esash/cmd/"}},
}

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func matches(path, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(path, pattern)
	}
	return path == pattern
}

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		for _, v := range violations(p) {
			t.Error(v)
		}
	}
	if n < 5 {
		t.Fatalf("go list returned only %d packages", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// violations lists the rules package p breaks.
func violations(p listed) []string {
	var out []string
	for _, rule := range forbidden {
		if !matches(p.ImportPath, rule.pkg) || strings.HasPrefix(p.ImportPath, "esash/cmd/") && rule.pkg == "esash/" {
			continue
		}
		seen := map[string]bool{}
		for _, d := range append(p.Imports, p.Deps...) {
			if seen[d] {
				continue
			}
			seen[d] = true
			for _, bad := range rule.imports {
				if !strings.HasPrefix(bad, "esash/") && !contains(p.Imports, d) {
					continue
				}
				if matches(d, bad) && d != p.ImportPath && !(bad == "esash/" && strings.HasPrefix(p.ImportPath, d)) {
					out = append(out, p.ImportPath+" must not import "+d)
				}
			}
		}
	}
	return out
}

// TestDependencyRulesFire checks the checker: known violations are caught.
func TestDependencyRulesFire(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    listed
		want int
	}{
		{"mta imports store indirectly", listed{ImportPath: "esash/mta", Deps: []string{"esash/store"}}, 1},
		{"command imports bbolt", listed{ImportPath: "esash/commands/x", Imports: []string{"go.etcd.io/bbolt"}, Deps: []string{"go.etcd.io/bbolt"}}, 1},
		{"command reaches bbolt via store", listed{ImportPath: "esash/commands/x", Imports: []string{"esash/store"}, Deps: []string{"esash/store", "go.etcd.io/bbolt"}}, 0},
		{"config imports pki", listed{ImportPath: "esash/config", Deps: []string{"esash/pki"}}, 1},
		{"shell imports a command", listed{ImportPath: "esash/shell", Deps: []string{"esash/commands/certconfig"}}, 1},
		{"lifecycle imports config", listed{ImportPath: "esash/lifecycle", Deps: []string{"esash/config"}}, 1},
		{"cmd imports everything", listed{ImportPath: "esash/cmd/esash", Deps: []string{"esash/mta", "esash/store"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(tc.p); len(got) != tc.want {
				t.Errorf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
