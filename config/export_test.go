package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testIterations keeps the key derivation fast in tests; files written
// with it are still valid files.
const testIterations = MinIterations

var exportTime = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// withSecrets is a factory configuration with one secret of each kind: a
// second certificate's key, an LDAP bind passphrase, a user's hash.
func withSecrets(t testing.TB) *Config {
	t.Helper()
	c := factory(t)
	c.Certificates = append(c.Certificates, validCert(t, "mx2026"))
	c.LDAP.Servers = []LDAPServer{{Name: "corp", Host: "ldap.example.com", Port: 636, SSL: true,
		AuthMethod: LDAPAuthPassword, BindDN: "cn=esa,dc=example,dc=com", BindPassword: "s3cret-bind",
		ServerType: LDAPOpenLDAP, BaseDN: "dc=example,dc=com"}}
	c.LDAP.Certificate = "mx2026"
	c.WebSecurity = WebSecurity{URLFiltering: true, AllowList: "corp_allow", ClientCertificate: "mx2026", InteractionTrack: true}
	c.Users = append(c.Users, User{Name: "ops", FullName: "Ops", Role: RoleOperator, PasswordHash: "$6$salt$hashhash"})
	c.Listeners[0].DefaultPolicy.BannerText = "line one\nline two\twith tab & <angle>"
	return c
}

func secretsOf(c *Config) []string {
	var out []string
	for _, ct := range c.Certificates {
		out = append(out, ct.KeyPEM)
	}
	for _, s := range c.LDAP.Servers {
		out = append(out, s.BindPassword)
	}
	for _, u := range c.Users {
		if u.PasswordHash != "" {
			out = append(out, u.PasswordHash)
		}
	}
	return out
}

func export(t testing.TB, c *Config, mode SecretMode, pass string) []byte {
	t.Helper()
	out, err := Export(c, ExportOptions{Secrets: mode, Passphrase: pass, Time: exportTime, Iterations: testIterations})
	if err != nil {
		t.Fatalf("Export(%s): %v", mode, err)
	}
	return out
}

func load(t testing.TB, data []byte, pass string, current *Config) (*Loaded, error) {
	t.Helper()
	im, err := ParseExport(data)
	if err != nil {
		return nil, err
	}
	return im.Load(pass, current)
}

func TestExportPlainRoundTrip(t *testing.T) {
	filled := &Config{}
	fill(t, reflect.ValueOf(filled).Elem(), "c")
	odd := withSecrets(t)
	odd.Hostname = "bad\x00\x01name\xff" // not XML text: written in base64
	odd.Listeners[0].DefaultPolicy.BannerText = "  leading and trailing spaces  \r\n"
	for name, c := range map[string]*Config{
		"factory":         factory(t),
		"with secrets":    withSecrets(t),
		"every field set": filled,
		"empty":           {},
		"odd text":        odd,
		"2000 entries":    withEntries(factory(t), 2000), // 10,000: BenchmarkExportLoad10000
	} {
		t.Run(name, func(t *testing.T) {
			data := export(t, c, PlainSecrets, "")
			got, err := load(t, data, "", nil)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			assertSame(t, "plain round trip", got.Config, c)
			if d := Diff(c, got.Config); len(d) != 0 {
				t.Errorf("Diff after round trip = %v", paths(d))
			}
			// Exporting what was loaded gives the same file.
			if again := export(t, got.Config, PlainSecrets, ""); string(again) != string(data) {
				t.Error("the file is not stable across a round trip")
			}
		})
	}
}

