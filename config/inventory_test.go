package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// typePatterns lists every setting of t as an inventory pattern, the way
// path.go names settings, with [*] for the keys of keyed lists.
func typePatterns(prefix string, t reflect.Type) []string {
	var out []string
	for _, f := range fieldsOf(t) {
		ft := t.Field(f.index).Type
		p := join(prefix, f.name)
		switch {
		case f.keyed:
			out = append(out, typePatterns(p+"[*]", ft.Elem())...)
		case ft.Kind() == reflect.Struct:
			out = append(out, typePatterns(p, ft)...)
		default:
			out = append(out, p)
		}
	}
	return out
}

// valuePaths lists the concrete path of every setting a configuration
// holds: listeners[IncomingMail].sender_groups[ALL].policy.
func valuePaths(prefix string, v reflect.Value) []string {
	var out []string
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		p := join(prefix, f.name)
		switch {
		case f.keyed:
			for i := 0; i < fv.Len(); i++ {
				out = append(out, valuePaths(itemPath(p, keyOf(fv, i, f.keyIdx)), fv.Index(i))...)
			}
		case fv.Kind() == reflect.Struct:
			out = append(out, valuePaths(p, fv)...)
		default:
			out = append(out, p)
		}
	}
	return out
}

// TestInventoryCoversConfig: every setting of Config has a class, and the
// inventory names no setting Config does not have.
func TestInventoryCoversConfig(t *testing.T) {
	all := typePatterns("", reflect.TypeFor[Config]())
	var missing, unknown []string
	for _, p := range all {
		if _, ok := Inventory[p]; !ok {
			missing = append(missing, p)
		}
	}
	for _, p := range SettingPaths() {
		if !slices.Contains(all, p) {
			unknown = append(unknown, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d settings have no class in the inventory:\n\t%s\n"+
			"Add each to config/inventory.go (the section of buildInventory for its part of Config) as enforced "+
			"(code and test), stored for script compatibility (engines esash does not have only) or refused at commit "+
			"(then also to refusals in config/validate_inventory.go), then regenerate docs/settings.md: "+
			"ESASH_UPDATE=1 go test ./config -run TestSettingsDoc",
			len(missing), strings.Join(missing, "\n\t"))
	}
	if len(unknown) > 0 {
		t.Errorf("the inventory (config/inventory.go) classifies settings Config does not have:\n\t%s",
			strings.Join(unknown, "\n\t"))
	}
}

// TestInventoryConcretePaths: the paths Validate and Diff print find their
// row, for every setting of a configuration that fills every list.
func TestInventoryConcretePaths(t *testing.T) {
	c := &Config{}
	fill(t, reflect.ValueOf(c).Elem(), "c")
	renameKeys(reflect.ValueOf(c).Elem())
	paths := valuePaths("", reflect.ValueOf(c).Elem())
	if len(paths) < len(Inventory) {
		t.Fatalf("only %d paths for %d rows: the fill misses lists", len(paths), len(Inventory))
	}
	for _, p := range paths {
		if _, ok := Setting(p); !ok {
			t.Errorf("%s (pattern %s): no row", p, SettingPattern(p))
		}
	}
	f := Factory(Certificate{})
	next := f.Clone()
	next.Listeners[0].SenderGroups[4].Policy = "BLOCKED"
	next.Listeners[0].DefaultPolicy.SpamCheck = "off"
	for _, ch := range Diff(f, next) {
		if _, ok := Setting(ch.Path); !ok {
			t.Errorf("diff path %s: no row", ch.Path)
		}
	}
	if got := SettingPattern("listeners[IncomingMail].sender_groups[ALL].policy"); got != "listeners[*].sender_groups[*].policy" {
		t.Errorf("SettingPattern = %q", got)
	}
}

// renameKeys gives the items of every keyed list distinct plain keys (fill
// writes Go paths, brackets included, into them).
func renameKeys(v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch {
		case f.keyed:
			for i := 0; i < fv.Len(); i++ {
				fv.Index(i).Field(f.keyIdx).SetString(fmt.Sprintf("k%d", i))
				renameKeys(fv.Index(i))
			}
		case fv.Kind() == reflect.Struct:
			renameKeys(fv)
		}
	}
}

// noCompat are words of settings that may never be stored for script
// compatibility only: TLS, certificates, relaying, authentication,
// interfaces, DNS.
var noCompat = []string{"tls", "certificate", "interface", "resolver", "dane", "auth", "rcpt_access", "relay",
	"ssl", "ipv4", "ipv6", "prefixlen", "hostname", "smtp_helo", "password", "ssh", "http", ".port", "ethernet",
	"cert", "custom", "smtproutes", "default_domain"}

