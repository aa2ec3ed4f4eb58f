package shell

import (
	"bytes"
	"encoding/json"
	"fmt"

	"esash/config"
)

// The cluster questions of asyncos-cli.md §1.4: on a clustered machine a
// configuration command first asks about the cluster mode, before its own
// first question; a standalone appliance asks none (its scripts keep
// working unchanged).
//
// commandSections is the table that tells which sections each command
// edits (commands do not import the store, and a command's sections are
// the level model's business, not the command's). A command absent from
// it edits no section (status, showconfig, commit, clustermode ...) and is
// asked nothing.
//
// Decisions where the reference is inferred ([I]):
//
//   - A command's settings are "configured" at a level when the level
//     holds every section the command edits, or the session's draft
//     changed it (it becomes the level's at commit); the questions then
//     configure the missing ones only (a level that holds some keeps them).
//   - "Switch modes to edit at mode X": X is where this session's view of
//     the command's settings comes from, the most specific such level.
//   - "Start a new, empty configuration": empty is the factory value of
//     each section (config.Factory: the default destination controls, DNS
//     from the root servers, no listeners of its own...), except the
//     certificates section, which starts with no certificate at all (the
//     factory's Demo certificate is generated per appliance, there is none
//     to start a level with): what refers to a certificate the level no
//     longer has is refused at commit, naming it.
//   - "Copy settings from another cluster mode": the modes offered are
//     the cluster and every group and member machine that holds all the
//     command's sections, other than the session's own level.
//   - Both answers change the session's draft like any edit: committed by
//     commit, dropped by clear or Ctrl-C. A start whose value equals what
//     the level inherits records nothing until edited (levels.go: an
//     override is the sections an edit changed), so the notice comes again
//     until then.
//   - A machine-only command (sethostname, interfaceconfig) at another
//     level asks to switch to this machine's machine mode, default yes;
//     a cluster-only one (userconfig, sshconfig: keys belong to users)
//     asks to switch to the cluster mode.
//     Answering no leaves the command.
var commandSections = map[string][]string{
	"sethostname":       {"hostname"},
	"interfaceconfig":   {"interfaces"},
	"listenerconfig":    {"listeners", "listener_setup"},
	"certconfig":        {"certificates", "certauthority", "crls"},
	"destconfig":        {"destinations"},
	"deliveryconfig":    {"delivery"},
	"smtproutes":        {"smtproutes"},
	"alertconfig":       {"alerts"},
	"ldapconfig":        {"ldap"},
	"websecurityconfig": {"websecurity"},
	"dnsconfig":         {"dns"},
	"sslconfig":         {"ssl"},
	"userconfig":        {"users"},
	"sshconfig":         {"users"}, // SSH keys are the users'
}

// CommandSections is the sections command edits (nil: none).
func CommandSections(command string) []string { return commandSections[command] }

// The answers of "What would you like to do?".
var modeChoices = []string{
	`Switch modes to edit at mode "%s".`,
	"Start a new, empty configuration at the current mode.",
	"Copy settings from another cluster mode to the current mode.",
}

// clusterQuestions asks the §1.4 questions for command. It may move the
// session to another level; the start it returns (nil: nothing to do) is
// applied to the draft once the command's edits are recorded from there
// on, so that Ctrl-C drops it with them. ErrBack: the administrator
// chose not to run the command.
func (s *Session) clusterQuestions(command string) (start func() error, err error) {
	c, sections := s.Cluster(), commandSections[command]
	if c == nil || len(sections) == 0 {
		return nil, nil
	}
	if err := s.askDisconnected(); err != nil {
		return nil, err
	}
	switch config.ScopeOf(sections[0]) {
	case config.MachineOnly:
		own := config.Level{Kind: config.LevelMachine, Name: c.Machine()}
		return nil, s.askSwitch(own, fmt.Sprintf("This command is restricted to run in machine mode of the machine you are logged in to. Do you want to switch to %q mode?", s.ModeName(own)))
	case config.ClusterOnly:
		m := s.ModeName(config.ClusterLevel)
		return nil, s.askSwitch(config.ClusterLevel, fmt.Sprintf("This command is restricted to %q mode. Would you like to switch to %q mode?", m, m))
	}
	at := s.Level()
	if at.Kind == config.LevelCluster {
		return nil, nil // the base of every view: it has nothing to inherit
	}
	missing := s.unstaged(missingSections(c.Layer(at), sections))
	if len(missing) == 0 {
		return nil, nil
	}
	from := s.viewOrigin(sections)
	s.Printf("NOTICE: This configuration command has not yet been configured for the current cluster mode (%s).\n", s.ModeName(at))
	items := []string{fmt.Sprintf(modeChoices[0], s.ModeName(from)), modeChoices[1], modeChoices[2]}
	i, err := s.Choose("What would you like to do?", items, 1, false)
	if err != nil {
		return nil, err
	}
	switch i {
	case 0:
		return nil, s.switchLevel(from)
	case 1:
		return func() error { return s.startSections(missing, emptySection) }, nil
	}
	src, err := s.chooseCopySource(sections)
	if err != nil {
		return nil, err
	}
	layer := c.Layer(src)
	return func() error {
		return s.startSections(missing, func(name string) (json.RawMessage, error) { return layer[name], nil })
	}, nil
}

