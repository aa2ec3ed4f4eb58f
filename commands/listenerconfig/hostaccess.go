package listenerconfig

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"esash/config"
	"esash/shell"
)

// maxImport bounds a HAT file IMPORT reads.
const maxImport = 16 << 20

const sendersHelp = `Enter the senders to add to this sender group. A sender group entry can be any of the following:
- an IP address (10.1.1.1 or 2001:db8::1)
- a CIDR address (10.1.1.0/24)
- an IP address range (10.1.1.1-50 or 10.1.1.1-10.1.2.50)
- a hostname (mail.example.com)
- a partial hostname (.example.com)
- ALL
Separate multiple entries with commas.`

var actionItems = []string{"Accept", "Reject", "TCP Refuse", "Relay", "Continue"}
var actionValues = []config.Action{config.Accept, config.Reject, config.TCPRefuse, config.Relay, config.Continue}

// hostaccess is the HOSTACCESS sub-menu: the listener's host access table.
func (e *editor) hostaccess(s *shell.Session) error {
	return s.Menu(func(s *shell.Session) {
		l, err := e.listener(s)
		if err != nil {
			return
		}
		printDefaults(s, l.DefaultPolicy)
		s.Printf("There are currently %d policies defined.\n", len(l.Policies))
		s.Printf("There are currently %d sender groups.\n", len(l.SenderGroups))
	}, []shell.MenuItem{
		{Name: "NEW", Help: "Create a new entry.", Run: e.hatNew},
		{Name: "EDIT", Help: "Modify an entry.", Run: e.hatEdit},
		{Name: "DELETE", Help: "Remove an entry.", Run: e.hatDelete},
		{Name: "MOVE", Help: "Move an entry.", Run: e.hatMove},
		{Name: "DEFAULT", Help: "Set the defaults.", Run: e.hatDefault},
		{Name: "PRINT", Help: "Display the table.", Run: e.hatPrint},
		{Name: "IMPORT", Help: "Import a table from a file.", Run: e.hatImport},
		{Name: "EXPORT", Help: "Export the table to a file.", Run: e.hatExport},
		{Name: "CLEAR", Help: "Remove all entries.", Run: e.hatClear},
		{Name: "RESET", Help: "Remove all entries.", Run: e.hatClear, Hidden: true}, // AsyncOS 14.x keyword
	})
}

func groupNames(l config.Listener) []string {
	out := make([]string, len(l.SenderGroups))
	for i, g := range l.SenderGroups {
		out[i] = g.Name
	}
	return out
}

func policyNames(l config.Listener) []string {
	out := make([]string, len(l.Policies))
	for i, p := range l.Policies {
		out[i] = p.Name
	}
	return out
}

func findPolicy(l *config.Listener, name string) *config.MailFlowPolicy {
	for i := range l.Policies {
		if l.Policies[i].Name == name {
			return &l.Policies[i]
		}
	}
	return nil
}

func findGroup(l *config.Listener, name string) *config.SenderGroup {
	for i := range l.SenderGroups {
		if l.SenderGroups[i].Name == name {
			return &l.SenderGroups[i]
		}
	}
	return nil
}

func checkPolicyName(l config.Listener, self string) func(string) string {
	return func(a string) string {
		a = strings.TrimPrefix(a, "$")
		if r := config.CheckName(a); r != "" {
			return r
		}
		if a != self && slices.Contains(policyNames(l), a) {
			return fmt.Sprintf("The policy $%s already exists.", a)
		}
		return ""
	}
}

func checkGroupName(l config.Listener, self string) func(string) string {
	return func(a string) string {
		if r := config.CheckName(a); r != "" {
			return r
		}
		if a != self && slices.Contains(groupNames(l), a) {
			return fmt.Sprintf("The sender group %s already exists.", a)
		}
		return ""
	}
}

// insertGroup adds a sender group before ALL, which stays last.
func insertGroup(l *config.Listener, g config.SenderGroup) {
	i := slices.IndexFunc(l.SenderGroups, func(x config.SenderGroup) bool { return x.Name == "ALL" })
	if i < 0 {
		i = len(l.SenderGroups)
	}
	l.SenderGroups = slices.Insert(l.SenderGroups, i, g)
}