// TestInventoryRows: every row is complete, names a test that exists,
// stores nothing of TLS, certificates, relaying, authentication,
// interfaces or DNS for compatibility, and every refused setting has its
// commit check.
func TestInventoryRows(t *testing.T) {
	for _, p := range SettingPaths() {
		s := Inventory[p]
		switch s.Class {
		case Enforced:
			if s.EnforcedBy == "" {
				t.Errorf("%s: enforced by what?", p)
			}
			if s.ProvenBy == "" && !strings.HasPrefix(s.EnforcedBy, Pending) {
				t.Errorf("%s: enforced, but no test is named", p)
			}
		case StoredForCompat:
			for _, w := range noCompat {
				if strings.Contains(p, w) {
					t.Errorf("%s: %q settings may not be stored for compatibility only", p, w)
				}
			}
		case RefusedAtCommit:
			if refusals[p] == nil {
				t.Errorf("%s: refused at commit, but config/validate_inventory.go has no check", p)
			}
		default:
			t.Errorf("%s: unknown class %q", p, s.Class)
		}
		if s.ProvenBy != "" && !testExists(t, s.ProvenBy) {
			t.Errorf("%s: the test %s does not exist", p, s.ProvenBy)
		}
	}
	for p := range refusals {
		if Inventory[p].Class != RefusedAtCommit {
			t.Errorf("%s: checked in validate_inventory.go, but its class is %q", p, Inventory[p].Class)
		}
	}
}

var testFuncs = map[string]string{} // package dir -> its test sources

// testExists reports whether "pkg/path.TestName" names a test function of
// this module.
func testExists(t *testing.T, name string) bool {
	pkg, fn, ok := strings.Cut(name, ".")
	if !ok {
		return false
	}
	fn, script, sub := strings.Cut(fn, "/")
	if sub { // a transcript of TestScripts
		if _, err := os.Stat(filepath.Join("..", pkg, "testdata", "script", script+".txtar")); err != nil {
			return false
		}
	}
	src, seen := testFuncs[pkg]
	if !seen {
		files, _ := filepath.Glob(filepath.Join("..", pkg, "*_test.go"))
		var b strings.Builder
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		src = b.String()
		testFuncs[pkg] = src
	}
	return regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(fn) + `\(t \*testing\.T\)`).MatchString(src)
}

// TestValidateInventoryRefuses: a value other than the default of every
// refused setting is refused with its path and "not supported on this
// appliance"; the defaults of the factory configuration pass.
func TestValidateInventoryRefuses(t *testing.T) {
	base := factory(t)
	if ps := Validate(base, testNow); len(ps.Errors()) > 0 {
		t.Fatalf("the valid configuration is refused: %v", ps)
	}
	for _, p := range SettingPaths() {
		if Inventory[p].Class != RefusedAtCommit {
			continue
		}
		t.Run(p, func(t *testing.T) {
			cfg := base.Clone()
			concrete := setOdd(t, cfg, p)
			ps := Validate(cfg, testNow)
			var found bool
			for _, e := range ps.Errors() {
				if e.Path == concrete && strings.Contains(e.Msg, "is not supported on this appliance") {
					found = true
				}
			}
			if !found {
				t.Errorf("a non-default %s is not refused: %v", concrete, ps)
			}
		})
	}
}

// oddValues are non-default values the other checks accept, by the last
// element of the setting's name; others get "odd", 7 or true.
var oddValues = map[string]any{
	"from": "alerts@example.com", "interface": "Management", "max_wait": 7200, "initial_wait": 60,
	"bounce_validation": "on", "ip_sort_pref": "PREFER_V4", "limit_apply": "VG", "limit_type": "MXIP",
	"euq_base_url": "https://q.example.com:83/", "add_message_id": "on", "received_hostname": "vgateway",
	"reject_at_rcpt": "on", "use_sender_rate_limit": "on", "host_grouping": "on", "smtp_auth": "preferred",
	"smtp_auth_requires_tls": "on", "enforce_sender_verify": "on", "domain_exception_table": "on",
	"accept_untagged_bounces": "on", "max_rcpts_per_hour_code": 450, "malformed_sender_code": 550,
	"unresolved_sender_code": 450, "nonexistent_sender_code": 550, "default_domain": "example.com",
	"bounce_profile": "Slow", "recipient_minutes": 30, "recipient_limit": 100, "max_subject_size": 512,
	"tcp_queue": 200, "use_trusted_relay_header": "on",
}

