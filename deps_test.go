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
// bbolt only through the store's interface, which is the point); linked
// lists third-party packages forbidden at any depth (sshd and web do not
// carry the shell's line editor); allowed are exceptions to imports.
// Besides these, no command imports another (commandImports).
var forbidden = []struct {
	pkg     string // package path, or prefix ending in "/"
	imports []string
	linked  []string // third-party packages forbidden at any depth
	allowed []string
	exempt  []string // packages the rule does not apply to
}{
	{pkg: "esash/config", imports: []string{"esash/"}},
	{pkg: "esash/pki", imports: []string{"esash/"}},
	{pkg: "esash/maillog", imports: []string{"esash/"}},
	{pkg: "esash/lifecycle", imports: []string{"esash/"}},
	// Accounts are data and checks over the configuration: every way in
	// (sshd, web, the shell) uses them, so they use none of those.
	{pkg: "esash/accounts", imports: []string{"esash/"}, allowed: []string{"esash/config"}},
	{pkg: "esash/mta", imports: []string{"esash/store", "esash/shell", "esash/commands/"}},
	{pkg: "esash/commands/", imports: []string{"esash/mta", "go.etcd.io/bbolt"}},
	{pkg: "esash/shell", imports: []string{"esash/mta", "esash/commands/", "go.etcd.io/bbolt"}},
	{pkg: "esash/shell/", imports: []string{"esash/mta", "esash/commands/", "go.etcd.io/bbolt"}},
	{pkg: "esash/store", imports: []string{"esash/shell", "esash/commands/", "esash/mta", "esash/accounts"}},
	{pkg: "esash/sshd", imports: []string{"esash/mta", "esash/commands/", "esash/web", "esash/shell"},
		linked: lineEditors},
	{pkg: "esash/web", imports: []string{"esash/mta", "esash/commands/", "esash/store", "esash/shell", "esash/sshd"},
		linked: lineEditors},
	{pkg: "esash/", imports: []string{"esash/cmd/"}},
	// Only the cluster backend and the wiring know etcd (issue 13); the
	// configuration and the MTA link nothing of go.etcd.io, not even bbolt.
	{pkg: "esash/", imports: []string{"go.etcd.io/etcd/"}, exempt: []string{"esash/store/etcdstore", "esash/store/etcdstore/", "esash/cmd/"}},
	{pkg: "esash/config", linked: []string{"go.etcd.io"}},
	{pkg: "esash/mta", linked: []string{"go.etcd.io"}},
	{pkg: "esash/mta/", linked: []string{"go.etcd.io"}},
}

// lineEditors are the shell's terminal libraries: the daemon links them
// for the shell, and the network services must not need them.
var lineEditors = []string{"github.com/chzyer/readline", "github.com/c-bata/go-prompt"}

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
		if !matches(p.ImportPath, rule.pkg) || matchesAny(p.ImportPath, rule.exempt) ||
			strings.HasPrefix(p.ImportPath, "esash/cmd/") && rule.pkg == "esash/" && rule.exempt == nil {
			continue
		}
		seen := map[string]bool{}
		for _, d := range append(p.Imports, p.Deps...) {
			if seen[d] || matchesAny(d, rule.allowed) {
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
			for _, bad := range rule.linked {
				if matches(d, bad) || strings.HasPrefix(d, bad+"/") {
					out = append(out, p.ImportPath+" must not link "+d)
				}
			}
		}
	}
	return append(out, commandImports(p)...)
}

func matchesAny(path string, patterns []string) bool {
	for _, pat := range patterns {
		if matches(path, pat) {
			return true
		}
	}
	return false
}

