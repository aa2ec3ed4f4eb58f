package clusterconfig

import (
	"errors"
	"fmt"
	"strings"

	"esash/config"
	"esash/shell"
)

// The clustered menu's operations beyond this slice's first four:
// RENAMEGROUP, DELETEGROUP, REMOVEMACHINE (which, naming the machine the
// session runs on, leaves the cluster) and SETNAME. The decisions are in
// the package comment.

// errLeft ends the clustered menu once this machine left the cluster.
var errLeft = errors.New("left the cluster")

func renameGroup(s *shell.Session, c shell.Cluster, from, to string) error {
	groups := c.Groups()
	if from == "" {
		i, err := s.Choose("Choose the group to rename.", groups, 0, true)
		if err != nil {
			return err
		}
		from = groups[i]
	}
	if to == "" {
		var err error
		if to, err = s.Ask("Enter the new name of the group.", "", checkGroup); err != nil {
			return err
		}
	} else if msg := checkGroup(to); msg != "" {
		return shell.Invalid(s, "group", msg)
	}
	if err := c.RenameGroup(s.Ctx, from, to, meta(s)); err != nil {
		return fmt.Errorf("rename group %s: %w", from, err)
	}
	// A session at the renamed group follows it (when it has nothing
	// staged: a draft belongs to its level).
	if l := s.Level(); l.Kind == config.LevelGroup && l.Name == from {
		_ = s.SetLevel(config.Level{Kind: config.LevelGroup, Name: to})
	}
	s.Printf("Cluster group %s renamed to %s.\n", from, to)
	return nil
}

func deleteGroup(s *shell.Session, c shell.Cluster, group string) error {
	if group == "" {
		groups := c.Groups()
		i, err := s.Choose("Choose the group to remove.", groups, 0, true)
		if err != nil {
			return err
		}
		group = groups[i]
	}
	if err := c.DeleteGroup(s.Ctx, group, meta(s)); err != nil {
		return fmt.Errorf("delete group %s: %w", group, err)
	}
	s.Printf("Cluster group %s removed.\n", group)
	return nil
}

// removeMachine removes a machine; the one the session runs on leaves.
// confirm: the interactive dialog asks first; the batch form does not.
func removeMachine(s *shell.Session, c shell.Cluster, machine string, confirm bool) error {
	ids, hosts := shell.MembersByHost(c)
	i := -1
	if machine == "" {
		var err error
		if i, err = s.Choose("Choose the machine to remove from the cluster.", hosts, 0, true); err != nil {
			return err
		}
	} else {
		for j, h := range hosts {
			if strings.EqualFold(h, machine) || ids[j] == machine {
				i = j
			}
		}
		if i < 0 {
			return shell.Invalid(s, "machine", fmt.Sprintf("Not a valid machine: %q. The machines are %s.", machine, strings.Join(hosts, ", ")))
		}
	}
	self := ids[i] == c.Machine()
	if confirm {
		q := fmt.Sprintf("Are you sure you want to remove the machine %s from the cluster?", hosts[i])
		if self {
			q = fmt.Sprintf("%s is the machine you are logged in to: it will leave the cluster and go on with its current configuration as a standalone appliance. Are you sure you want to remove it from the cluster?", hosts[i])
		}
		yes, err := s.YesNo(q, false)
		if err != nil {
			return err
		}
		if !yes {
			s.Printf("Machine %s was not removed.\n", hosts[i])
			return nil
		}
	}
	if self {
		if _, err := c.Leave(s.Ctx, meta(s)); err != nil {
			return fmt.Errorf("leave cluster %s: %w", c.Name(), err)
		}
		s.ClusterLeft()
		s.Printf("Machine %s left the cluster; it is a standalone appliance now. Its machine-level settings stay with the cluster for a rejoin.\n", hosts[i])
		if confirm {
			return errLeft
		}
		return nil
	}
	if err := c.RemoveMachine(s.Ctx, ids[i], meta(s)); err != nil {
		return fmt.Errorf("remove machine %s: %w", hosts[i], err)
	}
	s.Printf("Machine %s removed from the cluster.\n", hosts[i])
	return nil
}

// checkName accepts a cluster name: one word, as prompts show it.
func checkName(name string) string {
	if name == "" || strings.ContainsAny(name, "/ \t()") {
		return "The value must be a cluster name without spaces, slashes or parentheses."
	}
	return ""
}

func setName(s *shell.Session, c shell.Cluster, name string) error {
	if name == "" {
		var err error
		if name, err = s.Ask("Enter the new name of the cluster.", c.Name(), checkName); err != nil {
			return err
		}
	} else if msg := checkName(name); msg != "" {
		return shell.Invalid(s, "name", msg)
	}
	if err := c.SetName(s.Ctx, name, meta(s)); err != nil {
		return fmt.Errorf("set cluster name: %w", err)
	}
	s.Printf("Cluster name set to %s.\n", name)
	return nil
}
