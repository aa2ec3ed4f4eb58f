package store

// ClusterStatus is a cluster as clusterconfig LIST and CONNSTATUS show
// it, read at one revision: its groups and its members' groups came from
// two reads, and a group renamed in between left its machines under no
// group shown.
type ClusterStatus struct {
	Name    string
	Groups  []string // sorted
	Members []MemberStatus
}

// MemberStatus is one machine of a cluster as clusterconfig LIST and
// CONNSTATUS show it: its group and the newest revision it runs.
type MemberStatus struct {
	ID, Group, Hostname string
	Applied             uint64 // the cluster revision it last processed
	ApplyError          string // why it could not activate that revision, if so
	Disconnected        bool   // clusterconfig DISCONNECT is in force for it
}
