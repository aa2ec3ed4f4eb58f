// Package ldapconfig is the ldapconfig command: LDAP server profiles (host,
// port, SSL, authentication with a bind DN and passphrase, server type,
// base) and the global settings of SETUP: the interface LDAP traffic leaves
// from, whether failed group queries count as negative results, whether
// server certificates are validated, and the client certificate presented
// over LDAPS.
//
// Menus and questions follow AsyncOS 14.x (IAF ldapconfig, phoebe1411):
//
//	ldapconfig                 NEW, EDIT, DELETE, SETUP
//	  NEW, EDIT <server>       the server's menu: SERVER
//	    SERVER                 NAME, HOSTNAME, PORT, AUTHTYPE, SERVERTYPE, BASE
//
// so a script climbs back to the main prompt with 1 blank line from the top
// menu, 2 from a server's menu (where NEW ends, as on AsyncOS) and 3 from
// SERVER.
//
// Left out, for want of anything in esash that would use them: ADVANCED
// (advanced query chains), the per-server query menus (LDAPACCEPT,
// LDAPROUTING, MASQUERADE, LDAPGROUP, SMTPAUTH, EXTERNALAUTH, ISQAUTH,
// ISQALIAS) and SERVER's CACHE, COMPATIBILITY and CONNECTION. Typing one of
// those keywords is answered as an unknown option.
//
// SETUP's interface is where LDAP connections leave from (probe.go binds
// the source address): a named interface, or Auto, chosen per server as
// delivery does (config.SourceInterface: the interface whose network holds
// the server, else the one the routing table sends from, else Management).
//
// SETUP's certificate question: AsyncOS 14.x sets the LDAPS client
// certificate in the GUI's LDAP global settings; no CLI evidence of the
// question was found (the reference's open question). esash asks it, as
// the last SETUP question, when Command.AskCertificate is set, which New
// does; a build emulating a CLI without it clears the flag.
package ldapconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is ldapconfig.
type Command struct {
	// AskCertificate asks SETUP's "Select the certificate for LDAPS
	// connections" question (the 14.x flag).
	AskCertificate bool
}

// New returns the ldapconfig command in the AsyncOS 14.x dialect.
func New() Command { return Command{AskCertificate: true} }

// Name implements shell.Command.
func (Command) Name() string { return "ldapconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure LDAP servers" }

// errRebuild ends a round of the top menu so that it is shown again with
// the operations that now apply (EDIT and DELETE need a server).
var errRebuild = errors.New("rebuild the menu")

// Run shows the top menu until a blank answer.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "ldapconfig", "the command takes no arguments")
	}
	for {
		none := len(s.Draft.Config().LDAP.Servers) == 0
		again := func(f func(*shell.Session) error) func(*shell.Session) error {
			return func(s *shell.Session) error {
				if err := f(s); err != nil && !errors.Is(err, shell.ErrBack) {
					return err
				}
				return errRebuild
			}
		}
		err := s.Menu(header, []shell.MenuItem{
			{Name: "NEW", Help: "Create a new server configuration.", Run: again(c.newServer)},
			{Name: "EDIT", Help: "Modify a server configuration.", Run: again(c.edit), Hidden: none},
			{Name: "DELETE", Help: "Remove a server configuration.", Run: again(c.delete), Hidden: none},
			{Name: "SETUP", Help: "Configure LDAP options.", Run: again(c.setup)},
		})
		if !errors.Is(err, errRebuild) {
			return err
		}
	}
}

func header(s *shell.Session) {
	servers := s.Draft.Config().LDAP.Servers
	if len(servers) == 0 {
		s.Println("No LDAP server configurations.")
		return
	}
	s.Println("Current LDAP server configurations:")
	for i, sv := range servers {
		s.Printf("%d. %s: (%s:%d)\n", i+1, sv.Name, sv.Host, sv.Port)
	}
}

