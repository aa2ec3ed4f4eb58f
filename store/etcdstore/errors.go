package etcdstore

import (
	"errors"
	"fmt"

	"esash/store"
)

// Errors of the cluster backend.
var (
	// ErrNoQuorum is an etcd call that could not reach a quorum in time.
	ErrNoQuorum = errors.New("cluster has no quorum; commit refused")
	// ErrNotClustered is a data directory without a cluster.
	ErrNotClustered = errors.New("this machine is not part of a cluster")
	// ErrExists is a create over an existing cluster.
	ErrExists = errors.New("a cluster already exists at these endpoints")
	// ErrSealed is a sealed value that does not open with the data key.
	ErrSealed = errors.New("cannot decrypt a cluster value: wrong cluster data key")
	// ErrUnconfirmed is a commit sent to the cluster that did not confirm
	// it in time: whether it takes effect is unknown until the cluster
	// has its quorum again (a leader that lost it keeps the entry in its
	// log, and commits it if it leads again).
	ErrUnconfirmed = errors.New("the cluster did not confirm the commit in time; it may still take effect when the cluster has its quorum again: check with commitdetail")
	// ErrRaced is a commit that lost the race for head too many times.
	ErrRaced = errors.New("other machines kept committing; try again")
	// ErrNotKept is a revision older than the history the cluster keeps
	// (compact.go); it is also a store.ErrNotFound.
	ErrNotKept = fmt.Errorf("%w: no longer kept", store.ErrNotFound)
)

// Errors of membership changes.
var (
	// ErrNoGroup is a group the cluster does not have.
	ErrNoGroup = errors.New("no such group")
	// ErrGroupExists is a group added twice.
	ErrGroupExists = errors.New("group already exists")
)

// Errors of the clustered clusterconfig operations (groups.go).
var (
	// ErrGroupHasMembers is a group deleted while machines are in it.
	ErrGroupHasMembers = errors.New("group has machines: move them to another group first")
	// ErrLastGroup is the deletion of the cluster's only group.
	ErrLastGroup = errors.New("a cluster needs at least one group")
	// ErrRemoveSelf is REMOVEMACHINE naming the machine it runs on.
	ErrRemoveSelf = errors.New("cannot remove the machine you are logged in to: leave the cluster instead")
)

// Errors of DISCONNECT and RECONNECT (disconnect.go).
var (
	// ErrDisconnected is a machine disconnected twice.
	ErrDisconnected = errors.New("is disconnected already")
	// ErrConnected is a reconnect of a machine that is not disconnected.
	ErrConnected = errors.New("is not disconnected")
)
