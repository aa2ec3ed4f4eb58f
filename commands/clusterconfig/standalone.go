package clusterconfig

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
	"esash/store"
)

// Former creates and joins clusters for a standalone appliance: the
// daemon implements it (cmd/esash/cluster.go), since only it may start an
// etcd member; a command does not know etcd.
type Former interface {
	// Create makes a new cluster named name with this machine as its
	// first member, reached by the other machines at address.
	Create(ctx context.Context, name, address string, meta store.Meta) error
	// Contact authenticates to an existing member over SSH as user and
	// fetches what a joiner needs; hostKey confirms the member's host key
	// (nil: accepted, the batch form).
	Contact(ctx context.Context, host string, port int, user, password string, hostKey func(fingerprint string) (bool, error)) (Invitation, error)
	// Address is this machine's default address for other members.
	Address() string
}

// Invitation is an existing cluster this machine may join.
type Invitation interface {
	Name() string
	Groups() []string
	// Accept joins group; Close abandons the invitation.
	Accept(ctx context.Context, group string, meta store.Meta) error
	Close()
}

// WithFormer is clusterconfig on an appliance that can create and join
// clusters (the daemon).
func WithFormer(f Former) Command { return Command{former: f} }

// DefaultGroup is the group a new cluster has, and the default of a join.
const DefaultGroup = "Main_Group"

// sshPort is the SSH port of the factory configuration: the default port
// of a join, as AsyncOS defaults to its admin SSH port.
const sshPort = 2222

// Sentences of the standalone dialog.
const (
	pendingWarning = "There are pending changes that may be lost if you continue."
	createdEffect  = "Creating a cluster takes effect immediately, there is no need to commit."
	joinedEffect   = "Joining a cluster takes effect immediately, there is no need to commit."
)

var standaloneActions = []string{
	"No, configure as standalone.",
	"Create a new cluster.",
	"Join an existing cluster over SSH.",
}

// standalone is clusterconfig on an appliance that is in no cluster.
func (cmd Command) standalone(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return cmd.standaloneBatch(s, args)
	}
	if s.Draft.Changed() {
		s.Println(pendingWarning)
		ok, err := s.YesNo("Do you want to continue?", false)
		if err != nil || !ok {
			return err
		}
	}
	i, err := s.Choose("Do you want to join or create a cluster?", standaloneActions, 1, false)
	if err != nil {
		return err
	}
	switch i {
	case 1:
		name, err := s.Ask("Enter the name of the new cluster.", "", checkClusterName)
		if err != nil {
			return err
		}
		addr, err := s.Ask(fmt.Sprintf("What IP address should other machines use to communicate with %s?", s.Draft.Base().Config.Hostname), cmd.former.Address(), checkIP)
		if err != nil {
			return err
		}
		return cmd.create(s, name, addr)
	case 2:
		return cmd.joinDialog(s)
	}
	return nil
}

func (cmd Command) joinDialog(s *shell.Session) error {
	host, err := s.Ask("Enter the IP address of a machine in the cluster.", "", checkHost)
	if err != nil {
		return err
	}
	port, err := s.AskInt("Enter the remote port to connect to. This must be the normal admin ssh port.", sshPort, 1, 65535)
	if err != nil {
		return err
	}
	user, err := s.Ask("Enter the name of an administrator present on the remote machine", "admin", nil)
	if err != nil {
		return err
	}
	pass, err := s.Secret("Enter passphrase: ")
	if err != nil {
		return err
	}
	confirm := func(fp string) (bool, error) {
		s.Printf("Please verify the SSH host key for %s:\nPublic host key fingerprint: %s\n", host, fp)
		return s.YesNo("Is this a valid key for this host?", true)
	}
	inv, err := cmd.former.Contact(s.Ctx, host, port, user, pass, confirm)
	if err != nil {
		return fmt.Errorf("join the cluster at %s: %w", host, err)
	}
	defer inv.Close()
	groups := inv.Groups()
	def := 1
	for i, g := range groups {
		if g == DefaultGroup {
			def = i + 1
		}
	}
	g, err := s.Choose(fmt.Sprintf("Choose the group within cluster %s to join.", inv.Name()), groups, def, true)
	if err != nil {
		return err
	}
	if err := cmd.accept(s, inv, groups[g]); err != nil {
		return err
	}
	if c := s.Cluster(); c != nil {
		return menu(s, c)
	}
	return nil
}

// standaloneBatch is `clusterconfig join <host>[:<port>] <user>
// <password> <group>` and `clusterconfig create <name> <address>`.
func (cmd Command) standaloneBatch(s *shell.Session, args []string) error {
	switch op := strings.ToLower(args[0]); {
	case op == "join" && len(args) == 5:
		host, port, err := splitHostPort(args[1])
		if err != nil {
			return shell.Invalid(s, "host", err.Error())
		}
		inv, err := cmd.former.Contact(s.Ctx, host, port, args[2], args[3], nil)
		if err != nil {
			return fmt.Errorf("join the cluster at %s: %w", host, err)
		}
		defer inv.Close()
		return cmd.accept(s, inv, args[4])
	case op == "create" && len(args) == 3:
		if msg := checkClusterName(args[1]); msg != "" {
			return shell.Invalid(s, "name", msg)
		}
		if msg := checkIP(args[2]); msg != "" {
			return shell.Invalid(s, "address", msg)
		}
		return cmd.create(s, args[1], args[2])
	}
	return shell.Invalid(s, "operation", "Unknown option. Use: clusterconfig join <host>[:<port>] <user> <password> <group> | create <name> <address>")
}

func (cmd Command) create(s *shell.Session, name, addr string) error {
	if err := cmd.former.Create(s.Ctx, name, addr, meta(s)); err != nil {
		return fmt.Errorf("create cluster %s: %w", name, err)
	}
	s.Printf("Cluster %s created with this machine as its first member.\n%s\n", name, createdEffect)
	return enterCluster(s)
}

func (cmd Command) accept(s *shell.Session, inv Invitation, group string) error {
	if err := inv.Accept(s.Ctx, group, meta(s)); err != nil {
		return fmt.Errorf("join cluster %s: %w", inv.Name(), err)
	}
	s.Printf("This machine is now a member of cluster %s, group %s.\n%s\n", inv.Name(), group, joinedEffect)
	return enterCluster(s)
}

// enterCluster moves the session to the cluster level, where a clustered
// session starts; what it had staged is gone (the warning said so).
func enterCluster(s *shell.Session) error {
	s.Draft.Clear()
	return s.SetLevel(config.ClusterLevel)
}

func splitHostPort(v string) (string, int, error) {
	if !strings.Contains(v, ":") || net.ParseIP(v) != nil {
		return v, sshPort, nil
	}
	host, p, err := net.SplitHostPort(v)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host[:port]", v)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: the port must be a number from 1 to 65535", v)
	}
	return host, port, nil
}

// checkClusterName accepts a cluster name: shown in the prompt, one word.
func checkClusterName(name string) string {
	if name == "" || strings.ContainsAny(name, "/ \t()") || len(name) > 64 {
		return "The value must be a cluster name of up to 64 characters without spaces, slashes or parentheses."
	}
	return ""
}

func checkIP(v string) string {
	if net.ParseIP(v) == nil {
		return "The value must be an IPv4 or IPv6 address."
	}
	return ""
}

func checkHost(v string) string {
	if v == "" || strings.ContainsAny(v, " \t/") {
		return "The value must be an IP address or a hostname."
	}
	return ""
}