func names(s *shell.Session) []string {
	servers := s.Draft.Config().LDAP.Servers
	out := make([]string, len(servers))
	for i, sv := range servers {
		out[i] = sv.Name
	}
	return out
}

func find(s *shell.Session, name string) (config.LDAPServer, bool) {
	for _, sv := range s.Draft.Config().LDAP.Servers {
		if sv.Name == name {
			return sv, true
		}
	}
	return config.LDAPServer{}, false
}

// checkName accepts a new name for a server: well formed and not taken by
// another server (self may keep its own).
func checkName(s *shell.Session, self string) func(string) string {
	return func(n string) string {
		if r := config.CheckName(n); r != "" {
			return r
		}
		if n != self {
			if _, taken := find(s, n); taken {
				return fmt.Sprintf("The value must be a new name: a server configuration named %q already exists.", n)
			}
		}
		return ""
	}
}

func required(check func(string) string) func(string) string {
	return func(a string) string {
		if a == "" {
			return "You must enter a value."
		}
		if check != nil {
			return check(a)
		}
		return ""
	}
}

func checkPort(a string) string {
	n, err := strconv.Atoi(a)
	if err != nil {
		return config.CheckLDAPPort(0)
	}
	return config.CheckLDAPPort(n)
}

// checkBase accepts a distinguished name (attribute=value, separated by
// commas) or NONE for the root of the directory.
func checkBase(a string) string {
	if strings.EqualFold(a, "NONE") {
		return ""
	}
	for _, rdn := range strings.Split(a, ",") {
		k, v, ok := strings.Cut(rdn, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return "The value must be a distinguished name such as dc=example,dc=com, or NONE."
		}
	}
	return ""
}

// defaultBase derives a base from the server's domain: ldap.example.com
// gives dc=example,dc=com.
func defaultBase(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) < 3 {
		labels = append([]string{""}, labels...)
	}
	if len(labels) < 3 {
		return ""
	}
	parts := make([]string, 0, len(labels)-1)
	for _, l := range labels[1:] {
		parts = append(parts, "dc="+l)
	}
	return strings.Join(parts, ",")
}

// Server types and authentication methods as the lists show them.
var (
	serverTypes     = []string{config.LDAPActiveDirectory, config.LDAPOpenLDAP, config.LDAPOtherServer}
	serverTypeNames = []string{"Active Directory", "OpenLDAP", "Unknown or Other"}
	authNames       = []string{"Anonymous", "Passphrase based"}
)

func typeName(t string) string {
	for i, st := range serverTypes {
		if st == t {
			return serverTypeNames[i]
		}
	}
	return t
}

// defaultPort is the conventional port: the global catalog for Active
// Directory, as AsyncOS proposes, LDAP's otherwise.
func defaultPort(serverType string, ssl bool) int {
	switch {
	case serverType == config.LDAPActiveDirectory && ssl:
		return 3269
	case serverType == config.LDAPActiveDirectory:
		return 3268
	case ssl:
		return config.LDAPSSLPort
	}
	return config.LDAPPort
}

func summary(s *shell.Session, sv config.LDAPServer) {
	ssl := ""
	if sv.SSL {
		ssl = " (SSL)"
	}
	auth := "anonymous"
	if sv.AuthMethod == config.LDAPAuthPassword {
		auth = "passphrase"
	}
	base := sv.BaseDN
	if base == "" {
		base = "NONE"
	}
	s.Printf("Name: %s\nHostname: %s Port %d%s\nServer Type: %s\nAuthentication Type: %s\nBase: %s\n",
		sv.Name, sv.Host, sv.Port, ssl, config.MarkInactive("ldap.servers[*].server_type", typeName(sv.ServerType)), auth,
		config.MarkInactive("ldap.servers[*].base_dn", base))
}