// TestValidateInventoryOldValues: a refused value that the committed
// configuration already holds is a warning, so that it does not block
// unrelated commits; a new or changed one is an error. Destination entries
// unchanged since the commit are not checked again, as in validate.go.
func TestValidateInventoryOldValues(t *testing.T) {
	base := factory(t)
	base.Listeners[0].DefaultPolicy.SMTPAuth = "preferred"
	base.Destinations.Entries = []DestControl{{Domain: "old.example.com", BounceVerify: "on"}}
	next := base.Clone()
	next.Hostname = "other.example.com"
	ps := ValidateChange(base, next, testNow)
	if len(ps.Errors()) != 0 || len(ps.Warnings()) != 1 || ps.Warnings()[0].Path != "listeners[IncomingMail].default_policy.smtp_auth" {
		t.Errorf("unchanged old value: %v", ps)
	}
	next.Listeners[0].DefaultPolicy.SMTPAuth = "required"
	next.Destinations.Entries[0].BounceProfile = "Slow"
	var got []string
	for _, p := range ValidateChange(base, next, testNow).Errors() {
		got = append(got, p.Path)
	}
	// bounce_validation kept its old value: still a warning.
	want := []string{"destinations.entries[old.example.com].bounce_profile", "listeners[IncomingMail].default_policy.smtp_auth"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("changed values: errors at %q, want %q", got, want)
	}
}

// setOdd writes a value no default has into the setting pattern names in
// cfg (the first item of each list), and returns the setting's path.
func setOdd(t *testing.T, cfg *Config, pattern string) string {
	t.Helper()
	if strings.HasPrefix(pattern, "listeners[*].policies[*].") {
		pattern = strings.Replace(pattern, "policies[*]", "policies[ACCEPTED]", 1)
	}
	if strings.HasPrefix(pattern, "destinations.entries[*].") {
		cfg.Destinations.Entries = append(cfg.Destinations.Entries, DestControl{Domain: "odd.example.com"})
		pattern = strings.Replace(pattern, "entries[*]", "entries[odd.example.com]", 1)
	}
	if strings.HasPrefix(pattern, "smtproutes[*].") {
		cfg.Routes = append(cfg.Routes, Route{Domain: "odd.example.com", Hosts: []RouteHost{{Host: "mx.example.com"}}})
		pattern = strings.Replace(pattern, "smtproutes[*]", "smtproutes[odd.example.com]", 1)
	}
	path := strings.Replace(pattern, "listeners[*]", "listeners["+cfg.Listeners[0].Name+"]", 1)
	path = strings.Replace(path, "interfaces[*]", "interfaces["+cfg.Interfaces[0].Name+"]", 1)
	tg, err := resolve(reflect.ValueOf(cfg), path)
	if err != nil || !tg.v.IsValid() {
		t.Fatalf("%s: %v", path, err)
	}
	v := tg.v
	last := pattern[strings.LastIndex(pattern, ".")+1:]
	if odd, ok := oddValues[last]; ok {
		v.Set(reflect.ValueOf(odd).Convert(v.Type()))
	} else {
		switch v.Kind() {
		case reflect.String:
			v.SetString("odd")
		case reflect.Int, reflect.Int64:
			v.SetInt(7)
		case reflect.Bool:
			v.SetBool(true)
		default:
			t.Fatalf("%s: kind %s", path, v.Kind())
		}
	}
	if strings.HasSuffix(path, ".recipient_minutes") { // minutes count with a limit
		parent, _ := resolve(reflect.ValueOf(cfg), strings.TrimSuffix(path, "minutes")+"limit")
		parent.v.SetInt(100)
	}
	if strings.HasSuffix(path, ".port") { // a port counts with its service enabled
		parent, _ := resolve(reflect.ValueOf(cfg), strings.TrimSuffix(path, ".port")+".enabled")
		parent.v.SetBool(true)
	}
	return path
}

