package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Cluster levels (issue 13). A clustered appliance's configuration lives at
// three levels, as on AsyncOS's Centralized Management: the cluster, the
// machine's group, and the machine itself. The unit of a level is a
// section: one top-level field of Config, named by its JSON tag
// ("listeners", "destinations", "dns" ...). A group or machine that holds a
// section overrides the whole section (AsyncOS overrides whole sections,
// never single keys); the effective configuration of a machine is the
// cluster's sections, replaced by its group's, replaced by its own.
//
// Where a section may live follows the AsyncOS guide:
//
//   - machine only: hostname (sethostname) and interfaces
//     (interfaceconfig): addresses and names cannot be shared, and
//     AsyncOS restricts both commands to machine mode;
//   - cluster only: users (userconfig, passwd): AsyncOS clusters share one
//     user database and administrator passphrase;
//   - everything else at any level, certificates included (the guide
//     recommends cluster level for them).
//
// One departure from AsyncOS: a new group or machine override starts as a
// copy of the section it inherited, not empty. AsyncOS's empty start
// (documented for LDAP queries) silently drops inherited settings on the
// machines of that group until someone refills it; a copy changes nothing
// until edited.

// LevelKind is one of the three levels.
type LevelKind string

// The levels, most general first.
const (
	LevelCluster LevelKind = "Cluster"
	LevelGroup   LevelKind = "Group"
	LevelMachine LevelKind = "Machine"
)

// Level names one place configuration lives: the cluster, a group by
// name, or a machine by its identity.
type Level struct {
	Kind LevelKind `json:"kind"`
	Name string    `json:"name,omitempty"` // group name, machine identity; empty for the cluster
}

// ClusterLevel is the cluster's own level.
var ClusterLevel = Level{Kind: LevelCluster}

func (l Level) String() string {
	if l.Kind == LevelCluster || l.Name == "" {
		return string(l.Kind)
	}
	return string(l.Kind) + " " + l.Name
}

// SectionScope says at which levels a section may be set.
type SectionScope int

// Section scopes.
const (
	AnyLevel    SectionScope = iota // cluster, group or machine
	MachineOnly                     // only the machine's own level
	ClusterOnly                     // only the cluster level
)

// sectionScopes holds the sections that are not AnyLevel (see above).
var sectionScopes = map[string]SectionScope{
	"hostname":   MachineOnly,
	"interfaces": MachineOnly,
	"users":      ClusterOnly,
}

// Errors of the level model.
var (
	// ErrMachineOnly is an edit of a machine-only section above the
	// machine level.
	ErrMachineOnly = errors.New("can only be configured in machine mode")
	// ErrClusterOnly is an edit of a cluster-only section below the
	// cluster level.
	ErrClusterOnly = errors.New("can only be configured in cluster mode")
	// ErrNotMember is a machine that is not a member of the cluster.
	ErrNotMember = errors.New("is not a member of the cluster")
	// ErrUnknownSection is a section name Config does not have.
	ErrUnknownSection = errors.New("no such configuration section")
)

// ScopeOf is where section may be set.
func ScopeOf(section string) SectionScope { return sectionScopes[section] }

// section is one top-level field of Config.
type section struct {
	name  string
	index int
}

var sectionList = func() []section {
	t := reflect.TypeFor[Config]()
	var out []section
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, section{name: name, index: i})
	}
	return out
}()

// Sections lists the section names of Config, in field order.
func Sections() []string {
	out := make([]string, len(sectionList))
	for i, s := range sectionList {
		out[i] = s.name
	}
	return out
}

func sectionIndex(name string) (int, error) {
	for _, s := range sectionList {
		if s.name == name {
			return s.index, nil
		}
	}
	return 0, fmt.Errorf("%q: %w", name, ErrUnknownSection)
}

// Layer is what one level holds: the JSON value of each section it sets.
// A section absent from a group's or machine's layer is inherited.
type Layer map[string]json.RawMessage