func TestExportShape(t *testing.T) {
	data := string(export(t, withSecrets(t), MaskSecrets, ""))
	for _, want := range []string{
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!--\n  Product: esash Email Security Appliance\n  Model Number: ESASH\n",
		"  Serial Number: E5A5H0000001\n  Current Time: Thu Nov 26 21:00:00 2026\n  Passphrases: masked\n-->\n",
		"<config version=\"1\" passphrases=\"masked\">\n  <hostname>esa.example.com</hostname>\n  <interfaces>\n    <interface>\n      <name>Management</name>\n",
		"      <ldap_server>\n        <name>corp</name>\n",
		"        <bind_password masked=\"yes\">*****</bind_password>\n",
		"      <private_key masked=\"yes\">*****</private_key>\n",
		"<smtp_banner_text>line one&#xA;line two&#x9;with tab &amp; &lt;angle&gt;</smtp_banner_text>",
		"<policies>\n        <mail_flow_policy>\n",
		"<hosts>\n            <value>ALL</value>\n          </hosts>",
		"</config>\n",
	} {
		if !strings.Contains(data, want) {
			t.Errorf("file lacks %q", want)
		}
	}
	// Every value is on one line: no line is only a value's continuation.
	for i, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if l == "." || strings.HasPrefix(l, "-----") || strings.TrimSpace(l) == "" {
			t.Errorf("line %d %q continues a value", i+1, l)
		}
	}
	if ExportFileName(exportTime) != "ESASH-E5A5H0000001-20261126T210000.xml" {
		t.Errorf("ExportFileName = %q", ExportFileName(exportTime))
	}
}

