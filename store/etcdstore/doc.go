// Package etcdstore is the cluster backend of the configuration store
// (issue 13): the configuration of every machine of a cluster lives in
// etcd, and each machine runs a store.Backend over it. It is the only
// package besides cmd/esash that imports etcd (deps_test.go).
//
// Dependencies: go.etcd.io/etcd/client/v3 and server/v3 (embed) v3.7.3,
// pinned in go.mod. etcd is the replication engine the architecture chose
// (commit-cluster-reliability.md B.2): transactions guarded by a
// revision, ordered resumable watches, and bbolt as its storage engine.
//
// # Key layout
//
// Every key lives under /esa/v1/:
//
//	name                          the cluster's name
//	head                          {"rev":n}: the cluster's revision, guarded by its ModRevision
//	cfg/cluster/<section>         sealed JSON of one section (config.Sections)
//	cfg/group/<group>/<section>   a group's whole-section override
//	cfg/machine/<id>/<section>    a machine's own sections; kept after it leaves (detached)
//	groups/<group>                a group exists (it may override nothing)
//	members/<id>                  {"group","hostname"}: present while the machine is a member
//	revs/<n, 20 digits>           {"meta","level","changes": sealed}: revision n
//	audit/<time>/<id>             one audit entry, in time order
//	status/<id>/applied           {"rev","error"}: the last revision the machine activated
//	disconnected/<id>             {"member"}: the machine is disconnected (disconnect.go)
//
// Every value under cfg/ and the changes of revs/ are sealed (AES-256-GCM,
// the key name as additional data) with the cluster data key, a random key
// every member keeps in its data directory (cluster.key, 0600): etcd does
// not encrypt at rest, and certificates carry private keys.
//
// # A commit
//
// A session edits at one level (config.Level): its draft is the level's
// view (config.Levels.View), a whole configuration. Commit reads the
// cluster at its current etcd revision; if the cluster's revision moved
// since the draft began it rebases the draft with store.MergeOver (setting
// by setting, or a *store.ConflictError with base, theirs and ours);
// config.Levels.Stage turns the edited sections into the level's own
// values; the commit check runs over the effective configuration of every
// member; the session's prepare step runs as a dry run on this machine.
// Then ONE Txn, guarded by the ModRevision of head, writes the changed
// sections, head, revs/<n> and the audit entry. A Txn that loses the race
// starts over from the read (a bounded number of times).
//
// # Applying
//
// Every member watches head. For each new head it reads the cluster at
// that etcd revision, resolves its effective configuration and commits it
// into its local bbolt store (store.DB) with the services' prepare step:
// the same prepare, write, activate path as a standalone commit, so the
// local store mirrors the last applied configuration and the appliance
// boots from it without etcd. A revision the services cannot take leaves
// the previous one running and is reported (status/<id>/applied and
// Options.OnApplyError). A watch that falls behind a compaction
// (ErrCompacted) reloads the cluster at its current revision.
//
// # Without quorum
//
// Every etcd call has a short deadline (Options.Timeout). A commit that
// cannot reach quorum fails with ErrNoQuorum; sessions still read the last
// configuration seen, and the services go on with what they run.
//
// # Not yet
//
// Commit confirmed is refused on a cluster (the timer needs a leader:
// client/v3/concurrency); sections are one key each, so one section is
// bounded by etcd's request size (1.5 MiB by default).
package etcdstore
