package clusterconfig

import (
	"fmt"
	"strings"

	"esash/shell"
)

// PrepJoinRefused answers `clusterconfig prepjoin`: AsyncOS's PREPJOIN
// registers a machine that will join over the Cluster Communication
// Service, which esash does not have (see the package comment).
const PrepJoinRefused = "Unknown option: PREPJOIN prepares a join over the Cluster Communication Service, which this appliance does not have. Machines join over SSH with an administrator's credentials: clusterconfig join <host>[:<port>] <user> <password> <group>."

// pickMachine finds machine (a hostname or an identity) among the
// members for which want is true, or asks for one of them with question.
// With none to choose it says none and returns shell.ErrBack.
func pickMachine(s *shell.Session, c shell.Cluster, machine, question, none string, want func(id string) bool) (id, host string, err error) {
	all, hosts := shell.MembersByHost(c)
	var ids, names []string
	for i, id := range all {
		if want(id) {
			ids, names = append(ids, id), append(names, hosts[i])
		}
	}
	if machine != "" {
		for i, h := range names {
			if strings.EqualFold(h, machine) || ids[i] == machine {
				return ids[i], h, nil
			}
		}
		return "", "", shell.Invalid(s, "machine", fmt.Sprintf("Not a valid machine: %q. %s", machine, none))
	}
	if len(ids) == 0 {
		s.Println(none)
		return "", "", shell.ErrBack
	}
	i, err := s.Choose(question, names, 0, true)
	if err != nil {
		return "", "", err
	}
	return ids[i], names[i], nil
}

// disconnect detaches a machine from the cluster's synchronisation; the
// dialog confirms (default no), the batch form does not.
func disconnect(s *shell.Session, c shell.Cluster, machine string, confirm bool) error {
	flags, err := c.Disconnected(s.Ctx)
	if err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	none := "Every machine of the cluster is disconnected already."
	if connected := machinesWhere(c, flags, false); machine != "" && connected != "" {
		none = "The machines that can be disconnected are " + connected + "."
	}
	id, host, err := pickMachine(s, c, machine, "Choose the machine to disconnect from the cluster.", none, func(id string) bool { return !flags[id] })
	if err != nil {
		return err
	}
	if confirm {
		s.Printf("A disconnected machine keeps running its current configuration and applies no cluster change until it is reconnected.\n")
		yes, err := s.YesNo(fmt.Sprintf("Are you sure you want to disconnect %s?", host), false)
		if err != nil {
			return err
		}
		if !yes {
			s.Printf("Machine %s was not disconnected.\n", host)
			return nil
		}
	}
	if err := c.Disconnect(s.Ctx, id, meta(s)); err != nil {
		return fmt.Errorf("disconnect %s: %w", host, err)
	}
	s.Printf("Machine %s disconnected: it applies no cluster change until it is reconnected.\n", host)
	return nil
}

// reconnect attaches a disconnected machine again: it applies the
// cluster's newest configuration. The dialog confirms (default yes).
func reconnect(s *shell.Session, c shell.Cluster, machine string, confirm bool) error {
	flags, err := c.Disconnected(s.Ctx)
	if err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	none := "No machine of the cluster is disconnected."
	if held := machinesWhere(c, flags, true); machine != "" && held != "" {
		none = "The disconnected machines are " + held + "."
	}
	id, host, err := pickMachine(s, c, machine, "Choose the machine to reconnect to the cluster.", none, func(id string) bool { return flags[id] })
	if err != nil {
		return err
	}
	if confirm {
		yes, err := s.YesNo(fmt.Sprintf("Do you want to reconnect %s? It applies the cluster's newest configuration at once.", host), true)
		if err != nil {
			return err
		}
		if !yes {
			s.Printf("Machine %s stays disconnected.\n", host)
			return nil
		}
	}
	if err := c.Reconnect(s.Ctx, id, meta(s)); err != nil {
		return fmt.Errorf("reconnect %s: %w", host, err)
	}
	s.Printf("Machine %s reconnected: it runs the cluster's configuration again.\n", host)
	return nil
}

// machinesWhere names the members that are disconnected (or not), by
// hostname, "" when there is none.
func machinesWhere(c shell.Cluster, flags map[string]bool, disconnected bool) string {
	ids, hosts := shell.MembersByHost(c)
	var out []string
	for i, id := range ids {
		if flags[id] == disconnected {
			out = append(out, hosts[i])
		}
	}
	return strings.Join(out, ", ")
}
