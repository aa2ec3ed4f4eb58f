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
//	revs/<n, 20 digits>           {"meta","level","changes": sealed}: revision n (the newest 100, History)
//	audit/<time>/<id>             one audit entry, in time order (the newest 1000, History)
//	status/<id>/applied           {"rev","error"}: the last revision the machine activated
//	confirm                       the commit awaiting confirmation, with its sealed undo (confirm.go)
//	confirm-leader                the member that reverts at the deadline, under its lease
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
// # History
//
// The cluster offers the same history as the standalone store: the
// newest store.KeepRevisions (100) revisions, the ones rollbackconfig
// lists. ConfigAt reads a revision at the etcd revision of its revs/<n>
// record, so etcd's MVCC history must reach back to the oldest one and no
// further: etcd's auto-compaction is left off (StartMember sets none; it
// counts time or etcd revisions, not ours) and compact.go compacts
// explicitly. The machine whose commit Txn made a revision that is a
// multiple of 10 prunes, right after the Txn: one Txn deletes the revs/
// records below the window and the audit entries beyond 10 per kept
// revision (1000; etcd would otherwise keep every key live forever), then
// clientv3 Compact at the etcd revision of the oldest record kept. The
// committer rather than an elected member: no lease or election, work in
// step with commits, and nothing to hand over when a machine dies; two
// committers pruning at once is harmless (a Compact at or below the
// current one answers ErrCompacted, ignored; the deletes are ranges). A
// failed prune does not fail the commit; the next one covers it, since it
// deletes everything below the window. A failure is reported to the
// appliance's log once (Options.OnHistoryError, a warning in cli_logs),
// and the first prune that works after it too. A revision outside the window is
// ErrNotKept (a store.ErrNotFound), checked against head and also when
// the read meets a compaction under it. A watch behind a compaction
// reloads (below); commit-confirmed reverts keep their own undo and need
// no history. etcd's raft log is held in memory between snapshots:
// members snapshot every 1000 entries (snapshotEvery, a tenth of etcd's
// default; a commit makes about five). Measured with `make bench-cluster`
// at 1000 commits per run (2002 cluster commits): the member's RSS added
// over standalone went from 49 MB without compaction to 33 MB with it and
// 22 MB with the shorter raft log, commit latency unchanged. Defragmenting
// etcd's bbolt file is not needed for
// correctness (freed pages are reused) and is not done.
//
// # Without quorum
//
// Every etcd call has a short deadline (Options.Timeout). A commit that
// cannot reach quorum fails with ErrNoQuorum; sessions still read the last
// configuration seen, and the services go on with what they run. A commit
// whose transaction etcd may have received without confirming it (the
// quorum went away between the read and the transaction, or the leader
// died with it) fails with ErrUnconfirmed instead: a leader keeps such an
// entry and commits it if it leads again, so it is not called refused.
//
// The services ready one configuration at a time: the watcher's apply
// and a session's dry run of the prepare step take turns (applyMu).
//
// # Commit confirmed
//
// As standalone (store/confirm.go), cluster-wide: the pending record is
// written in the commit's Txn and every member follows it; its author
// confirms from any member; the one member holding confirm-leader (a key
// under its etcd lease: a dead holder is replaced once the lease expires)
// reverts at the deadline with one Txn guarded by head and the record.
// The decisions are in confirm.go.
//
// # Not yet
//
// Sections are one key each, so one section is bounded by etcd's request
// size (1.5 MiB by default); a confirmed commit's Txn carries the previous
// values of the sections it writes too. A revert names the member that
// made it in the revision, but that member's cli_logs do not record it.
package etcdstore
