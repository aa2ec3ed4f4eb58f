package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

const usage = `usage:
  esash [--data DIR] [-c 'cmd1; cmd2 ...']   the shell
  esash serve [--data DIR] [--admin-key FILE] the daemon; FILE's public
                                             keys may log in over SSH as admin
        [--etcd-endpoints URLS --etcd-tls TLSDIR]
                                             a cluster created here uses the
                                             external etcd at URLS (comma-
                                             separated), TLSDIR holding ca.crt,
                                             member.crt and member.key
        [--etcd-peer-port PORT] [--etcd-client-port PORT]
                                             ports of this machine's etcd
                                             member (default: those of the
                                             cluster joined, else 2380, 2379)
DIR defaults to $ESASH_DATA, else ./esash-data.
`

// options are what the command line selects.
type options struct {
	dataDir string
	batch   *string
	now     func() time.Time
	// adminKey is an authorized_keys file for the admin account (serve).
	adminKey string
	// etcdEndpoints and etcdTLS point a cluster created by this daemon at
	// an external etcd (serve; cluster.go).
	etcdEndpoints, etcdTLS string
	// etcdPeerPort and etcdClientPort are the ports of the etcd member a
	// cluster created or joined here runs (serve; cluster.go), 0: default.
	etcdPeerPort, etcdClientPort int
	// script is a shell with no daemon that reads a script or runs -c:
	// the MTA opens only when a command needs it (mtahandle.go).
	script bool
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	serve := len(args) > 0 && args[0] == "serve"
	if serve {
		args = args[1:]
	}
	fs := flag.NewFlagSet("esash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	def := os.Getenv("ESASH_DATA")
	if def == "" {
		def = "esash-data"
	}
	var o options
	fs.StringVar(&o.dataDir, "data", def, "data directory")
	batch := fs.String("c", "", "run `;`-separated commands and exit")
	if serve {
		fs.StringVar(&o.adminKey, "admin-key", "", "authorized_keys `FILE` whose keys may log in as admin over SSH")
		fs.StringVar(&o.etcdEndpoints, "etcd-endpoints", "", "client `URLS` of an external etcd for a cluster created here")
		fs.StringVar(&o.etcdTLS, "etcd-tls", "", "`DIR` with the external etcd's ca.crt and a client member.crt, member.key")
		fs.IntVar(&o.etcdPeerPort, "etcd-peer-port", 0, "`PORT` of this machine's etcd member for its peers (default: the cluster's, else 2380)")
		fs.IntVar(&o.etcdClientPort, "etcd-client-port", 0, "`PORT` of this machine's etcd member for clients (default: the cluster's, else 2379)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if (o.etcdEndpoints == "") != (o.etcdTLS == "") {
		fmt.Fprintf(stderr, "esash: --etcd-endpoints and --etcd-tls go together\n%s", usage)
		return 1
	}
	if err := checkEtcdPorts(o.etcdPeerPort, o.etcdClientPort); err != nil {
		fmt.Fprintf(stderr, "esash: %v\n%s", err, usage)
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "esash: unexpected argument %q\n%s", fs.Arg(0), usage)
		return 1
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "c" {
			o.batch = batch
		}
	})
	var err error
	if o.now, err = clock(); err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
		return 1
	}
	if o.dataDir, err = filepath.Abs(o.dataDir); err != nil {
		fmt.Fprintf(stderr, "esash: data directory: %v\n", err)
		return 1
	}
	if serve {
		if path := os.Getenv("ESASH_CPUPROFILE"); path != "" {
			// `make bench` and whoever chases a hot spot: the daemon's
			// CPU profile from start to shutdown, for go tool pprof.
			stop, err := cpuProfile(path)
			if err != nil {
				fmt.Fprintf(stderr, "esash: ESASH_CPUPROFILE: %v\n", err)
				return 1
			}
			defer stop()
		}
		return runDaemon(ctx, o, stderr)
	}
	return runShell(ctx, o, stdin, stdout, stderr)
}

// clock is the system clock, or the fixed time in ESASH_NOW (RFC 3339):
// transcript tests need commit times that do not change between runs.
func clock() (func() time.Time, error) {
	v := os.Getenv("ESASH_NOW")
	if v == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("ESASH_NOW: %w", err)
	}
	return func() time.Time { return t }, nil
}

// holder names the process that holds a data directory, from its pid file.
func holder(dir string) string {
	raw, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return "another process"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return "another process"
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	name := strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
	if name == "" {
		return fmt.Sprintf("process %d", pid)
	}
	return fmt.Sprintf("process %d (%s)", pid, name)
}

func cpuProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
