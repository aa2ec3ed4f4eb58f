// Package clusterconfig is the clusterconfig command on a clustered
// machine: the cluster's groups and members (asyncos-cli.md §14).
//
// What this slice has: LIST, CONNSTATUS, ADDGROUP, SETGROUP,
// RENAMEGROUP, DELETEGROUP, REMOVEMACHINE, SETNAME and leaving (clustered.go),
// each membership change a cluster revision of its own (store/etcdstore).
// Creating and joining a cluster from a standalone appliance is
// standalone.go; it needs the daemon, which alone may start an etcd
// member and passes a Former (cmd/esash/cluster.go). Without one (a
// script with no daemon running) the command says so instead of showing a
// dialog that could not finish. DISCONNECT and RECONNECT are
// disconnect.go; PREPJOIN is refused (below).
//
// Decisions where the reference is inferred ([I]):
//
//   - Standalone dialog, in §14's order: the pending-changes warning
//     ("There are pending changes that may be lost if you continue.",
//     then "Do you want to continue? [N]") only when the session has
//     staged changes; they are cleared when the machine joins, since a
//     draft belongs to one level and the session moves to the cluster's.
//     Then "Do you want to join or create a cluster?" with AsyncOS's
//     items 1-3 (standalone, create, join over SSH), default 1; the CCS
//     join (AsyncOS item 4) is not offered: there is no CCS port, every
//     join goes over SSH.
//   - Create asks the cluster's name, then "What IP address should other
//     machines use to communicate with <hostname>?" (default: the
//     Management interface's IPv4), AsyncOS's question after its
//     communication-method list; the list itself is not asked: members
//     always talk by IP (etcd's peer URLs need an address the certificate
//     names).
//   - Join asks the remote IP, the remote port (default 2222, the SSH port
//     of the factory configuration), the administrator (default admin),
//     "Enter passphrase:", then shows the member's SSH host key
//     fingerprint and asks "Is this a valid key for this host?" (§14's
//     order); the pre-shared keys question is not asked (password login
//     only). Then "Choose the group within cluster <name> to join." with
//     the cluster's groups, default Main_Group.
//   - Both end with AsyncOS's "... takes effect immediately, there is no
//     need to commit." (the sentinel scripts wait for) and the session
//     continues at the cluster level with its prompt; the join dialog
//     shows the clustered menu first, as AsyncOS does (asyncos-cli-2.md
//     §6 [I-seq]: one blank line after a join reaches the main prompt,
//     "join shows the clustered menu first"). The batch join does not.
//   - Batch: `clusterconfig join <host>[:<port>] <user> <password>
//     <group>` (the reference's, the port added by the issue) and
//     `clusterconfig create <name> <address>`, ours, by the same pattern.
//   - The clustered menu lists the operations in the order IAF's driver
//     names them (ADDGROUP, SETGROUP, ..., LIST, CONNSTATUS), and the
//     cluster's name and members are printed above it, as AsyncOS prints
//     "Cluster <name>" before its menu.
//   - LIST prints one line per group and its machines, hostnames sorted;
//     CONNSTATUS adds the revision each machine runs and any error from
//     activating the newest one: with etcd there is no per-pair tunnel to
//     report, what matters is whether each machine runs the cluster's head.
//   - Batch: `clusterconfig addgroup <name>`, `clusterconfig setgroup
//     <machine> <group>`, `renamegroup <group> <new>`, `deletegroup
//     <group>`, `setname <name>`, `clusterconfig list`, by the pattern of
//     the scripted `clusterconfig removemachine <m>` (which, being batch,
//     asks no confirmation: scripts send it without one).
//   - The questions' wording follows AsyncOS's: "Choose the group to
//     rename.", "Enter the new name of the group.", "Choose the group to
//     remove.", "Choose the machine to remove from the cluster.", "Enter
//     the new name of the cluster." (the IAF driver answers each with one
//     value; its exact text is [I]). REMOVEMACHINE confirms with a yes/no
//     whose default is no: removing is not undone by clear.
//   - DELETEGROUP refuses a group that still has machines (AsyncOS asks
//     where to move them; here SETGROUP moves them first, one decision
//     per machine) and the cluster's last group (a joining machine needs
//     one). Its overrides go with it.
//   - Leaving: there is no LEAVE keyword in AsyncOS's menu; removing the
//     machine one is logged in to is how AsyncOS makes it standalone, so
//     REMOVEMACHINE of this machine leaves (with its own confirmation). It
//     goes on with its effective configuration standalone; its
//     machine-level settings stay in etcd, detached, and a rejoin restores
//     them. Every session of the machine becomes standalone at its next
//     command (uncommitted cluster changes are dropped, with a line
//     saying so), and shell.Options.LeftCluster lets the daemon stop its
//     etcd member (the daemon's wiring is not in this package).
//   - DISCONNECT and RECONNECT (asyncos-cli-2.md §3.2: "machine (list) →
//     yes/no", a temporary detach, [V IAF] keywords, [I-seq] order; the
//     wording is ours): "Choose the machine to disconnect from the
//     cluster." lists the connected members, then "Are you sure you want
//     to disconnect <host>?" [N] after a line saying what it means;
//     "Choose the machine to reconnect to the cluster." lists the
//     disconnected ones, then "Do you want to reconnect <host>? ..." [Y]
//     (disconnecting stops a machine's synchronisation, reconnecting
//     restores the normal state). The menu's descriptions are AsyncOS's
//     as remembered [U]. Batch: `clusterconfig disconnect <machine>` and
//     `reconnect <machine>` (the reference's [U] recollection), no
//     confirmation. The state is the cluster's, in etcd
//     (store/etcdstore/disconnect.go): a disconnected machine keeps
//     running its last applied configuration and applies no new revision
//     until it is reconnected (then it applies the newest at once); its
//     etcd member keeps voting. Any member may disconnect any member,
//     itself included. LIST adds "(disconnected)" to such a machine,
//     CONNSTATUS the revision it still runs; on the disconnected machine,
//     clusterconfig first says it "is currently disconnected" and offers
//     to reconnect it (§3.2 [S]; shell/clusterdisconnect.go, which also
//     asks it before configuration commands).
//   - PREPJOIN is not in the menu and `clusterconfig prepjoin ...` is
//     refused, naming the join that works (PrepJoinRefused): AsyncOS's
//     PREPJOIN registers a new machine's serial number and SSH key so it
//     can join over the Cluster Communication Service without an
//     administrator's password (§3.2 [U]; IAF has only stubs). esash has
//     no CCS: every join authenticates over SSH with an administrator's
//     password (cmd/esash/clusterjoin.go), and a pre-registered key would
//     be a second way in to build, check and test on its own. A menu item
//     that did nothing would be worse than none.
//   - REMOVEMACHINE of another machine ends its membership and removes its
//     etcd member (voter or learner: quorum counts the machines that
//     remain); that machine notices and goes on as a standalone appliance
//     with its last configuration, as AsyncOS's removed machine becomes
//     standalone (the daemon's wiring, cmd/esash/clusterfollow.go).
package clusterconfig

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"esash/shell"
	"esash/store"
)

