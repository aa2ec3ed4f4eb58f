// Command esash is the appliance: `esash serve` runs the daemon that owns a
// data directory (configuration store, and in time the MTA, SSH and HTTPS);
// `esash` opens the AsyncOS-style shell on it, attached to the daemon when
// one runs, or on an appliance run in-process for the life of the shell.
//
// This is the only package that knows every part; it wires them and holds
// no logic of its own beyond that.
package main

import (
	"context"
	"os"
	"runtime"
)

func main() {
	// The queue's fdatasync blocks its thread; with a single P the Go
	// scheduler hands that P to another thread only at sysmon's next tick
	// (up to 10 ms), and every SMTP session waits meanwhile. A second P
	// lets sessions run during the sync even on a one-core machine.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
