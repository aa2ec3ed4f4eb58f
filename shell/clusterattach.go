package shell

// clusterRef boxes the attached cluster for an atomic pointer.
type clusterRef struct{ c Cluster }

// AttachCluster makes the appliance clustered while it runs (clusterconfig
// create or join, or a daemon whose etcd store opened after the shell):
// sessions see the cluster from their next command on.
func (sh *Shell) AttachCluster(c Cluster) {
	sh.attached.Store(&clusterRef{c})
	if c != nil {
		sh.left.Store(false) // a machine that left may join again
	}
}

// cluster is the attached cluster, else Options.Cluster.
func (sh *Shell) cluster() Cluster {
	if r := sh.attached.Load(); r != nil {
		return r.c
	}
	return sh.opts.Cluster
}