func (e *editor) hatNew(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	k, err := s.Choose("Choose the type of entry to create:", []string{"New Sender Group", "New Policy"}, 1, true)
	if err != nil {
		return err
	}
	if k == 1 {
		return e.newPolicy(s, l)
	}
	name, err := s.Ask("Enter a name for this sender group.", "", checkGroupName(l, ""))
	if err != nil {
		return err
	}
	hosts, err := s.AskOptional(sendersHelp, "", checkHostList)
	if err != nil {
		return err
	}
	g := config.SenderGroup{Name: name, Hosts: splitList(hosts)}
	pol, isNew, err := e.chooseBehavior(s, l, name, "")
	if err != nil {
		return err
	}
	g.Policy = pol.Name
	if err := e.changeParams(s, &l, &pol, isNew); err != nil {
		return err
	}
	if g.Comment, err = s.AskOptional("Enter a comment for this sender group.", "", nil); err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		if isNew {
			l.Policies = append(l.Policies, pol)
		} else if p := findPolicy(l, pol.Name); p != nil {
			*p = pol
		}
		insertGroup(l, g)
		return nil
	})
}

func (e *editor) newPolicy(s *shell.Session, l config.Listener) error {
	name, err := s.Ask("Enter a name for this policy.", "", checkPolicyName(l, ""))
	if err != nil {
		return err
	}
	pol := config.MailFlowPolicy{Name: strings.TrimPrefix(name, "$")}
	k, err := s.Choose("Select a behavior for this entry.", actionItems, 1, true)
	if err != nil {
		return err
	}
	pol.Action = actionValues[k]
	if err := e.changeParams(s, &l, &pol, true); err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.Policies = append(l.Policies, pol)
		return nil
	})
}

// chooseBehavior asks what a sender group does: one of the actions (a new
// policy named after the group is made for it) or an existing $POLICY.
func (e *editor) chooseBehavior(s *shell.Session, l config.Listener, group, cur string) (config.MailFlowPolicy, bool, error) {
	items := slices.Clone(actionItems)
	for _, p := range l.Policies {
		items = append(items, "$"+p.Name)
	}
	def := slices.Index(items, "$"+cur) + 1
	if def == 0 {
		def = slices.Index(items, "$ACCEPTED") + 1
	}
	if def == 0 {
		def = 1
	}
	for {
		k, err := s.Choose("Select a behavior for this entry.", items, def, true)
		if err != nil {
			return config.MailFlowPolicy{}, false, err
		}
		if k >= len(actionItems) {
			return l.Policies[k-len(actionItems)], false, nil
		}
		if findPolicy(&l, group) == nil {
			return config.MailFlowPolicy{Name: group, Action: actionValues[k]}, true, nil
		}
		if err := s.Reject(fmt.Sprintf("A policy named $%s already exists: choose it, or another behavior.", group)); err != nil {
			return config.MailFlowPolicy{}, false, err
		}
	}
}

// changeParams asks whether to change a policy's parameters and runs the
// parameter dialog. Changing an existing policy changes it for every
// sender group that uses it.
func (e *editor) changeParams(s *shell.Session, l *config.Listener, pol *config.MailFlowPolicy, isNew bool) error {
	change, err := s.YesNo("Would you like to change the policy parameters?", false)
	if err != nil || !change {
		return err
	}
	if !isNew {
		var users []string
		for _, g := range l.SenderGroups {
			if g.Policy == pol.Name {
				users = append(users, g.Name)
			}
		}
		if len(users) > 0 {
			s.Printf("The policy $%s is used by: %s. The changes apply to all of them.\n", pol.Name, strings.Join(users, ", "))
		}
	}
	return editParams(s, &pol.Params, &l.DefaultPolicy, s.Draft.Config(), *l)
}