// commandOf is the command a package belongs to: "saveconfig" for
// esash/commands/saveconfig and its sub-packages, "" outside commands.
func commandOf(path string) string {
	rest, ok := strings.CutPrefix(path, "esash/commands/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// commandImports: a command imports no other command, directly or not.
// What two commands share belongs in the shell or the configuration.
func commandImports(p listed) []string {
	own := commandOf(p.ImportPath)
	if own == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range append(p.Imports, p.Deps...) {
		if other := commandOf(d); other != "" && other != own && !seen[d] {
			seen[d] = true
			out = append(out, p.ImportPath+" must not import "+d+", another command's package")
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
		{"command imports another command's package", listed{ImportPath: "esash/commands/mailconfig",
			Imports: []string{"esash/commands/saveconfig/backup"}, Deps: []string{"esash/commands/saveconfig/backup"}}, 1},
		{"command reaches another command indirectly", listed{ImportPath: "esash/commands/x",
			Imports: []string{"esash/shell"}, Deps: []string{"esash/shell", "esash/commands/y"}}, 1},
		{"command imports its own sub-package", listed{ImportPath: "esash/commands/saveconfig",
			Imports: []string{"esash/commands/saveconfig/backup"}, Deps: []string{"esash/commands/saveconfig/backup"}}, 0},
		{"command sub-package imports its command", listed{ImportPath: "esash/commands/saveconfig/backup",
			Deps: []string{"esash/commands/saveconfig"}}, 0},
		{"commands share the shell", listed{ImportPath: "esash/commands/showconfig",
			Imports: []string{"esash/shell/backup"}, Deps: []string{"esash/shell/backup", "esash/shell", "esash/accounts"}}, 0},
		{"sshd imports shell", listed{ImportPath: "esash/sshd", Imports: []string{"esash/shell"}, Deps: []string{"esash/shell"}}, 1},
		{"sshd links readline through another package", listed{ImportPath: "esash/sshd",
			Imports: []string{"example.com/term"}, Deps: []string{"example.com/term", "github.com/chzyer/readline"}}, 1},
		{"sshd links go-prompt's internals", listed{ImportPath: "esash/sshd",
			Deps: []string{"github.com/c-bata/go-prompt/internal/term"}}, 1},
		{"sshd uses accounts", listed{ImportPath: "esash/sshd", Imports: []string{"esash/accounts"},
			Deps: []string{"esash/accounts", "esash/config", "golang.org/x/crypto/bcrypt"}}, 0},
		{"web imports shell", listed{ImportPath: "esash/web", Deps: []string{"esash/shell"}}, 1},
		{"web links readline", listed{ImportPath: "esash/web", Deps: []string{"github.com/chzyer/readline"}}, 1},
		{"accounts imports config", listed{ImportPath: "esash/accounts", Imports: []string{"esash/config"},
			Deps: []string{"esash/config", "golang.org/x/crypto/ssh"}}, 0},
		{"accounts imports store", listed{ImportPath: "esash/accounts", Deps: []string{"esash/config", "esash/store"}}, 1},
		{"accounts imports shell", listed{ImportPath: "esash/accounts", Deps: []string{"esash/shell"}}, 1},
		{"store imports accounts", listed{ImportPath: "esash/store", Deps: []string{"esash/accounts"}}, 1},
		{"store imports etcd", listed{ImportPath: "esash/store", Imports: []string{"go.etcd.io/etcd/client/v3"},
			Deps: []string{"go.etcd.io/etcd/client/v3"}}, 1},
		{"the cluster backend imports etcd", listed{ImportPath: "esash/store/etcdstore", Imports: []string{"go.etcd.io/etcd/client/v3"},
			Deps: []string{"go.etcd.io/etcd/client/v3"}}, 0},
		{"cmd imports etcd", listed{ImportPath: "esash/cmd/esash", Imports: []string{"go.etcd.io/etcd/server/v3/embed"},
			Deps: []string{"go.etcd.io/etcd/server/v3/embed"}}, 0},
		{"mta links bbolt", listed{ImportPath: "esash/mta", Deps: []string{"go.etcd.io/bbolt"}}, 1},
		{"config links etcd", listed{ImportPath: "esash/config", Deps: []string{"go.etcd.io/etcd/api/v3"}}, 1},
		{"shell's sub-package imports a command", listed{ImportPath: "esash/shell/backup", Deps: []string{"esash/commands/saveconfig"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(tc.p); len(got) != tc.want {
				t.Errorf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