// TestMarkInactive: the one wording of every printout.
func TestMarkInactive(t *testing.T) {
	for _, tc := range []struct{ path, value, want string }{
		{"listeners[IncomingMail].default_policy.spam_check", "on", "on (not active on this appliance)"},
		{"listeners[IncomingMail].policies[TRUSTED].params.spam_check", "off", "off (not active on this appliance)"},
		{"listeners[IncomingMail].default_policy.tls", "required", "required"},
		{"no.such.setting", "x", "x"},
	} {
		if got := MarkInactive(tc.path, tc.value); got != tc.want {
			t.Errorf("MarkInactive(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if !HATParamInactive("spam_check") || HATParamInactive("max_msgs_per_session") || HATParamInactive("nope") {
		t.Error("HATParamInactive")
	}
}

// TestSettingsDoc: docs/settings.md is the inventory as a table.
// ESASH_UPDATE=1 rewrites it.
func TestSettingsDoc(t *testing.T) {
	const file = "../docs/settings.md"
	want := settingsDoc()
	if os.Getenv("ESASH_UPDATE") != "" {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not the inventory of config/inventory.go; regenerate it: ESASH_UPDATE=1 go test ./config -run TestSettingsDoc", file)
	}
}

func settingsDoc() string {
	var b strings.Builder
	b.WriteString(`# Settings inventory

Generated from ` + "`config/inventory.go`" + ` by ` + "`ESASH_UPDATE=1 go test ./config -run TestSettingsDoc`" + `;
do not edit by hand. Every setting the appliance stores has one class:

- **enforced**: the code named does what the setting says; the test named proves it.
  "enforced by <area>" without a test: the enforcement is merged with the work on that area.
- **stored for script compatibility**: only settings of engines esash does not have. They are
  asked and stored so that AsyncOS scripts carry over; ` + "`showconfig`" + `, the menus that print
  them and the status page mark them ` + "`" + InactiveNote + "`" + `.
- **refused at commit**: ` + "`commit`" + ` refuses any value other than the default, with the
  setting's path and "is not supported on this appliance".

No TLS, certificate, relaying, authentication, interface or DNS setting is stored for
compatibility only. A key written ` + "`[*]`" + ` stands for every item of a list
(` + "`listeners[IncomingMail].sender_groups[ALL].policy`" + ` is the row
` + "`listeners[*].sender_groups[*].policy`" + `).

`)
	counts := map[Class]int{}
	for _, s := range Inventory {
		counts[s.Class]++
	}
	fmt.Fprintf(&b, "%d settings: %d enforced, %d stored for script compatibility, %d refused at commit.\n\n",
		len(Inventory), counts[Enforced], counts[StoredForCompat], counts[RefusedAtCommit])
	sections := map[string][]string{}
	var order []string
	for _, p := range SettingPaths() {
		sec, _, _ := strings.Cut(p, ".")
		sec, _, _ = strings.Cut(sec, "[")
		if _, ok := sections[sec]; !ok {
			order = append(order, sec)
		}
		sections[sec] = append(sections[sec], p)
	}
	sort.Strings(order)
	for _, sec := range order {
		fmt.Fprintf(&b, "## %s\n\n| Setting | Class | Enforced by / engine / accepted | Proven by |\n|---|---|---|---|\n", sec)
		for _, p := range sections[sec] {
			s := Inventory[p]
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p, s.Class, mdCell(s.EnforcedBy), mdCell(s.ProvenBy))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func mdCell(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// TestInactiveValues: the factory configuration's values of settings
// stored for compatibility, by concrete path; nothing else.
func TestInactiveValues(t *testing.T) {
	got := map[string]string{}
	for _, iv := range InactiveValues(factory(t)) {
		got[iv.Path] = iv.Value
		if !Inactive(iv.Path) {
			t.Errorf("%s is not stored for compatibility", iv.Path)
		}
	}
	for path, want := range map[string]string{
		"listeners[IncomingMail].default_policy.spam_check":           "on",
		"listeners[IncomingMail].default_policy.dhap_limit":           "25",
		"listeners[IncomingMail].policies[TRUSTED].params.spam_check": "off",
		"listeners[IncomingMail].senderbase_filtering":                "on",
		"alerts.autosupport": "true",
	} {
		if got[path] != want {
			t.Errorf("%s = %q, want %q", path, got[path], want)
		}
	}
	if _, ok := got["listeners[IncomingMail].default_policy.tls"]; ok {
		t.Error("an enforced setting is listed")
	}
}

// TestShowconfigRATImpliedEnd: showconfig (MarkInactive) says what an
// empty or short recipient access table does with other recipients, as
// RCPTACCESS PRINT and the MTA do; saveconfig files say nothing extra.
func TestShowconfigRATImpliedEnd(t *testing.T) {
	c := Factory(Certificate{})
	const note = "<!-- then ALL REJECT: every other recipient is refused -->"
	for _, tc := range []struct {
		name   string
		accept []string
		mark   bool
		want   string
	}{
		{"factory table printed", nil, true, "<rcpt_access/> " + note},
		{"entries printed", []string{"example.com"}, true, "</rcpt_access> " + note},
		{"saved file", nil, false, "<rcpt_access/>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := c.Clone()
			cfg.Listeners[0].AcceptDomains = tc.accept
			out, err := Export(cfg, ExportOptions{Secrets: MaskSecrets, MarkInactive: tc.mark})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("export lacks %q", tc.want)
			}
			if !tc.mark && strings.Contains(string(out), note) {
				t.Error("saved file carries the printout's note")
			}
		})
	}
}