func (e *editor) hatEdit(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	k, err := s.Choose("Choose the type of entry to edit:", []string{"Sender Group", "Policy"}, 1, true)
	if err != nil {
		return err
	}
	if k == 0 {
		if len(l.SenderGroups) == 0 {
			s.Println("No sender groups to edit.")
			return nil
		}
		i, err := s.Choose("HAT sender groups:", groupNames(l), 0, true)
		if err != nil {
			return err
		}
		g := &groupEditor{e: e, name: l.SenderGroups[i].Name}
		return g.menu(s)
	}
	if len(l.Policies) == 0 {
		s.Println("No policies to edit.")
		return nil
	}
	i, err := s.Choose("HAT policies:", policyNames(l), 0, true)
	if err != nil {
		return err
	}
	pol := l.Policies[i]
	a, err := s.Choose("Select a behavior for this entry.", actionItems, slices.Index(actionValues, pol.Action)+1, true)
	if err != nil {
		return err
	}
	pol.Action = actionValues[a]
	if err := e.changeParams(s, &l, &pol, false); err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		if p := findPolicy(l, pol.Name); p != nil {
			*p = pol
		}
		return nil
	})
}

func (e *editor) hatDelete(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	k, err := s.Choose("Choose the type of entry to delete:", []string{"Sender Group", "Policy"}, 1, true)
	if err != nil {
		return err
	}
	if k == 0 {
		if len(l.SenderGroups) == 0 {
			s.Println("No sender groups to delete.")
			return nil
		}
		i, err := s.Choose("HAT sender groups:", groupNames(l), 0, true)
		if err != nil {
			return err
		}
		name := l.SenderGroups[i].Name
		return updateListener(s, e.name, func(l *config.Listener) error {
			l.SenderGroups = slices.DeleteFunc(l.SenderGroups, func(g config.SenderGroup) bool { return g.Name == name })
			return nil
		})
	}
	if len(l.Policies) == 0 {
		s.Println("No policies to delete.")
		return nil
	}
	i, err := s.Choose("HAT policies:", policyNames(l), 0, true)
	if err != nil {
		return err
	}
	name := l.Policies[i].Name
	var users []string
	for _, g := range l.SenderGroups {
		if g.Policy == name {
			users = append(users, g.Name)
		}
	}
	if len(users) > 0 {
		ok, err := s.YesNo(fmt.Sprintf("The policy $%s is used by the sender groups %s, which will be deleted with it. Do you wish to continue?", name, strings.Join(users, ", ")), false)
		if err != nil || !ok {
			return err
		}
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.Policies = slices.DeleteFunc(l.Policies, func(p config.MailFlowPolicy) bool { return p.Name == name })
		l.SenderGroups = slices.DeleteFunc(l.SenderGroups, func(g config.SenderGroup) bool { return g.Policy == name })
		return nil
	})
}

func (e *editor) hatMove(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	if len(l.SenderGroups) < 2 {
		s.Println("There is nothing to move.")
		return nil
	}
	i, err := s.Choose("Enter the name or number of the sender group you want to move.", groupNames(l), 0, true)
	if err != nil {
		return err
	}
	name := l.SenderGroups[i].Name
	others := slices.DeleteFunc(groupNames(l), func(n string) bool { return n == name })
	j, err := s.Choose("Enter the name or number of the sender group you want to insert it before.", others, 0, true)
	if err != nil {
		return err
	}
	before := others[j]
	return updateListener(s, e.name, func(l *config.Listener) error {
		g := *findGroup(l, name)
		l.SenderGroups = slices.DeleteFunc(l.SenderGroups, func(x config.SenderGroup) bool { return x.Name == name })
		at := slices.IndexFunc(l.SenderGroups, func(x config.SenderGroup) bool { return x.Name == before })
		l.SenderGroups = slices.Insert(l.SenderGroups, at, g)
		return nil
	})
}

func (e *editor) hatDefault(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	p := l.DefaultPolicy
	if err := editParams(s, &p, nil, s.Draft.Config(), l); err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.DefaultPolicy = p
		return nil
	})
}

func (e *editor) hatPrint(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	return s.Page(config.FormatHAT(l))
}