func (c Command) newServer(s *shell.Session) error {
	name, err := s.Ask(`Please create a name for this server configuration (Ex: "PublicLDAP"):`, "", checkName(s, ""))
	if err != nil {
		return err
	}
	sv := config.LDAPServer{Name: name}
	if sv.Host, err = s.AskOptional("Please enter the hostname or IP address of the LDAP server:", "", config.CheckLDAPHost); err != nil {
		return err
	}
	if sv.SSL, err = s.YesNo("Use SSL to connect to the LDAP server?", false); err != nil {
		return err
	}
	if err := askAuth(s, &sv, true); err != nil {
		return err
	}
	validate, err := s.YesNo("Connect to the LDAP server to validate setting?", true)
	if err != nil {
		return err
	}
	if err := askType(s, &sv, config.LDAPOtherServer); err != nil {
		return err
	}
	if sv.Port, err = askPort(s, defaultPort(sv.ServerType, sv.SSL)); err != nil {
		return err
	}
	if sv.BaseDN, err = askBase(s, defaultBase(sv.Host)); err != nil {
		return err
	}
	if err := s.Draft.Update(func(cfg *config.Config) error {
		cfg.LDAP.Servers = append(cfg.LDAP.Servers, sv)
		return nil
	}); err != nil {
		return err
	}
	if validate {
		s.Println(probe(s.Ctx, s.Draft.Config(), sv))
	}
	return c.serverMenu(s, name)
}

// askAuth asks the authentication method and, for passphrase-based
// binds, the bind username and passphrase. An existing passphrase may be
// kept by pressing Enter.
func askAuth(s *shell.Session, sv *config.LDAPServer, isNew bool) error {
	def := 1
	if sv.AuthMethod == config.LDAPAuthPassword {
		def = 2
	}
	i, err := s.Choose("Select the authentication method to use for this server configuration:", authNames, def, false)
	if err != nil {
		return err
	}
	if i == 0 {
		sv.AuthMethod, sv.BindDN, sv.BindPassword = config.LDAPAuthAnonymous, "", ""
		return nil
	}
	sv.AuthMethod = config.LDAPAuthPassword
	if sv.BindDN, err = s.AskOptional("Please enter the bind username:", sv.BindDN, required(nil)); err != nil {
		return err
	}
	if isNew || sv.BindPassword == "" {
		sv.BindPassword, err = s.NewSecret("Please enter the bind passphrase:", "Please enter the new passphrase again:", required(nil))
		return err
	}
	for {
		p, err := s.Secret("Please enter the bind passphrase (Press Enter to leave the passphrase unchanged):")
		if err != nil || p == "" {
			return err
		}
		again, err := s.Secret("Please enter the new passphrase again:")
		if err != nil {
			return err
		}
		if p == again {
			sv.BindPassword = p
			return nil
		}
		if err := s.Reject("The passphrases do not match."); err != nil {
			return err
		}
	}
}

func askType(s *shell.Session, sv *config.LDAPServer, current string) error {
	def := 3
	for i, t := range serverTypes {
		if t == current {
			def = i + 1
		}
	}
	i, err := s.Choose("Select the server type to use for this server configuration:", serverTypeNames, def, false)
	if err != nil {
		return err
	}
	sv.ServerType = serverTypes[i]
	return nil
}

func askPort(s *shell.Session, def int) (int, error) {
	a, err := s.Ask("Please enter the port number:", strconv.Itoa(def), checkPort)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(a)
}

func askBase(s *shell.Session, def string) (string, error) {
	if def == "" {
		def = "NONE"
	}
	a, err := s.Ask("Please enter the base or enter NONE to search from the root of the directory:", def, checkBase)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(a, "NONE") {
		return "", nil
	}
	return a, nil
}

// choose asks for a server by name or number.
func choose(s *shell.Session, verb string) (string, error) {
	ns := names(s)
	if len(ns) == 0 {
		return "", shell.ErrBack // the menu's header says there are none
	}
	i, err := s.Choose(fmt.Sprintf("Enter the name or number of the server configuration you wish to %s.", verb), ns, 0, true)
	if err != nil {
		return "", err
	}
	return ns[i], nil
}