// Clone copies the layer (the values are shared: they are never modified).
func (l Layer) Clone() Layer {
	out := make(Layer, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// SectionValue is the JSON of one section of c.
func SectionValue(c *Config, name string) (json.RawMessage, error) {
	i, err := sectionIndex(name)
	if err != nil {
		return nil, err
	}
	return mustJSON(reflect.ValueOf(c).Elem().Field(i)), nil
}

// SetSection replaces one section of c with a JSON value.
func SetSection(c *Config, name string, raw json.RawMessage) error {
	i, err := sectionIndex(name)
	if err != nil {
		return err
	}
	f := reflect.ValueOf(c).Elem().Field(i)
	fresh := reflect.New(f.Type())
	if err := json.Unmarshal(raw, fresh.Interface()); err != nil {
		return fmt.Errorf("section %s: %w", name, err)
	}
	f.Set(fresh.Elem())
	return nil
}

// LayerOf splits c into a layer of every section that scope admits at
// kind: the cluster layer of a new cluster, the machine layer of a joining
// machine.
func LayerOf(c *Config, kind LevelKind) Layer {
	out := Layer{}
	for _, s := range sectionList {
		if allowed(s.name, kind) == nil {
			out[s.name], _ = SectionValue(c, s.name)
		}
	}
	return out
}

// allowed checks that section may be set at kind.
func allowed(section string, kind LevelKind) error {
	switch ScopeOf(section) {
	case MachineOnly:
		if kind != LevelMachine {
			return fmt.Errorf("%s %w", section, ErrMachineOnly)
		}
	case ClusterOnly:
		if kind != LevelCluster {
			return fmt.Errorf("%s %w", section, ErrClusterOnly)
		}
	}
	return nil
}

// Levels is a cluster's whole configuration: the cluster layer, one layer
// per group and one per machine (by machine identity).
type Levels struct {
	Cluster  Layer            `json:"cluster"`
	Groups   map[string]Layer `json:"groups"`
	Machines map[string]Layer `json:"machines"`
	// Membership maps each member machine to its group. A machine that
	// left keeps its layer (detached) but no membership.
	Membership map[string]string `json:"membership"`
}

// NewLevels is the configuration of a cluster a standalone appliance
// creates: its settings become the cluster's (as on AsyncOS), except the
// machine-only ones, which stay its own.
func NewLevels(standalone *Config, group, machine string) *Levels {
	return &Levels{
		Cluster:    LayerOf(standalone, LevelCluster),
		Groups:     map[string]Layer{group: {}},
		Machines:   map[string]Layer{machine: machineLayer(standalone)},
		Membership: map[string]string{machine: group},
	}
}

// machineLayer is the machine-only sections of c.
func machineLayer(c *Config) Layer {
	out := Layer{}
	for _, s := range sectionList {
		if ScopeOf(s.name) == MachineOnly {
			out[s.name], _ = SectionValue(c, s.name)
		}
	}
	return out
}

// Clone copies the levels.
func (l *Levels) Clone() *Levels {
	out := &Levels{Cluster: l.Cluster.Clone(), Groups: map[string]Layer{}, Machines: map[string]Layer{}, Membership: map[string]string{}}
	for k, v := range l.Membership {
		out.Membership[k] = v
	}
	for k, v := range l.Groups {
		out.Groups[k] = v.Clone()
	}
	for k, v := range l.Machines {
		out.Machines[k] = v.Clone()
	}
	return out
}

// layer is the layer of a level, nil when it has none.
func (l *Levels) layer(at Level) Layer {
	switch at.Kind {
	case LevelCluster:
		return l.Cluster
	case LevelGroup:
		return l.Groups[at.Name]
	default:
		return l.Machines[at.Name]
	}
}

// Origins tells, for each section of an effective configuration, the level
// its value comes from (showconfig prints it).
type Origins map[string]Level

// Effective is the configuration a member machine runs, and where each
// section comes from.
func (l *Levels) Effective(machine string) (*Config, Origins, error) {
	group, ok := l.GroupOf(machine)
	if !ok {
		return nil, nil, fmt.Errorf("machine %s: %w", machine, ErrNotMember)
	}
	return l.resolve([]Level{ClusterLevel, {LevelGroup, group}, {LevelMachine, machine}})
}

// View is what a session editing at level at sees, on the machine it is
// logged in to: the cluster level shows the cluster's
// sections, a group adds its overrides, a machine is its effective
// configuration. The machine-only sections are always the session's own
// machine's, so that a view is a whole configuration the commit check can
// judge (listeners name interfaces).
func (l *Levels) View(at Level, machine string) (*Config, Origins, error) {
	chain := []Level{ClusterLevel}
	switch at.Kind {
	case LevelGroup:
		chain = append(chain, at)
	case LevelMachine:
		return l.Effective(at.Name)
	}
	c, origins, err := l.resolve(chain)
	if err != nil {
		return nil, nil, err
	}
	own := Level{LevelMachine, machine}
	for name, raw := range l.Machines[machine] {
		if ScopeOf(name) != MachineOnly {
			continue
		}
		if err := SetSection(c, name, raw); err != nil {
			return nil, nil, err
		}
		origins[name] = own
	}
	return c, origins, nil
}

// resolve overlays the layers of chain, most general first.
func (l *Levels) resolve(chain []Level) (*Config, Origins, error) {
	c := new(Config)
	origins := Origins{}
	for _, at := range chain {
		for name, raw := range l.layer(at) {
			if err := SetSection(c, name, raw); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", at, err)
			}
			origins[name] = at
		}
	}
	return c, origins, nil
}

// GroupOf is the group of a member machine.
func (l *Levels) GroupOf(machine string) (string, bool) {
	if l.Membership == nil {
		return "", false
	}
	g, ok := l.Membership[machine]
	return g, ok
}

// Stage records the edits a session made at level at: every section
// whose value differs between base (the view the session started from)
// and cand becomes the level's own value, whole. It returns the sections
// it set, sorted.
func (l *Levels) Stage(at Level, base, cand *Config) ([]string, error) {
	var changed []string
	for _, s := range sectionList {
		b, _ := SectionValue(base, s.name)
		c, _ := SectionValue(cand, s.name)
		if bytes.Equal(b, c) {
			continue
		}
		if err := allowed(s.name, at.Kind); err != nil {
			return nil, err
		}
		changed = append(changed, s.name)
	}
	layer := l.layer(at)
	if layer == nil {
		layer = Layer{}
		l.setLayer(at, layer)
	}
	for _, name := range changed {
		layer[name], _ = SectionValue(cand, name)
	}
	sort.Strings(changed)
	return changed, nil
}

func (l *Levels) setLayer(at Level, layer Layer) {
	switch at.Kind {
	case LevelCluster:
		l.Cluster = layer
	case LevelGroup:
		if l.Groups == nil {
			l.Groups = map[string]Layer{}
		}
		l.Groups[at.Name] = layer
	default:
		if l.Machines == nil {
			l.Machines = map[string]Layer{}
		}
		l.Machines[at.Name] = layer
	}
}

// Inherit drops level at's own value of section, so it inherits again.
// A machine-only section cannot be dropped: there is nothing to inherit.
func (l *Levels) Inherit(at Level, section string) error {
	if _, err := sectionIndex(section); err != nil {
		return err
	}
	if at.Kind == LevelCluster || ScopeOf(section) == MachineOnly {
		return fmt.Errorf("%s at %s: nothing to inherit from", section, at)
	}
	delete(l.layer(at), section)
	return nil
}

// Join adds a machine to group. A machine that was a member before finds
// the layer it left behind (rejoin restores its machine-level settings);
// a new one brings only its machine-only sections: everything else it
// takes from the cluster, as on AsyncOS.
func (l *Levels) Join(local *Config, group, machine string) {
	if l.Groups[group] == nil {
		l.setLayer(Level{LevelGroup, group}, Layer{})
	}
	if l.Membership == nil {
		l.Membership = map[string]string{}
	}
	l.Membership[machine] = group
	layer := l.Machines[machine]
	if layer == nil {
		layer = Layer{}
	}
	for name, raw := range machineLayer(local) {
		layer[name] = raw
	}
	l.setLayer(Level{LevelMachine, machine}, layer)
}

// Leave ends machine's membership and returns its effective configuration,
// which it goes on running standalone. Its layer stays (detached), so a
// later Join restores its machine-level settings.
func (l *Levels) Leave(machine string) (*Config, error) {
	c, _, err := l.Effective(machine)
	if err != nil {
		return nil, err
	}
	delete(l.Membership, machine)
	return c, nil
}

// Detached lists the machines whose layer is kept without membership.
func (l *Levels) Detached() []string {
	var out []string
	for m := range l.Machines {
		if _, ok := l.Membership[m]; !ok {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
