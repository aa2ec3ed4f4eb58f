package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"esash/resolver/dnstest"
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
			env.Values[testingKey{}] = env.T()
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"dnsserve": dnsServe,
		},
	})
}

type testingKey struct{}

// dnsServe is the script command `dnsserve`: it serves scriptZones with
// NSD and a validating Unbound (esash/resolver/dnstest) until the script
// ends, and sets DNS_AUTH and DNS_RESOLVER (ip:port) and their _IP and
// _PORT parts for the script.
func dnsServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: dnsserve")
	}
	srv := dnstest.Start(ts.Value(testingKey{}).(testing.TB), scriptZones...)
	for name, addr := range map[string]string{"DNS_AUTH": srv.Auth, "DNS_RESOLVER": srv.Resolver} {
		ip, port, _ := net.SplitHostPort(addr)
		ts.Setenv(name, addr)
		ts.Setenv(name+"_IP", ip)
		ts.Setenv(name+"_PORT", port)
	}
}

// scriptZones are the zones dnsserve serves: signed.test signed (its
// answers authenticated through DNS_RESOLVER), plain.test unsigned, and
// the reverse zone of 127.0.0.0/24.
var scriptZones = []dnstest.Zone{
	{Origin: "signed.test", Signed: true, Records: []string{"@ IN MX 10 mx", "mx IN A 127.0.0.9", `@ IN TXT "v=spf1 -all"`}},
	{Origin: "plain.test", Records: []string{"@ IN MX 10 mx", "mx IN A 127.0.0.10", `@ IN TXT "v=spf1 mx -all"`, "www IN CNAME mx"}},
	{Origin: "0.0.127.in-addr.arpa", Records: []string{"10 IN PTR mx.plain.test."}},
}

var loopbackSeq atomic.Uint32

// nextLoopback hands out a loopback address per test appliance: 127.A.x.y
// with A from the process id, so two test processes running at once (two
// packages, two developers) do not meet either.
func nextLoopback() string {
	n := loopbackSeq.Add(1)
	return fmt.Sprintf("127.%d.%d.%d", 10+os.Getpid()%190, n/250%250, n%250+1)
}