func TestExportMasked(t *testing.T) {
	c := withSecrets(t)
	data := export(t, c, MaskSecrets, "")
	for _, s := range secretsOf(c) {
		if strings.Contains(string(data), s) || strings.Contains(string(data), "PRIVATE KEY") {
			t.Fatalf("masked file holds a secret (%.20q...)", s)
		}
	}
	wantPaths := []string{"certificates[Demo].private_key", "certificates[mx2026].private_key", "ldap.servers[corp].bind_password", "users[ops].password_hash"}

	t.Run("current values are kept", func(t *testing.T) {
		got, err := load(t, data, "", c)
		if err != nil {
			t.Fatal(err)
		}
		assertSame(t, "masked load over the same configuration", got.Config, c)
		if !slices.Equal(got.Kept, wantPaths) {
			t.Errorf("Kept = %q, want %q", got.Kept, wantPaths)
		}
	})
	t.Run("missing secrets are listed", func(t *testing.T) {
		fresh := factory(t)
		_, err := load(t, data, "", fresh)
		var me *MissingSecretsError
		if !errors.As(err, &me) {
			t.Fatalf("err = %v, want *MissingSecretsError", err)
		}
		// The fresh appliance has a Demo key, but for another certificate.
		want := []string{"certificates[Demo].private_key", "certificates[mx2026].private_key", "ldap.servers[corp].bind_password", "users[ops].password_hash"}
		if !slices.Equal(me.Paths, want) {
			t.Errorf("missing = %q, want %q", me.Paths, want)
		}
		if _, err := load(t, data, "", nil); !errors.As(err, &me) || len(me.Paths) != 4 {
			t.Errorf("with no current configuration: err = %v, want all 4 secrets missing", err)
		}
	})
	t.Run("a key is kept for its own certificate only", func(t *testing.T) {
		cur := c.Clone()
		cur.Certificates[1] = validCert(t, "mx2026") // renewed since the save
		_, err := load(t, data, "", cur)
		var me *MissingSecretsError
		if !errors.As(err, &me) || !slices.Equal(me.Paths, []string{"certificates[mx2026].private_key"}) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("an empty current value is missing", func(t *testing.T) {
		cur := c.Clone()
		cur.LDAP.Servers[0].BindPassword = ""
		_, err := load(t, data, "", cur)
		var me *MissingSecretsError
		if !errors.As(err, &me) || !slices.Equal(me.Paths, []string{"ldap.servers[corp].bind_password"}) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("an untagged private key is masked too", func(t *testing.T) {
		c := factory(t)
		c.CAs.Custom = []CA{{Name: "oops", PEM: c.Certificates[0].CertPEM + c.Certificates[0].KeyPEM}}
		data := export(t, c, MaskSecrets, "")
		if strings.Contains(string(data), "PRIVATE KEY") {
			t.Error("a private key pasted into a CA leaked into a masked file")
		}
		got, err := load(t, data, "", c)
		if err != nil {
			t.Fatal(err)
		}
		assertSame(t, "untagged secret kept", got.Config, c)
	})
}

func TestExportEncrypted(t *testing.T) {
	c := withSecrets(t)
	data := export(t, c, EncryptSecrets, "correct horse")
	for _, s := range secretsOf(c) {
		if strings.Contains(string(data), s) || strings.Contains(string(data), "PRIVATE KEY") {
			t.Fatalf("encrypted file holds a secret in clear (%.20q...)", s)
		}
	}
	if !strings.Contains(string(data), `<bind_password encrypted="yes">`) {
		t.Error("no encrypted bind_password element")
	}
	im, err := ParseExport(data)
	if err != nil {
		t.Fatal(err)
	}
	if !im.NeedsPassphrase() {
		t.Fatal("NeedsPassphrase = false")
	}
	got, err := im.Load("correct horse", nil)
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "encrypted round trip", got.Config, c)

	if _, err := im.Load("wrong horse", c); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: err = %v", err)
	}
	if _, err := im.Load("", c); !errors.Is(err, ErrNoPassphrase) {
		t.Errorf("no passphrase: err = %v", err)
	}
	// Two exports of one configuration differ (fresh salt and nonces).
	if string(export(t, c, EncryptSecrets, "correct horse")) == string(data) {
		t.Error("two encrypted exports are identical")
	}
	if _, err := Export(c, ExportOptions{Secrets: EncryptSecrets, Passphrase: "short"}); err == nil {
		t.Error("a short passphrase was accepted")
	}

	t.Run("a value moved to another setting is refused", func(t *testing.T) {
		s := string(data)
		hash := between(s, `<password_hash encrypted="yes">`, "</password_hash>")
		bind := between(s, `<bind_password encrypted="yes">`, "</bind_password>")
		s = strings.Replace(s, bind, hash, 1)
		_, err := load(t, []byte(s), "correct horse", nil)
		var fe *ConfigFileError
		if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "ldap.servers[corp].bind_password") {
			t.Errorf("err = %v, want a *ConfigFileError naming the bind password", err)
		}
	})
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestParseExportErrors(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	for _, tc := range []struct {
		name, doc string
		line      int
		msg       string
	}{
		{"not xml", "hello", 1, "text outside the root element"},
		{"wrong root", head + "<configuration version=\"1\" passphrases=\"plain\"/>", 2, "root element must be <config>"},
		{"no version", head + "<config passphrases=\"plain\"/>", 2, "no version attribute"},
		{"future version", head + "<config version=\"2\" passphrases=\"plain\"/>", 2, "unsupported file version"},
		{"bad mode", head + "<config version=\"1\" passphrases=\"rot13\"/>", 2, "must be masked, encrypted or plain"},
		{"encrypted without kdf", head + "<config version=\"1\" passphrases=\"encrypted\"/>", 2, "needs the kdf"},
		{"huge iterations", head + "<config version=\"1\" passphrases=\"encrypted\" kdf=\"pbkdf2-sha256\" iterations=\"999999999\" salt=\"AAAAAAAAAAAAAAAAAAAAAA==\" check=\"x\"/>", 2, "iterations must be"},
		{"unclosed", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname>a.example.com\n</config>", 4, "element <hostname> closed by </config>"},
		{"end of file", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname>a</hostname>\n", 4, "<config> is not closed"},
		{"stray end", head + "<config version=\"1\" passphrases=\"plain\">\n</hostname></config>", 3, "element <config> closed by </hostname>"},
		{"namespace", head + "<x:config version=\"1\" passphrases=\"plain\"/>", 2, "unexpected namespace"},
		{"unknown setting", head + "<config version=\"1\" passphrases=\"plain\">\n  <hostname>a.example.com</hostname>\n  <frobs/>\n</config>", 4, "unknown setting <frobs> in <config>"},
		{"twice", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname>a</hostname>\n<hostname>b</hostname>\n</config>", 4, "<hostname> appears twice"},
		{"bad number", head + "<config version=\"1\" passphrases=\"plain\">\n<delivery>\n<max_concurrency>lots</max_concurrency>\n</delivery>\n</config>", 4, "must be an integer"},
		{"bad bool", head + "<config version=\"1\" passphrases=\"plain\">\n<delivery><possible_delivery>maybe</possible_delivery></delivery></config>", 3, "must be true or false"},
		{"wrong item", head + "<config version=\"1\" passphrases=\"plain\">\n<interfaces>\n<listener/>\n</interfaces></config>", 4, "its items are <interface>"},
		{"item without key", head + "<config version=\"1\" passphrases=\"plain\">\n<interfaces>\n<interface><ipv4>1.2.3.4</ipv4></interface>\n</interfaces></config>", 4, "<interface> has no <name>"},
		{"duplicate key", head + "<config version=\"1\" passphrases=\"plain\">\n<interfaces>\n<interface><name>a</name></interface>\n<interface><name>a</name></interface>\n</interfaces></config>", 5, "interfaces[a] appears twice"},
		{"text in section", head + "<config version=\"1\" passphrases=\"plain\">\n<ldap>oops</ldap></config>", 3, "unexpected text"},
		{"value with children", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname><b/></hostname></config>", 3, "is a value"},
		{"encrypted in plain file", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname encrypted=\"yes\">AAAA</hostname></config>", 3, "encrypted but the file is not"},
		{"unknown attribute", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname lang=\"en\">a</hostname></config>", 3, "unknown attribute \"lang\""},
		{"bad base64", head + "<config version=\"1\" passphrases=\"plain\">\n<hostname encoding=\"base64\">!!</hostname></config>", 3, "not base64"},
		{"masked name", head + "<config version=\"1\" passphrases=\"masked\">\n<users><user><name masked=\"yes\">*****</name></user></users></config>", 3, "cannot be masked"},
		{"two roots", head + "<config version=\"1\" passphrases=\"plain\"/>\n<config/>", 3, "more than one root"},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><config version="1" passphrases="plain"/>`, 1, "unsupported encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, []byte(tc.doc), "", nil)
			var fe *ConfigFileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ConfigFileError", err)
			}
			if fe.Line != tc.line || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("err = %v, want line %d and %q", err, tc.line, tc.msg)
			}
		})
	}
	for _, empty := range []string{"", "  \n\t\n", head} {
		if _, err := ParseExport([]byte(empty)); !errors.Is(err, ErrEmptyFile) {
			t.Errorf("ParseExport(%q) = %v, want ErrEmptyFile", empty, err)
		}
	}
}

func TestSnakeName(t *testing.T) {
	for in, want := range map[string]string{
		"LDAPServer": "ldap_server", "MailFlowPolicy": "mail_flow_policy", "CA": "ca",
		"DestControl": "dest_control", "User": "user", "RouteHost": "route_host", "IPv6Thing": "i_pv6_thing",
	} {
		if got := snakeName(in); got != want {
			t.Errorf("snakeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateLDAPAndWebSecurity(t *testing.T) {
	c := withSecrets(t)
	if ps := Validate(c, testNow).Errors(); len(ps) != 0 {
		t.Fatalf("valid configuration refused: %v", ps)
	}
	c.LDAP.Servers = append(c.LDAP.Servers,
		LDAPServer{Name: "bad", Host: "ldap..example.com", Port: 70000, AuthMethod: "kerberos", ServerType: "novell"},
		LDAPServer{Name: "nopass", Host: "10.0.0.1", Port: 389, AuthMethod: LDAPAuthPassword, ServerType: LDAPActiveDirectory},
	)
	c.LDAP.ValidateCert = true
	c.CAs.SystemEnabled, c.CAs.CustomEnabled = false, false
	c.Certificates = append(c.Certificates, Certificate{Name: "pending", CertPEM: c.Certificates[0].CertPEM})
	c.WebSecurity.ClientCertificate = "pending"
	c.WebSecurity.AllowList = "1bad"
	c.LDAP.Certificate = "gone"
	var got []string
	for _, p := range Validate(c, testNow).Errors() {
		got = append(got, p.Path)
	}
	for _, want := range []string{
		"ldap.servers[bad].host", "ldap.servers[bad].port", "ldap.servers[bad].auth_method", "ldap.servers[bad].server_type",
		"ldap.servers[nopass].bind_dn", "ldap.servers[nopass].bind_password",
		"ldap.validate_certificate", "ldap.certificate", "websecurity.client_certificate", "websecurity.allow_list",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no problem reported at %s; got %q", want, got)
		}
	}
	for h, ok := range map[string]bool{"ldap": true, "ldap.example.com": true, "10.1.2.3": true, "::1": true,
		"": false, "0.0.0.0": false, "1.2.3": false, "ldap_x.example.com": false, "-ldap.example.com": false, "a..b": false} {
		if got := CheckLDAPHost(h) == ""; got != ok {
			t.Errorf("CheckLDAPHost(%q) accepts = %v, want %v", h, got, ok)
		}
	}
}

// FuzzParseExport feeds arbitrary files to the loader: it must never panic,
// and whatever it accepts must survive another export and load unchanged.
func FuzzParseExport(f *testing.F) {
	current := &Config{
		Hostname:     "esa.example.com",
		Certificates: []Certificate{{Name: "Demo", CertPEM: "cert", KeyPEM: "key"}},
		LDAP:         LDAP{Servers: []LDAPServer{{Name: "corp", BindPassword: "bind"}}},
	}
	seed := &Config{Hostname: "esa.example.com", Certificates: []Certificate{{Name: "Demo", CertPEM: "cert", KeyPEM: "key"}},
		LDAP:  LDAP{Interface: "Auto", Servers: []LDAPServer{{Name: "corp", Host: "ldap.example.com", Port: 389, BindPassword: "bind"}}},
		Users: []User{{Name: "admin", Role: RoleAdmin}}}
	for _, m := range []SecretMode{MaskSecrets, PlainSecrets} {
		data, err := Export(seed, ExportOptions{Secrets: m})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ParseExport(data)
		if err != nil {
			return
		}
		if im.NeedsPassphrase() {
			// Only the header is fuzzed here: a passphrase would make
			// every run pay for the key derivation.
			if _, err := im.Load("", current); !errors.Is(err, ErrNoPassphrase) {
				t.Fatalf("encrypted file loaded without a passphrase: %v", err)
			}
			return
		}
		got, err := im.Load("", current)
		if err != nil {
			return
		}
		again, err := Export(got.Config, ExportOptions{Secrets: PlainSecrets})
		if err != nil {
			t.Fatalf("export of a loaded configuration: %v", err)
		}
		im2, err := ParseExport(again)
		if err != nil {
			t.Fatalf("reading back: %v\n%s", err, again)
		}
		got2, err := im2.Load("", nil)
		if err != nil {
			t.Fatalf("loading back: %v", err)
		}
		if !reflect.DeepEqual(normalize(got.Config), normalize(got2.Config)) {
			t.Fatalf("round trip changed the configuration: %v", paths(Diff(got.Config, got2.Config)))
		}
	})
}

// normalize makes empty lists nil, the equality Diff uses.
func normalize(c *Config) *Config {
	c = c.Clone()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice:
			if v.Len() == 0 {
				v.Set(reflect.Zero(v.Type()))
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(c).Elem())
	return c
}

// BenchmarkExportLoad10000 is saveconfig and loadconfig of a configuration
// with ten thousand destination entries.
func BenchmarkExportLoad10000(b *testing.B) {
	c := withEntries(Factory(validCert(b, "Demo")), 10000)
	data := export(b, c, PlainSecrets, "")
	b.Run("export", func(b *testing.B) {
		for b.Loop() {
			export(b, c, MaskSecrets, "")
		}
		b.SetBytes(int64(len(data)))
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := load(b, data, "", c); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(data)))
	})
}
