package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"esash/commands/alertconfig"
	"esash/commands/certconfig"
	"esash/commands/clustermode"
	"esash/commands/delivernow"
	"esash/commands/deliveryconfig"
	"esash/commands/destconfig"
	"esash/commands/dig"
	"esash/commands/dnsconfig"
	"esash/commands/dnsflush"
	"esash/commands/dnsstatus"
	"esash/commands/grep"
	"esash/commands/hoststatus"
	"esash/commands/interfaceconfig"
	"esash/commands/ldapconfig"
	"esash/commands/listenerconfig"
	"esash/commands/loadconfig"
	"esash/commands/mailconfig"
	"esash/commands/mtastsconfig"
	"esash/commands/passwd"
	"esash/commands/rollbackconfig"
	"esash/commands/saveconfig"
	"esash/commands/sethostname"
	"esash/commands/showconfig"
	"esash/commands/showqueue"
	"esash/commands/smtproutes"
	"esash/commands/sshconfig"
	"esash/commands/sslconfig"
	"esash/commands/status"
	"esash/commands/tail"
	"esash/commands/tlsverify"
	"esash/commands/userconfig"
	versioncmd "esash/commands/version"
	"esash/commands/websecurityconfig"
	"esash/commands/who"
	"esash/config"
	"esash/lifecycle"
	"esash/maillog"
	"esash/mta"
	"esash/shell"
	"esash/store"
)

const (
	dbFile     = "config.db"
	pidFile    = "esash.pid"
	socketFile = "esash.sock"
)

// appliance is everything one data directory runs.
type appliance struct {
	dir    string
	db     *store.DB
	shell  *shell.Shell
	cliLog *maillog.Log
	// mta is the mail server; bootErr says which listeners it could not
	// start with the committed configuration (the shell warns).
	mta     *mta.Server
	bootErr error
	// mtaH opens the MTA at start, or for a script on first use
	// (mtahandle.go).
	mtaH *mtaHandle
	// logs are system_logs and gui_logs (syslogs.go).
	logs serviceLogs
	// prepare readies every running service for a commit; ssh is the
	// daemon's SSH server (ssh.go).
	prepare store.PrepareFunc
	// services are what runs for the appliance (MTA, commit-confirmed
	// watcher, SSH, HTTPS, console acceptor), closed by Close in the
	// reverse of the order they started (package lifecycle).
	services *lifecycle.Supervisor
	grace    time.Duration // for sessions at Close; shutdownGrace
	ssh      sshHook
	web      webHook     // the daemon's HTTPS service (web.go)
	acme     acmeHook    // ACME manager and expiry alerts (acme.go)
	cluster  clusterHook // etcd member, client and store (cluster.go)
	// external is the external etcd a cluster created here uses, if any.
	external externalEtcd
	// ports are the etcd member's ports given to serve (0: not given).
	ports etcdPorts
}

// errInUse is a data directory another process holds.
var errInUse = errors.New("data directory in use")