func (c Command) edit(s *shell.Session) error {
	name, err := choose(s, "edit")
	if err != nil {
		return err
	}
	return c.serverMenu(s, name)
}

func (c Command) delete(s *shell.Session) error {
	name, err := choose(s, "delete")
	if err != nil {
		return err
	}
	ok, err := s.YesNo(fmt.Sprintf("Are you sure you want to delete the server configuration %q?", name), false)
	if err != nil || !ok {
		return err
	}
	if err := s.Draft.Update(func(cfg *config.Config) error {
		cfg.LDAP.Servers = removeServer(cfg.LDAP.Servers, name)
		return nil
	}); err != nil {
		return err
	}
	s.Printf("Server configuration %q deleted.\n", name)
	return nil
}

func removeServer(list []config.LDAPServer, name string) []config.LDAPServer {
	out := make([]config.LDAPServer, 0, len(list))
	for _, sv := range list {
		if sv.Name != name {
			out = append(out, sv)
		}
	}
	return out
}

// update stages a change to the server called name.
func update(s *shell.Session, name string, fn func(*config.LDAPServer)) error {
	return s.Draft.Update(func(cfg *config.Config) error {
		for i := range cfg.LDAP.Servers {
			if cfg.LDAP.Servers[i].Name == name {
				fn(&cfg.LDAP.Servers[i])
				return nil
			}
		}
		return fmt.Errorf("server configuration %q no longer exists", name)
	})
}

// serverMenu is a server's menu: the one NEW ends in and EDIT opens.
// esash has no LDAP queries, so SERVER is its only operation.
func (c Command) serverMenu(s *shell.Session, name string) error {
	cur := &name // NAME renames the server while its menus are open
	show := func(s *shell.Session) {
		if sv, ok := find(s, *cur); ok {
			summary(s, sv)
		}
	}
	return s.Menu(show, []shell.MenuItem{
		{Name: "SERVER", Help: "Change the server settings.", Run: func(s *shell.Session) error {
			return c.serverSettings(s, cur)
		}},
	})
}

// serverSettings is SERVER, the menu of the server called *name; each
// operation is a function of its own, given the server as staged when it
// is chosen.
func (c Command) serverSettings(s *shell.Session, name *string) error {
	get := func() (config.LDAPServer, error) {
		sv, ok := find(s, *name)
		if !ok {
			return sv, fmt.Errorf("server configuration %q no longer exists", *name)
		}
		return sv, nil
	}
	op := func(f func(s *shell.Session, sv config.LDAPServer) error) func(*shell.Session) error {
		return func(*shell.Session) error {
			sv, err := get()
			if err != nil {
				return err
			}
			return f(s, sv)
		}
	}
	show := func(s *shell.Session) {
		if sv, err := get(); err == nil {
			summary(s, sv)
		}
	}
	return s.Menu(show, []shell.MenuItem{
		{Name: "NAME", Help: "Change the name of this configuration.", Run: op(func(s *shell.Session, sv config.LDAPServer) error {
			return changeName(s, sv, name)
		})},
		{Name: "HOSTNAME", Help: "Change the hostname used for this query.", Run: op(changeHost)},
		{Name: "PORT", Help: "Change the port.", Run: op(changePort)},
		{Name: "AUTHTYPE", Help: "Change the authentication method.", Run: op(changeAuth)},
		{Name: "SERVERTYPE", Help: "Change the server type.", Run: op(changeServerType)},
		{Name: "BASE", Help: "Change the query base.", Run: op(changeBase)},
	})
}

// changeName is SERVER's NAME: it renames sv and points *name, which the
// open menus show, at the new name.
func changeName(s *shell.Session, sv config.LDAPServer, name *string) error {
	n, err := s.Ask("Please enter a name for this server configuration:", sv.Name, checkName(s, sv.Name))
	if err != nil || n == sv.Name {
		return err
	}
	if err := update(s, sv.Name, func(x *config.LDAPServer) { x.Name = n }); err != nil {
		return err
	}
	*name = n
	return nil
}

