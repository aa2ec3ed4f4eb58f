package main

import (
	"esash/config"
	"esash/console"
	"esash/lifecycle"
	"esash/mta"
	"esash/sshd"
	"esash/web"
)

// The services the appliance supervises keep the lifecycle contract: the
// compiler checks it here, where they meet.
var (
	_ lifecycle.Preparer[*config.Config] = (*mta.Server)(nil)
	_ lifecycle.Preparer[*config.Config] = (*sshd.Server)(nil)
	_ lifecycle.Preparer[*config.Config] = (*web.Server)(nil)

	_ lifecycle.Closer = (*mta.Server)(nil)
	_ lifecycle.Closer = (*sshd.Server)(nil)
	_ lifecycle.Closer = (*web.Server)(nil)
	_ lifecycle.Closer = (*console.Acceptor)(nil)
	_ lifecycle.Closer = (*confirmWatcher)(nil)
)
