package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"esash/commands/rollbackconfig"
	"esash/commands/sethostname"
	"esash/config"
	"esash/maillog"
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
}

// errInUse is a data directory another process holds.
var errInUse = errors.New("data directory in use")

func openAppliance(o options) (*appliance, error) {
	for _, d := range []string{"", "configuration", "logs", "history"} {
		if err := os.MkdirAll(filepath.Join(o.dataDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
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
	a := &appliance{dir: o.dataDir, db: db}
	if err := os.WriteFile(filepath.Join(o.dataDir, pidFile), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	a.cliLog, err = maillog.Open(filepath.Join(o.dataDir, "logs"), "cli_logs", "cli", maillog.Options{Now: o.now})
	if err != nil {
		a.Close()
		return nil, err
	}
	var prepare store.PrepareFunc // the MTA's Apply, once it exists
	a.shell, err = shell.New(db, shell.Options{
		Prepare: prepare,
		Now:     o.now,
		Log: func(s *shell.Session, line string) {
			a.cliLog.Infof("PID %d: User %s (%s) ran: %s", os.Getpid(), s.User, s.Source, line)
		},
		Internal: func(format string, args ...any) {
			a.cliLog.Criticalf(format, args...)
		},
	},
		sethostname.New(),
		rollbackconfig.New(),
	)
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *appliance) Close() error {
	if a.cliLog != nil {
		a.cliLog.Close()
	}
	os.Remove(filepath.Join(a.dir, pidFile))
	return a.db.Close()
}

func (a *appliance) historyFile(user string) string {
	return filepath.Join(a.dir, "history", user)
}