// Command is clusterconfig; former creates and joins clusters
// (standalone.go), nil where the appliance cannot (a script).
type Command struct{ former Former }

// New returns the clusterconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "clusterconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure cluster related settings" }

// Standalone is what a standalone appliance answers.
const Standalone = "This machine is not part of a cluster: creating or joining one needs the daemon (esash serve) running."

// Run shows the menu, or runs a batch operation.
func (cmd Command) Run(s *shell.Session, args []string) error {
	c := s.Cluster()
	if c == nil && cmd.former != nil {
		return cmd.standalone(s, args)
	}
	if c == nil {
		s.Println(Standalone)
		return errors.New("clusterconfig: not clustered")
	}
	if len(args) > 0 {
		return batch(s, c, args)
	}
	if _, _, err := s.AskReconnect(); err != nil {
		return err
	}
	return menu(s, c)
}

// menu is the clustered menu.
func menu(s *shell.Session, c shell.Cluster) error {
	err := s.Menu(func(s *shell.Session) { s.Printf("\nCluster %s\n\n", c.Name()) }, []shell.MenuItem{
		{Name: "ADDGROUP", Help: "Add a cluster group.", Run: func(s *shell.Session) error { return addGroup(s, c, "") }},
		{Name: "SETGROUP", Help: "Set the group that machines are a member of.", Run: func(s *shell.Session) error { return setGroup(s, c, "", "") }},
		{Name: "RENAMEGROUP", Help: "Rename a cluster group.", Run: func(s *shell.Session) error { return renameGroup(s, c, "", "") }},
		{Name: "DELETEGROUP", Help: "Remove a cluster group.", Run: func(s *shell.Session) error { return deleteGroup(s, c, "") }},
		{Name: "REMOVEMACHINE", Help: "Remove a machine from the cluster.", Run: func(s *shell.Session) error { return removeMachine(s, c, "", true) }},
		{Name: "SETNAME", Help: "Set the cluster name.", Run: func(s *shell.Session) error { return setName(s, c, "") }},
		{Name: "LIST", Help: "List the machines in the cluster.", Run: func(s *shell.Session) error { return list(s, c, false) }},
		{Name: "CONNSTATUS", Help: "Show the status of the machines in the cluster.", Run: func(s *shell.Session) error { return list(s, c, true) }},
		{Name: "DISCONNECT", Help: "Temporarily detach machines from the cluster.", Run: func(s *shell.Session) error { return disconnect(s, c, "", true) }},
		{Name: "RECONNECT", Help: "Restore connections with machines that were previously detached.", Run: func(s *shell.Session) error { return reconnect(s, c, "", true) }},
	})
	if errors.Is(err, errLeft) {
		return nil // the cluster menu has no machine to run on any more
	}
	return err
}

