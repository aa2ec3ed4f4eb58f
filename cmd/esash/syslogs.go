package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"

	versioncmd "esash/commands/version"
	"esash/config"
	"esash/lifecycle"
	"esash/maillog"
)

// The appliance's own logs besides cli_logs and mail_logs (issue 14):
// system_logs holds the life of the services (start, what each listens
// on, stop), gui_logs the HTTPS service's logins and requests. Both are
// written only where services run (the daemon and the interactive
// console): a script with no daemon starts none, so it writes neither
// (mtahandle.go). The daemon's stderr keeps its lines too, as any
// daemon's log; the console's first screen does not show them.

// serviceLogs are system_logs and gui_logs; nil fields in a script.
type serviceLogs struct {
	system, gui *maillog.Log
}

// openServiceLogs opens both logs and records the start in system_logs.
// The supervisor closes them last, after the services' stop lines.
func (a *appliance) openServiceLogs(o options) error {
	if o.script {
		return nil
	}
	dir := filepath.Join(o.dataDir, "logs")
	var err error
	if a.logs.system, err = maillog.Open(dir, "system_logs", "system", maillog.Options{Now: o.now}); err != nil {
		return err
	}
	if a.logs.gui, err = maillog.Open(dir, "gui_logs", "gui", maillog.Options{Now: o.now}); err != nil {
		a.logs.system.Close()
		a.logs.system = nil
		return err
	}
	a.logs.system.Infof("Version: %s SN: %s", versioncmd.VersionString(version), config.Serial)
	a.logs.system.Infof("System startup: PID %d, data directory %s", os.Getpid(), o.dataDir)
	return a.services.Started("logs", lifecycle.CloserFunc(func(context.Context) error {
		a.logs.system.Infof("System shutdown: PID %d", os.Getpid())
		return errors.Join(a.logs.system.Close(), a.logs.gui.Close())
	}))
}

// serviceWriter is a writer for the services' start lines ("esash: ssh
// listening on ..."): each line goes to system_logs, without the
// program's prefix. In a script (no system_logs) it drops them.
type serviceWriter struct {
	log *maillog.Log
	mu  sync.Mutex
	buf string
}

func (w *serviceWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf += string(p)
	for {
		line, rest, ok := strings.Cut(w.buf, "\n")
		if !ok {
			break
		}
		w.buf = rest
		line = strings.TrimPrefix(strings.TrimSpace(line), "esash: ")
		if line != "" && w.log != nil {
			w.log.Infof("%s", line)
		}
	}
	return len(p), nil
}

// webAccess records one HTTPS request in gui_logs.
func (a *appliance) webAccess(remote, method, path string, status int) {
	if a.logs.gui != nil {
		a.logs.gui.Infof("Req %s %s from %s: %d", method, path, remote, status)
	}
}

// webEvent records a login, logout or failure in gui_logs.
func (a *appliance) webEvent(format string, args ...any) {
	if a.logs.gui != nil {
		a.logs.gui.Infof(format, args...)
	}
}