// askSwitch asks to move to level want unless the session is there.
func (s *Session) askSwitch(want config.Level, question string) error {
	if s.Level() == want {
		return nil
	}
	yes, err := s.YesNo(question, true)
	if err != nil {
		return err
	}
	if !yes {
		return ErrBack
	}
	return s.switchLevel(want)
}

func (s *Session) switchLevel(to config.Level) error {
	if err := s.SetLevel(to); err != nil {
		return fmt.Errorf("switch to %s: %w", s.ModeName(to), err)
	}
	return nil
}

// missingSections are those of sections layer does not hold.
func missingSections(layer config.Layer, sections []string) []string {
	var out []string
	for _, sec := range sections {
		if _, ok := layer[sec]; !ok {
			out = append(out, sec)
		}
	}
	return out
}

// unstaged drops the sections the draft changed: a session that started
// them (or edited them) configures them at its level with its commit.
func (s *Session) unstaged(sections []string) []string {
	var out []string
	for _, sec := range sections {
		base, _ := config.SectionValue(s.Draft.Base().Config, sec)
		cur, _ := config.SectionValue(s.Draft.Config(), sec)
		if bytes.Equal(base, cur) {
			out = append(out, sec)
		}
	}
	return out
}

// viewOrigin is the most specific level this session's view of sections
// comes from.
func (s *Session) viewOrigin(sections []string) config.Level {
	origins := s.Cluster().Origins(s.Level())
	best := config.ClusterLevel
	for _, sec := range sections {
		if o, ok := origins[sec]; ok && rank(o) > rank(best) {
			best = o
		}
	}
	return best
}

func rank(l config.Level) int {
	switch l.Kind {
	case config.LevelMachine:
		return 2
	case config.LevelGroup:
		return 1
	}
	return 0
}

// chooseCopySource lists the other modes that hold every one of sections.
func (s *Session) chooseCopySource(sections []string) (config.Level, error) {
	c := s.Cluster()
	var levels []config.Level
	var names []string
	candidates := []config.Level{config.ClusterLevel}
	for _, g := range c.Groups() {
		candidates = append(candidates, config.Level{Kind: config.LevelGroup, Name: g})
	}
	ids, _ := MembersByHost(c)
	for _, id := range ids {
		candidates = append(candidates, config.Level{Kind: config.LevelMachine, Name: id})
	}
	for _, l := range candidates {
		if l != s.Level() && len(missingSections(c.Layer(l), sections)) == 0 {
			levels, names = append(levels, l), append(names, s.ModeName(l))
		}
	}
	if len(names) == 0 {
		s.Println("No other cluster mode has these settings to copy.")
		return config.Level{}, ErrBack
	}
	i, err := s.Choose("Choose the mode from which to copy settings.", names, 1, false)
	if err != nil {
		return config.Level{}, err
	}
	return levels[i], nil
}

// startSections sets each of sections in the draft to value's.
func (s *Session) startSections(sections []string, value func(string) (json.RawMessage, error)) error {
	return s.Draft.Update(func(c *config.Config) error {
		for _, sec := range sections {
			raw, err := value(sec)
			if err != nil {
				return err
			}
			if err := config.SetSection(c, sec, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// emptySection is a section's "new, empty configuration" (see above).
func emptySection(name string) (json.RawMessage, error) {
	f := config.Factory(config.Certificate{})
	f.Certificates = nil
	return config.SectionValue(f, name)
}

// ModeName names a level as prompts and questions show it: Cluster
// <name>, Group <name>, Machine <hostname>.
func (s *Session) ModeName(l config.Level) string {
	c := s.Cluster()
	switch l.Kind {
	case config.LevelGroup:
		return "Group " + l.Name
	case config.LevelMachine:
		host := l.Name
		if c != nil && c.Members()[l.Name] != "" {
			host = c.Members()[l.Name]
		}
		return "Machine " + host
	}
	name := ""
	if c != nil {
		name = c.Name()
	}
	return "Cluster " + name
}