func batch(s *shell.Session, c shell.Cluster, args []string) error {
	switch op := strings.ToLower(args[0]); {
	case op == "addgroup" && len(args) == 2:
		return addGroup(s, c, args[1])
	case op == "setgroup" && len(args) == 3:
		return setGroup(s, c, args[1], args[2])
	case op == "renamegroup" && len(args) == 3:
		return renameGroup(s, c, args[1], args[2])
	case op == "deletegroup" && len(args) == 2:
		return deleteGroup(s, c, args[1])
	case op == "removemachine" && len(args) == 2:
		return removeMachine(s, c, args[1], false)
	case op == "setname" && len(args) == 2:
		return setName(s, c, args[1])
	case op == "list" && len(args) == 1:
		return list(s, c, false)
	case op == "connstatus" && len(args) == 1:
		return list(s, c, true)
	case op == "disconnect" && len(args) == 2:
		return disconnect(s, c, args[1], false)
	case op == "reconnect" && len(args) == 2:
		return reconnect(s, c, args[1], false)
	case op == "prepjoin":
		return shell.Invalid(s, "operation", PrepJoinRefused)
	}
	return shell.Invalid(s, "operation", "Unknown option. Use: clusterconfig addgroup <group> | setgroup <machine> <group> | renamegroup <group> <new name> | deletegroup <group> | removemachine <machine> | setname <name> | list | connstatus | disconnect <machine> | reconnect <machine>")
}

func meta(s *shell.Session) store.Meta { return store.Meta{User: s.User, Source: s.Source} }

func addGroup(s *shell.Session, c shell.Cluster, name string) error {
	if name == "" {
		var err error
		if name, err = s.Ask("Enter the name of the new cluster group to create.", "", checkGroup); err != nil {
			return err
		}
	} else if msg := checkGroup(name); msg != "" {
		return shell.Invalid(s, "group", msg)
	}
	if err := c.AddGroup(s.Ctx, name, meta(s)); err != nil {
		return fmt.Errorf("add group %s: %w", name, err)
	}
	s.Printf("Cluster group %s added.\n", name)
	return nil
}

// checkGroup accepts a group name: a key segment in etcd, so no slash.
func checkGroup(name string) string {
	if name == "" || strings.ContainsAny(name, "/ \t") {
		return "The value must be a group name without spaces or slashes."
	}
	return ""
}

func setGroup(s *shell.Session, c shell.Cluster, machine, group string) error {
	ids, hosts := machines(c)
	if machine == "" {
		i, err := s.Choose("Choose the machine to move.", hosts, 0, true)
		if err != nil {
			return err
		}
		machine = ids[i]
	} else {
		found := false
		for i, h := range hosts {
			if strings.EqualFold(h, machine) || ids[i] == machine {
				machine, found = ids[i], true
				break
			}
		}
		if !found {
			return shell.Invalid(s, "machine", fmt.Sprintf("Not a valid machine: %q. The machines are %s.", machine, strings.Join(hosts, ", ")))
		}
	}
	groups := c.Groups()
	if group == "" {
		g, err := s.Choose("Choose the group for the machine.", groups, 0, true)
		if err != nil {
			return err
		}
		group = groups[g]
	}
	if err := c.SetGroup(s.Ctx, machine, group, meta(s)); err != nil {
		return fmt.Errorf("set group of %s: %w", machine, err)
	}
	s.Printf("Machine %s is now in group %s.\n", c.Members()[machine], group)
	return nil
}

// machines lists the members by hostname, sorted, with their identities.
func machines(c shell.Cluster) (ids, hosts []string) {
	members := c.Members()
	for id := range members {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return members[ids[i]] < members[ids[j]] })
	for _, id := range ids {
		hosts = append(hosts, members[id])
	}
	return ids, hosts
}

func list(s *shell.Session, c shell.Cluster, status bool) error {
	cl, err := c.List(s.Ctx)
	if err != nil {
		return fmt.Errorf("list cluster %s: %w", c.Name(), err)
	}
	byGroup := map[string][]store.MemberStatus{}
	for _, m := range cl.Members {
		byGroup[m.Group] = append(byGroup[m.Group], m)
	}
	s.Printf("Cluster %s\n", cl.Name)
	for _, g := range cl.Groups {
		s.Printf("Group %s:\n", g)
		ms := byGroup[g]
		sort.Slice(ms, func(i, j int) bool { return ms[i].Hostname < ms[j].Hostname })
		for _, m := range ms {
			if !status {
				s.Printf("    Machine %s%s\n", m.Hostname, map[bool]string{true: " (disconnected)"}[m.Disconnected])
				continue
			}
			state := fmt.Sprintf("runs revision %d", m.Applied)
			if m.Disconnected {
				state += ", disconnected: applies no newer revision until it is reconnected"
			} else if m.ApplyError != "" {
				state += ", could not activate it: " + m.ApplyError
			}
			s.Printf("    Machine %s: %s\n", m.Hostname, state)
		}
	}
	return nil
}