func openAppliance(o options) (*appliance, error) {
	for _, d := range []string{"", "configuration", "logs", "history"} {
		if err := os.MkdirAll(filepath.Join(o.dataDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	db, err := openStore(o)
	if err != nil {
		return nil, err
	}
	a := &appliance{dir: o.dataDir, db: db, grace: shutdownGrace, external: externalEtcd{o.etcdEndpoints, o.etcdTLS},
		ports: etcdPorts{peer: o.etcdPeerPort, client: o.etcdClientPort}}
	a.services = lifecycle.NewSupervisor(a.logShutdown)
	if err := os.WriteFile(filepath.Join(o.dataDir, pidFile), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	// A pasted line of 50,000 characters is recorded by its start and
	// length (issue 12, item 11).
	const cliLogMaxLine = 2048
	a.cliLog, err = maillog.Open(filepath.Join(o.dataDir, "logs"), "cli_logs", "cli", maillog.Options{Now: o.now, MaxLine: cliLogMaxLine})
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openServiceLogs(o); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.startMTA(o); err != nil {
		a.Close()
		return nil, err
	}
	a.prepare = composePrepare(a.prepareMTA, a.ssh.prepare, a.web.prepare, a.acme.prepare)
	if err := a.newACME(o.now); err != nil {
		a.Close()
		return nil, err
	}
	a.services.Started("commit-confirmed watcher", a.watchConfirm(o.now))
	confirmUnit, err := envDuration("ESASH_CONFIRM_UNIT") // tests: seconds, not minutes
	if err != nil {
		a.Close()
		return nil, err
	}
	a.shell, err = shell.New(db, shell.Options{
		Prepare: a.prepare,
		Now:     o.now,
		Log: func(s *shell.Session, line string) {
			a.cliLog.Infof("PID %d: User %s (%s) ran: %s", os.Getpid(), s.User, s.Source, maskJoinPassword(line))
		},
		Internal: func(format string, args ...any) {
			a.cliLog.Criticalf(format, args...)
		},
		Banner:      banner(),
		ConfirmUnit: confirmUnit,
		LeftCluster: a.leftCluster,
	}, a.commands(o)...)
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.bootCluster(a.logShutdown, !o.script); err != nil {
		a.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return a, nil
}

// openStore opens the appliance's configuration store; a new one starts
// from the factory configuration with a fresh demo certificate.
func openStore(o options) (*store.DB, error) {
	db, err := store.Open(filepath.Join(o.dataDir, dbFile), store.Options{
		Now: o.now,
		Factory: func() (*config.Config, error) {
			demo, err := demoCertificate(o.now())
			if err != nil {
				return nil, err
			}
			cfg := config.Factory(demo)
			if ip := os.Getenv("ESASH_FACTORY_IP"); ip != "" {
				// Tests run many appliances at once; each takes its own
				// loopback address for the factory Management interface.
				cfg.Interfaces[0].IPv4 = ip
			}
			return cfg, nil
		},
	})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: %s is held by %s", errInUse, o.dataDir, holder(o.dataDir))
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// commands are the shell's commands, wired to the appliance's services.
func (a *appliance) commands(o options) []shell.Command {
	return []shell.Command{
		sethostname.New(),
		clustermode.New(),
		a.clusterConfig(o.script),
		tail.New(tail.Options{Dir: filepath.Join(o.dataDir, "logs"), Logs: a.tailLogs()}),
		grep.New(grep.Options{Dir: filepath.Join(o.dataDir, "logs"), Logs: a.grepLogs()}),
		showqueue.New(queueView{a.mtaH.queue}),
		tlsverify.New(a.mtaH),
		delivernow.New(a.mtaH),
		mailconfig.New(a.mtaH),
		certconfig.New().WithCRLFetcher(a.mtaH).WithACMEStatus(a.acmeStatus),
		interfaceconfig.New(),
		listenerconfig.New(),
		destconfig.NewWithPolicies(a.mtaH), // DETAIL shows the MTA-STS cache
		mtastsconfig.New(),
		deliveryconfig.New(),
		smtproutes.New(),
		dnsconfig.New(),
		dnsflush.New(a.mtaH),
		dnsstatus.New(a.mtaH),
		dig.New(),
		alertconfig.New(),
		rollbackconfig.New(),
		ldapconfig.New(),
		websecurityconfig.New(),
		showconfig.New(),
		saveconfig.New(),
		loadconfig.New(),
		userconfig.New(),
		passwd.New(),
		sshconfig.New(a.hostKeys),
		sslconfig.New(),
		who.New(),
		who.NewWhoAmI(),
		versioncmd.New(a.versionOptions(o.now)),
		status.New(statusSource{&a.mtaH.stats, a.mtaH}),
		hoststatus.New(statusSource{&a.mtaH.stats, a.mtaH}),
	}
}

// shutdownGrace is how long sessions in progress (SMTP, SSH, HTTPS,
// consoles) get to finish when the appliance stops; then they are cut,
// and the services say which.
const shutdownGrace = 10 * time.Second

// Close stops every service, the last started first, then closes the
// logs and the store. Its error names what a service abandoned.
func (a *appliance) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.grace)
	err := a.services.Close(ctx)
	cancel()
	if a.cliLog != nil {
		a.cliLog.Close()
	}
	os.Remove(filepath.Join(a.dir, pidFile))
	return errors.Join(err, a.db.Close())
}

// logShutdown records what a service abandoned at shutdown in cli_logs
// (the administrator's log), and on stderr when that is not open.
func (a *appliance) logShutdown(format string, args ...any) {
	if a.cliLog != nil {
		a.cliLog.Warningf(format, args...)
		return
	}
	fmt.Fprintf(os.Stderr, "esash: "+format+"\n", args...)
}

func (a *appliance) historyFile(user string) string {
	return filepath.Join(a.dir, "history", user)
}
