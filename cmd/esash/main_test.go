package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"esash": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the transcripts in testdata/script: each feeds a script
// to the real binary and compares what it printed with the golden text.
// ESASH_UPDATE=1 re-records the goldens.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       os.Getenv("ESASH_UPDATE") != "",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("ESASH_NOW", "2026-11-26T21:00:00Z")
			env.Setenv("ESASH_DATA", filepath.Join(env.WorkDir, "data"))
			// Every script gets its own loopback address, so appliances
			// running at the same time never compete for a port.
			env.Setenv("ESASH_FACTORY_IP", nextLoopback())
			return nil
		},
	})
}

var loopbackSeq atomic.Uint32

// nextLoopback hands out a loopback address per test appliance: 127.A.x.y
// with A from the process id, so two test processes running at once (two
// packages, two developers) do not meet either.
func nextLoopback() string {
	n := loopbackSeq.Add(1)
	return fmt.Sprintf("127.%d.%d.%d", 10+os.Getpid()%190, n/250%250, n%250+1)
}