func (e *editor) hatImport(s *shell.Session) error {
	name, err := s.Ask("Enter the name of the file to import:", "", func(a string) string {
		p, msg := s.ConfigFile(a)
		if msg != "" {
			return msg
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return fmt.Sprintf("The file %q does not exist in the configuration directory.", a)
		}
		return ""
	})
	if err != nil {
		return err
	}
	text, err := readLimited(s, name)
	if err != nil {
		return reject(s, fmt.Sprintf("The file %q cannot be read: %v", name, err))
	}
	ps, gs, err := config.ParseHAT(text)
	if err != nil {
		return reject(s, fmt.Sprintf("The file %q cannot be imported, nothing was changed: %v", name, err))
	}
	if err := updateListener(s, e.name, func(l *config.Listener) error {
		l.Policies, l.SenderGroups = ps, gs
		return nil
	}); err != nil {
		return err
	}
	s.Printf("Imported %d policies and %d sender groups from %q.\n", len(ps), len(gs), name)
	return nil
}

// readLimited reads a file of the configuration directory, never
// through a symbolic link (shell's OpenConfigFile).
func readLimited(s *shell.Session, name string) (string, error) {
	f, err := s.OpenConfigFile(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImport+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxImport {
		return "", fmt.Errorf("the file is larger than %d bytes", maxImport)
	}
	return string(b), nil
}

func (e *editor) hatExport(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	name, err := s.Ask("Enter a name for the exported file:", "", func(a string) string {
		_, msg := s.ConfigFile(a)
		return msg
	})
	if err != nil {
		return err
	}
	// A new file renamed over the name: a link there is replaced, never
	// written through.
	if err := s.WriteConfigFile(name, []byte(config.FormatHAT(l)), 0o600); err != nil {
		return reject(s, fmt.Sprintf("The file %q cannot be written: %v", name, err))
	}
	s.Printf("The host access table was exported to %q.\n", name)
	return nil
}

// hatClear removes every sender group and policy and puts back the ones a
// new listener of this type starts with (a table without ALL would refuse
// every host). The default policy parameters stay.
func (e *editor) hatClear(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	fresh := config.FactoryListener(l.Name, l.Type, l.Interface, l.Port)
	if err := updateListener(s, e.name, func(l *config.Listener) error {
		l.Policies, l.SenderGroups = fresh.Policies, fresh.SenderGroups
		return nil
	}); err != nil {
		return err
	}
	s.Printf("All entries were removed; the table holds the default entries of a %s listener.\n", l.Type)
	return nil
}

// groupEditor is HOSTACCESS > EDIT of one sender group.
type groupEditor struct {
	e    *editor
	name string
}

func (g *groupEditor) group(s *shell.Session) (config.Listener, config.SenderGroup, error) {
	l, err := g.e.listener(s)
	if err != nil {
		return l, config.SenderGroup{}, err
	}
	p := findGroup(&l, g.name)
	if p == nil {
		return l, config.SenderGroup{}, fmt.Errorf("the sender group %s no longer exists", g.name)
	}
	return l, *p, nil
}

func (g *groupEditor) update(s *shell.Session, fn func(l *config.Listener, sg *config.SenderGroup) error) error {
	return updateListener(s, g.e.name, func(l *config.Listener) error {
		sg := findGroup(l, g.name)
		if sg == nil {
			return fmt.Errorf("the sender group %s no longer exists", g.name)
		}
		return fn(l, sg)
	})
}

func (g *groupEditor) menu(s *shell.Session) error {
	return s.Menu(func(s *shell.Session) {
		if _, sg, err := g.group(s); err == nil {
			printGroup(s, sg)
		}
	}, []shell.MenuItem{
		{Name: "NEW", Help: "Add a new host.", Run: g.add},
		{Name: "DELETE", Help: "Remove a host.", Run: g.remove},
		{Name: "MOVE", Help: "Reorder the hosts.", Run: g.move},
		{Name: "POLICY", Help: "Change the policy settings and options.", Run: g.policy},
		{Name: "PRINT", Help: "Display the current definition.", Run: func(s *shell.Session) error {
			_, sg, err := g.group(s)
			if err == nil {
				printGroup(s, sg)
			}
			return err
		}},
		{Name: "RENAME", Help: "Rename this sender group.", Run: g.rename},
		{Name: "COMMENT", Help: "Change the comment.", Run: g.comment},
	})
}

func printGroup(s *shell.Session, sg config.SenderGroup) {
	s.Printf("Sender Group: %s\n", sg.Name)
	s.Printf("Policy: $%s\n", sg.Policy)
	s.Printf("Comment: %s\n", orDefault(sg.Comment, "None"))
	if len(sg.Hosts) == 0 {
		s.Println("Senders: None")
		return
	}
	s.Println("Senders:")
	for _, h := range sg.Hosts {
		s.Printf("    %s\n", h)
	}
}

func (g *groupEditor) add(s *shell.Session) error {
	_, sg, err := g.group(s)
	if err != nil {
		return err
	}
	a, err := s.Ask(sendersHelp, "", checkHostList)
	if err != nil {
		return err
	}
	var add []string
	for _, h := range splitList(a) {
		if slices.Contains(sg.Hosts, h) {
			s.Printf("The sender %s is already in this sender group.\n", h)
			continue
		}
		add = append(add, h)
	}
	if len(add) == 0 {
		return nil
	}
	return g.update(s, func(_ *config.Listener, sg *config.SenderGroup) error {
		sg.Hosts = append(sg.Hosts, add...)
		return nil
	})
}

func (g *groupEditor) remove(s *shell.Session) error {
	_, sg, err := g.group(s)
	if err != nil {
		return err
	}
	if len(sg.Hosts) == 0 {
		s.Println("There are no senders to delete.")
		return nil
	}
	k, err := s.Choose("Enter the sender to delete.", sg.Hosts, 0, true)
	if err != nil {
		return err
	}
	h := sg.Hosts[k]
	return g.update(s, func(_ *config.Listener, sg *config.SenderGroup) error {
		sg.Hosts = slices.DeleteFunc(sg.Hosts, func(x string) bool { return x == h })
		return nil
	})
}

func (g *groupEditor) move(s *shell.Session) error {
	_, sg, err := g.group(s)
	if err != nil {
		return err
	}
	if len(sg.Hosts) < 2 {
		s.Println("There is nothing to move.")
		return nil
	}
	k, err := s.Choose("Enter the sender to move.", sg.Hosts, 0, true)
	if err != nil {
		return err
	}
	h := sg.Hosts[k]
	others := slices.DeleteFunc(slices.Clone(sg.Hosts), func(x string) bool { return x == h })
	j, err := s.Choose("Enter the sender to insert it before.", others, 0, true)
	if err != nil {
		return err
	}
	before := others[j]
	return g.update(s, func(_ *config.Listener, sg *config.SenderGroup) error {
		sg.Hosts = slices.DeleteFunc(sg.Hosts, func(x string) bool { return x == h })
		sg.Hosts = slices.Insert(sg.Hosts, slices.Index(sg.Hosts, before), h)
		return nil
	})
}

func (g *groupEditor) policy(s *shell.Session) error {
	l, sg, err := g.group(s)
	if err != nil {
		return err
	}
	pol, isNew, err := g.e.chooseBehavior(s, l, sg.Name, sg.Policy)
	if err != nil {
		return err
	}
	if err := g.e.changeParams(s, &l, &pol, isNew); err != nil {
		return err
	}
	return g.update(s, func(l *config.Listener, sg *config.SenderGroup) error {
		if isNew {
			l.Policies = append(l.Policies, pol)
		} else if p := findPolicy(l, pol.Name); p != nil {
			*p = pol
		}
		sg.Policy = pol.Name
		return nil
	})
}

func (g *groupEditor) rename(s *shell.Session) error {
	l, sg, err := g.group(s)
	if err != nil {
		return err
	}
	name, err := s.Ask("Enter the new name for this sender group.", sg.Name, checkGroupName(l, sg.Name))
	if err != nil || name == sg.Name {
		return err
	}
	if err := g.update(s, func(_ *config.Listener, sg *config.SenderGroup) error {
		sg.Name = name
		return nil
	}); err != nil {
		return err
	}
	g.name = name
	return nil
}

func (g *groupEditor) comment(s *shell.Session) error {
	_, sg, err := g.group(s)
	if err != nil {
		return err
	}
	c, err := s.AskOptional("Enter a comment for this sender group.", sg.Comment, nil)
	if err != nil {
		return err
	}
	return g.update(s, func(_ *config.Listener, sg *config.SenderGroup) error {
		sg.Comment = c
		return nil
	})
}
