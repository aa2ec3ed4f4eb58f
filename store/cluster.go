package store

// MemberStatus is one machine of a cluster as clusterconfig LIST and
// CONNSTATUS show it: its group and the newest revision it runs.
type MemberStatus struct {
	ID, Group, Hostname string
	Applied             uint64 // the cluster revision it last processed
	ApplyError          string // why it could not activate that revision, if so
}