// changeHost is SERVER's HOSTNAME.
func changeHost(s *shell.Session, sv config.LDAPServer) error {
	h, err := s.Ask("Please enter the hostname or IP address of the LDAP server:", sv.Host, config.CheckLDAPHost)
	if err != nil {
		return err
	}
	return update(s, sv.Name, func(x *config.LDAPServer) { x.Host = h })
}

// changePort is SERVER's PORT.
func changePort(s *shell.Session, sv config.LDAPServer) error {
	p, err := askPort(s, sv.Port)
	if err != nil {
		return err
	}
	return update(s, sv.Name, func(x *config.LDAPServer) { x.Port = p })
}

// changeAuth is SERVER's AUTHTYPE: the authentication method, then SSL and
// the port. A port left at the default for the old SSL setting is offered
// the default for the new one.
func changeAuth(s *shell.Session, sv config.LDAPServer) error {
	nv := sv
	if err := askAuth(s, &nv, false); err != nil {
		return err
	}
	var err error
	if nv.SSL, err = s.YesNo("Use SSL to connect to the LDAP server?", sv.SSL); err != nil {
		return err
	}
	def := sv.Port
	if nv.SSL != sv.SSL && sv.Port == defaultPort(sv.ServerType, sv.SSL) {
		def = defaultPort(sv.ServerType, nv.SSL)
	}
	if nv.Port, err = askPort(s, def); err != nil {
		return err
	}
	return update(s, sv.Name, func(x *config.LDAPServer) { *x = nv })
}

// changeServerType is SERVER's SERVERTYPE.
func changeServerType(s *shell.Session, sv config.LDAPServer) error {
	nv := sv
	if err := askType(s, &nv, sv.ServerType); err != nil {
		return err
	}
	return update(s, sv.Name, func(x *config.LDAPServer) { x.ServerType = nv.ServerType })
}

// changeBase is SERVER's BASE.
func changeBase(s *shell.Session, sv config.LDAPServer) error {
	def := sv.BaseDN
	if def == "" {
		def = "NONE"
	}
	b, err := askBase(s, def)
	if err != nil {
		return err
	}
	return update(s, sv.Name, func(x *config.LDAPServer) { x.BaseDN = b })
}

// setup is SETUP, the global settings.
func (c Command) setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	l := cfg.LDAP
	items := []string{"Auto"}
	values := []string{"Auto"}
	def := 1
	for _, in := range cfg.Interfaces {
		items = append(items, fmt.Sprintf("%s (%s/%d: %s)", in.Name, in.IPv4, in.PrefixLen, in.Hostname))
		values = append(values, in.Name)
		if in.Name == l.Interface {
			def = len(items)
		}
	}
	i, err := s.Choose("Choose the IP interface for LDAP traffic.", items, def, true)
	if err != nil {
		return err
	}
	l.Interface = values[i]
	if l.NegativeOnFailure, err = s.YesNo("Should group queries that fail to complete be silently treated as negative results?", l.NegativeOnFailure); err != nil {
		return err
	}
	if l.ValidateCert, err = s.YesNo("Validate LDAP server certificate?", l.ValidateCert); err != nil {
		return err
	}
	if c.AskCertificate {
		certs := []string{"System Default"}
		vals := []string{""}
		def := 1
		for _, ct := range cfg.Certificates {
			certs = append(certs, ct.Name)
			vals = append(vals, ct.Name)
			if ct.Name == l.Certificate {
				def = len(certs)
			}
		}
		i, err := s.Choose("Select the certificate for LDAPS connections:", certs, def, true)
		if err != nil {
			return err
		}
		l.Certificate = vals[i]
	}
	return s.Draft.Update(func(c *config.Config) error {
		servers := c.LDAP.Servers
		c.LDAP = l
		c.LDAP.Servers = servers
		return nil
	})
}
