package shell

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"esash/config"
	"esash/store"
)

// Cluster is what a session needs of the cluster the appliance belongs to
// (issue 13): nil on a standalone appliance, which then asks no cluster
// question and shows its hostname as the prompt. The cluster backend
// (store/etcdstore) implements it; the shell does not know etcd.
type Cluster interface {
	// Name is the cluster's name; Machine this machine's identity.
	Name() string
	Machine() string
	// Groups lists the groups; Members maps each member machine to its
	// hostname, for the prompt and the lists.
	Groups() []string
	Members() map[string]string
	// At is the backend of a session editing at level.
	At(level config.Level) store.Backend
	// List reads the groups, the members and what each runs, at one
	// revision; AddGroup and SetGroup change membership, each as a
	// revision of its own.
	List(ctx context.Context) (store.ClusterStatus, error)
	AddGroup(ctx context.Context, group string, meta store.Meta) error
	SetGroup(ctx context.Context, machine, group string, meta store.Meta) error
	// RenameGroup, DeleteGroup, RemoveMachine (another machine) and
	// SetName: clusterconfig's other membership changes; Leave ends this
	// machine's membership, returning the configuration it runs on.
	RenameGroup(ctx context.Context, from, to string, meta store.Meta) error
	DeleteGroup(ctx context.Context, group string, meta store.Meta) error
	RemoveMachine(ctx context.Context, machine string, meta store.Meta) error
	SetName(ctx context.Context, name string, meta store.Meta) error
	Leave(ctx context.Context, meta store.Meta) (*config.Config, error)
	// Layer is the sections level holds itself, and Origins where each
	// section of a session's view at level comes from, both in the newest
	// revision seen (the §1.4 questions, clusterquestions.go).
	Layer(level config.Level) config.Layer
	Origins(level config.Level) config.Origins
	// Disconnect and Reconnect detach a member machine from the cluster's
	// synchronisation and attach it again, each a revision of its own;
	// Disconnected reads which machines are detached now; Held tells,
	// without asking etcd, whether this machine is, and which cluster
	// revision it runs meanwhile (clusterdisconnect.go).
	Disconnect(ctx context.Context, machine string, meta store.Meta) error
	Reconnect(ctx context.Context, machine string, meta store.Meta) error
	Disconnected(ctx context.Context) (map[string]bool, error)
	Held() (rev uint64, held bool)
}

// MembersByHost lists the member machines sorted by hostname, with
// their identities.
func MembersByHost(c Cluster) (ids, hosts []string) {
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

// ErrStaged refuses a change of level with changes staged: a draft
// belongs to one level.
var ErrStaged = errors.New("there are uncommitted changes at the current mode: commit or clear them first")

// ErrDisconnected refuses a commit on a disconnected machine
// (clusterdisconnect.go): it would not run what it committed.
var ErrDisconnected = errors.New("this machine is disconnected from the cluster: commit refused")

// clusterSession is a session's place in the cluster.
type clusterSession struct {
	level   config.Level
	backend store.Backend // the level's backend; nil: the shell's
}

// Cluster is the appliance's cluster, nil when standalone.
func (s *Session) Cluster() Cluster {
	if s.shell.left.Load() {
		return nil
	}
	return s.shell.cluster()
}

// ClusterLeft records that this machine left its cluster (the cluster
// store's Leave succeeded): from now on every session is standalone,
// and the daemon's LeftCluster hook runs.
func (s *Session) ClusterLeft() {
	if s.shell.left.Swap(true) {
		return
	}
	s.leftCluster()
	if f := s.shell.opts.LeftCluster; f != nil {
		f()
	}
}

// leftCluster moves a session that still edits a cluster level to the
// local store, once the machine left: its draft belonged to the cluster.
func (s *Session) leftCluster() {
	if s.cluster.backend == nil || !s.shell.left.Load() {
		return
	}
	if s.Draft.Changed() {
		s.Println("This machine left the cluster: the uncommitted changes were discarded.")
	}
	s.cluster = clusterSession{}
	s.Draft = store.NewDraft(s.shell.db, s.User, s.Source)
}

// Level is the level the session edits (the cluster's when standalone).
func (s *Session) Level() config.Level { return s.cluster.level }

// SetLevel moves the session to another level: its draft starts over at
// that level's view. Refused with changes staged.
func (s *Session) SetLevel(level config.Level) error {
	c := s.Cluster()
	if c == nil {
		return errors.New("this command is only available on cluster system")
	}
	if s.Draft.Changed() {
		return ErrStaged
	}
	b := heldGuard{Backend: c.At(level), c: c}
	s.cluster = clusterSession{level: level, backend: b}
	s.Draft = store.NewDraft(b, s.User, s.Source)
	return nil
}

// backend is the store the session reads and commits through.
func (s *Session) backend() store.Backend {
	if s.cluster.backend != nil && !s.shell.left.Load() {
		return s.cluster.backend
	}
	return s.shell.db
}

// joinCluster puts a new session of a clustered appliance at the cluster
// level, where AsyncOS sessions start.
func (s *Session) joinCluster() {
	if c := s.Cluster(); c != nil {
		_ = s.SetLevel(config.ClusterLevel)
	}
}

// clusterPrompt is the prompt of a clustered session: (Cluster <name>)>,
// (Group <name>)>, (Machine <hostname>)>. Empty when standalone.
func (s *Session) clusterPrompt() string {
	c := s.Cluster()
	if c == nil {
		return ""
	}
	l := s.cluster.level
	switch l.Kind {
	case config.LevelGroup:
		return fmt.Sprintf("(Group %s)> ", l.Name)
	case config.LevelMachine:
		host := c.Members()[l.Name]
		if host == "" {
			host = l.Name
		}
		return fmt.Sprintf("(Machine %s)> ", host)
	}
	return fmt.Sprintf("(Cluster %s)> ", c.Name())
}

// clusterBackend is the cluster level's backend, for changes that are
// cluster-only whatever the session's level (passwd: one user database);
// the shell's store when standalone.
func (s *Session) clusterBackend() store.Backend {
	if c := s.Cluster(); c != nil {
		return heldGuard{Backend: c.At(config.ClusterLevel), c: c}
	}
	return s.shell.db
}
