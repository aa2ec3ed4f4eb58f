package shell

// LeaveCluster makes the appliance standalone while it runs, no session
// having asked: another member removed this machine from its cluster and
// the daemon noticed. Every session goes on standalone from its next
// command, as after Session.ClusterLeft (Options.LeftCluster is not
// called: the daemon is the caller).
func (sh *Shell) LeaveCluster() { sh.left.Store(true) }
