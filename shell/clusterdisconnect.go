package shell

import (
	"context"
	"fmt"

	"esash/store"
)

// A disconnected machine (clusterconfig DISCONNECT, issue 13) runs its
// last applied configuration and applies no cluster revision until it is
// reconnected. Its shell says so where AsyncOS's does (asyncos-cli-2.md
// §3.2: a text containing "is currently disconnected", then a yes/no to
// reconnect [S]): on entering clusterconfig, and before a configuration
// command's other cluster questions (§1.4).
//
// Decisions where the reference is inferred ([I]/[U]):
//
//   - The question is "Do you want to reconnect it?", default yes: staying
//     disconnected is the exception, for maintenance.
//   - A configuration command on a disconnected machine whose
//     administrator answers no is not run ("restricted ... while the
//     current host is disconnected", §3.4): what it committed would be
//     the cluster's, and this machine would not run it, so the dialog
//     would show a configuration the machine does not have. clusterconfig
//     goes on to its menu (LIST, CONNSTATUS and RECONNECT are what a
//     disconnected machine needs).
//   - For the same reason every commit of a session on a disconnected
//     machine is refused (ErrDisconnected): changes staged before the
//     machine was disconnected, rollbackconfig, passwd. AsyncOS lets a
//     disconnected machine keep machine-level changes of its own and
//     reconciles them at reconnect; here the cluster's configuration is
//     one etcd history, and a second one to reconcile is not built.
//   - Other machines may edit a disconnected machine's level (AsyncOS
//     refuses, §3.4 (c)): the change waits in etcd and the machine applies
//     it when it is reconnected, with everything else committed meanwhile.

// AskReconnect tells that this machine is disconnected, if it is, and
// offers to reconnect it. reconnected is false when it stays
// disconnected; held whether it was disconnected at all.
func (s *Session) AskReconnect() (held, reconnected bool, err error) {
	c := s.Cluster()
	if c == nil {
		return false, false, nil
	}
	rev, held := c.Held()
	if !held {
		return false, false, nil
	}
	host := c.Members()[c.Machine()]
	s.Printf("This machine (%s) is currently disconnected from the cluster: it runs cluster revision %d and applies no newer revision until it is reconnected.\n", host, rev)
	yes, err := s.YesNo("Do you want to reconnect it?", true)
	if err != nil || !yes {
		return true, false, err
	}
	if err := c.Reconnect(s.Ctx, c.Machine(), store.Meta{User: s.User, Source: s.Source}); err != nil {
		return true, false, fmt.Errorf("reconnect %s: %w", host, err)
	}
	s.Printf("Machine %s reconnected: it runs the cluster's configuration again.\n", host)
	return true, true, nil
}

// askDisconnected is the disconnected machine's question before a
// configuration command: ErrBack leaves the command.
func (s *Session) askDisconnected() error {
	held, reconnected, err := s.AskReconnect()
	if err != nil || !held || reconnected {
		return err
	}
	s.Println("The command was not run: this machine is disconnected, it would not run what the command commits.")
	return ErrBack
}

// heldGuard is a session's backend on a clustered machine: it refuses
// commits while the machine is disconnected.
type heldGuard struct {
	store.Backend
	c Cluster
}

// Commit implements store.Backend.
func (g heldGuard) Commit(ctx context.Context, req store.CommitRequest) (store.Result, error) {
	if rev, held := g.c.Held(); held {
		return store.Result{}, fmt.Errorf("%w; it runs cluster revision %d until it is reconnected (clusterconfig RECONNECT)", ErrDisconnected, rev)
	}
	return g.Backend.Commit(ctx, req)
}
