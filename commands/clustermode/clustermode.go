// Package clustermode is the clustermode command: which level of the
// cluster (Cluster, Group, Machine) the session's configuration commands
// edit. The prompt shows it: (Cluster <name)>, (Group <name>)>,
// (Machine <hostname>)>.
//
// Decisions where the reference is inferred (asyncos-cli.md §14, [I-seq]
// from IAF's clustermode driver):
//
//   - The dialog is "Choose the configuration mode" with the numbered list
//     Cluster, Group, Machine (default: the current mode), then for Group
//     "Choose the group to configure." and for Machine "Choose a
//     machine.", both numbered lists that also take a name. IAF walks
//     exactly these questions in this order.
//   - Batch: `clustermode cluster` (seen in real scripts), and, by the same
//     pattern, `clustermode group <name>` and `clustermode machine
//     <hostname>`.
//   - With changes staged the mode does not change: a draft belongs to one
//     level, and moving it silently to another would commit it where the
//     administrator did not mean to (AsyncOS's behaviour here is unknown).
//   - On a standalone appliance the command prints "This command is only
//     available on cluster system." (the reference's substring) and does
//     nothing else; it does not fail, so a script written for a cluster
//     (`clustermode cluster; ...`) runs unchanged on a standalone box.
package clustermode

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is clustermode.
type Command struct{}

// New returns the clustermode command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "clustermode" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Set which level of the cluster configuration commands edit" }

// Standalone is what a standalone appliance answers.
const Standalone = "This command is only available on cluster system."

var modes = []string{"Cluster", "Group", "Machine"}

// Run asks for the mode or takes it as batch arguments.
func (Command) Run(s *shell.Session, args []string) error {
	c := s.Cluster()
	if c == nil {
		s.Println(Standalone)
		return nil
	}
	level, err := chooseLevel(s, c, args)
	if err != nil {
		return err
	}
	return s.SetLevel(level)
}

func chooseLevel(s *shell.Session, c shell.Cluster, args []string) (config.Level, error) {
	if len(args) > 0 {
		return batchLevel(s, c, args)
	}
	def := slices.Index(modes, string(s.Level().Kind)) + 1
	i, err := s.Choose("Choose the configuration mode", modes, def, true)
	if err != nil {
		return config.Level{}, err
	}
	switch modes[i] {
	case "Group":
		groups := c.Groups()
		g, err := s.Choose("Choose the group to configure.", groups, 0, true)
		if err != nil {
			return config.Level{}, err
		}
		return config.Level{Kind: config.LevelGroup, Name: groups[g]}, nil
	case "Machine":
		ids, hosts := machines(c)
		m, err := s.Choose("Choose a machine.", hosts, 0, true)
		if err != nil {
			return config.Level{}, err
		}
		return config.Level{Kind: config.LevelMachine, Name: ids[m]}, nil
	}
	return config.ClusterLevel, nil
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

// batchLevel reads `cluster`, `group <name>` or `machine <hostname>`.
func batchLevel(s *shell.Session, c shell.Cluster, args []string) (config.Level, error) {
	switch strings.ToLower(args[0]) {
	case "cluster":
		if len(args) == 1 {
			return config.ClusterLevel, nil
		}
	case "group":
		if len(args) == 2 {
			for _, g := range c.Groups() {
				if strings.EqualFold(g, args[1]) {
					return config.Level{Kind: config.LevelGroup, Name: g}, nil
				}
			}
			return config.Level{}, shell.Invalid(s, "group", fmt.Sprintf("Not a valid group: %q. The groups are %s.", args[1], strings.Join(c.Groups(), ", ")))
		}
	case "machine":
		if len(args) == 2 {
			ids, hosts := machines(c)
			for i, h := range hosts {
				if strings.EqualFold(h, args[1]) || ids[i] == args[1] {
					return config.Level{Kind: config.LevelMachine, Name: ids[i]}, nil
				}
			}
			return config.Level{}, shell.Invalid(s, "machine", fmt.Sprintf("Not a valid machine: %q. The machines are %s.", args[1], strings.Join(hosts, ", ")))
		}
	}
	return config.Level{}, shell.Invalid(s, "mode", "Unknown option. Use: clustermode cluster | group <name> | machine <hostname>")
}
