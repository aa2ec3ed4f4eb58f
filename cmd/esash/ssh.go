package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"esash/accounts"
	"esash/commands/sshconfig"
	"esash/config"
	"esash/lifecycle"
	"esash/maillog"
	"esash/shell"
	"esash/sshd"
	"esash/store"
)

// The SSH server's wiring: it runs in the daemon only, follows commits
// through the store's PrepareFunc, and reports to the authentication log.

// sshHook is the daemon's SSH server as commits see it: nothing in the
// in-process shell, and nothing until the daemon has started it.
type sshHook struct {
	srv  atomic.Pointer[sshd.Server]
	log  *maillog.Log
	stop context.CancelFunc
	wg   sync.WaitGroup
	// started is closed once the server listens (or failed to start).
	started chan struct{}
}

func (h *sshHook) prepare(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	if srv := h.srv.Load(); srv != nil {
		return srv.Prepare(ctx, cfg)
	}
	return func() {}, func() {}, nil
}

// composePrepare runs each service's PrepareFunc in turn; when one fails
// the ones before it are aborted. nil entries are skipped.
func composePrepare(fs ...store.PrepareFunc) store.PrepareFunc {
	return func(ctx context.Context, cfg *config.Config) (func(), func(), error) {
		var acts, aborts []func()
		abortAll := func() {
			for i := len(aborts) - 1; i >= 0; i-- {
				aborts[i]()
			}
		}
		for _, f := range fs {
			if f == nil {
				continue
			}
			act, ab, err := f(ctx, cfg)
			if err != nil {
				abortAll()
				return nil, nil, err
			}
			if act == nil {
				act = func() {}
			}
			if ab == nil {
				ab = func() {}
			}
			acts, aborts = append(acts, act), append(aborts, ab)
		}
		return func() {
			for _, a := range acts {
				a()
			}
		}, abortAll, nil
	}
}

// hostKeys lists the appliance's host keys for sshconfig, creating them
// when the appliance has never served SSH.
func (a *appliance) hostKeys() ([]sshconfig.HostKey, error) {
	signers, err := sshd.HostKeys(a.dir)
	if err != nil {
		return nil, err
	}
	var out []sshconfig.HostKey
	for _, k := range sshd.Describe(signers) {
		out = append(out, sshconfig.HostKey{Type: k.Type, Bits: k.Bits, Fingerprint: k.Fingerprint})
	}
	return out, nil
}

// firstStartNotice tells an administrator at the console that nobody can
// log in over SSH yet, and how to change that.
func (a *appliance) firstStartNotice(c shell.Conn) {
	if c.Terminal && c.Batch == nil && !accounts.HasAdminCredential(a.db.Head().Config) {
		fmt.Fprintf(c.Stdout, "%s\n\n", accounts.FirstStartNotice)
	}
}

// addAdminKeys is `esash serve --admin-key FILE`: the keys of an
// authorized_keys file are added to the admin account, committed as their
// own revision, so that a new appliance can be reached over SSH without
// any password ever being set.
func (a *appliance) addAdminKeys(ctx context.Context, path string, stderr io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--admin-key: %w", err)
	}
	var keys, fps []string
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, fp, msg := accounts.ParseUserKey(line)
		if msg != "" {
			return fmt.Errorf("--admin-key: %s line %d: %s", path, i+1, msg)
		}
		keys, fps = append(keys, k), append(fps, fp)
	}
	if len(keys) == 0 {
		return fmt.Errorf("--admin-key: %s holds no public key", path)
	}
	d := store.NewDraft(a.db, "admin", "admin-key")
	var added []string
	err = d.Update(func(c *config.Config) error {
		u := accounts.FindUser(c, "admin")
		if u == nil {
			return errors.New("the admin account does not exist")
		}
		have := map[string]bool{}
		for _, k := range u.SSHKeys {
			have[accounts.KeyFingerprint(k)] = true
		}
		for i, k := range keys {
			if !have[fps[i]] {
				have[fps[i]] = true
				u.SSHKeys = append(u.SSHKeys, k)
				added = append(added, fps[i])
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("--admin-key: %w", err)
	}
	if len(added) == 0 {
		return nil
	}
	res, err := d.Commit(ctx, "esash serve --admin-key "+filepath.Base(path), false, a.prepare)
	if err != nil {
		return fmt.Errorf("--admin-key: %w", err)
	}
	fmt.Fprintf(stderr, "esash: added %s to admin's SSH keys (revision %d)\n", strings.Join(added, ", "), res.Rev)
	return nil
}

// startSSH brings up the SSH server in the background: the first start
// generates the host keys, which takes a moment, and the console need not
// wait for it.
func (a *appliance) startSSH(ctx context.Context, stderr io.Writer) error {
	log, err := maillog.Open(filepath.Join(a.dir, "logs"), "authentication", "authentication", maillog.Options{})
	if err != nil {
		return err
	}
	idle, err := envDuration("ESASH_SSH_IDLE_TIMEOUT")
	if err != nil {
		log.Close()
		return err
	}
	handshake, err := envDuration("ESASH_SSH_HANDSHAKE_TIMEOUT")
	if err != nil {
		log.Close()
		return err
	}
	a.ssh.log = log
	ctx, a.ssh.stop = context.WithCancel(ctx)
	a.ssh.started = make(chan struct{})
	a.ssh.wg.Add(1)
	go func() {
		defer a.ssh.wg.Done()
		started := sync.OnceFunc(func() { close(a.ssh.started) })
		defer started()
		srv, err := sshd.New(sshd.Options{
			Run: a.serveSSHSession, DataDir: a.dir, Ctx: ctx,
			Head:        func() *config.Config { return a.db.Head().Config },
			Log:         func(format string, args ...any) { log.Infof(format, args...) },
			IdleTimeout: idle, HandshakeTimeout: handshake,
			Files: newConfigFiles(a.dir), MaxFileSize: shell.MaxConfigFile,
		})
		if err != nil {
			fmt.Fprintf(stderr, "esash: ssh: %v\n", err)
			return
		}
		if ctx.Err() != nil {
			srv.Close(context.Background()) // no session yet
			return
		}
		a.ssh.srv.Store(srv)
		// A commit made before the server was published did not reach
		// it: start again until the head it started with is the head.
		for {
			head := a.db.Head()
			if err := srv.Start(head.Config); err != nil {
				fmt.Fprintf(stderr, "esash: ssh: %v\n", err)
				log.Warningf("%v", err)
			}
			// SettledHead, not Head: a commit whose prepare ran before
			// the server was published is invisible to Head until done.
			if a.db.SettledHead().Rev == head.Rev {
				break
			}
		}
		for _, addr := range srv.Addrs() {
			fmt.Fprintf(stderr, "esash: ssh listening on %s\n", addr)
		}
		started()
		<-ctx.Done()
	}()
	return a.services.Started("ssh", lifecycle.CloserFunc(a.stopSSH))
}

// serveSSHSession runs an SSH session in the shell, with the account's
// role in its context and the user's command history.
func (a *appliance) serveSSHSession(ss sshd.Session) (int, error) {
	if code, ok := a.serveJoinBundle(ss); ok {
		return code, nil
	}
	return a.shell.Serve(shell.Conn{
		Ctx:  shell.WithClient(shell.WithRole(ss.Ctx, ss.Role), ss.Client),
		User: ss.User, Source: ss.Source, DataDir: a.dir,
		HistoryFile: a.historyFile(ss.User),
		Stdin:       ss.Stdin, Stdout: ss.Stdout, Stderr: ss.Stderr,
		Terminal: ss.Terminal, Remote: ss.Terminal,
		Width: ss.Width, Height: ss.Height, OnResize: ss.OnResize,
		Batch: ss.Command,
	})
}

// stopSSH closes the SSH server and its sessions (lifecycle.Closer).
func (a *appliance) stopSSH(ctx context.Context) error {
	a.ssh.stop()
	var errs []error
	if srv := a.ssh.srv.Swap(nil); srv != nil {
		errs = append(errs, srv.Close(ctx))
	}
	// A first start may still be generating the RSA host key, which
	// cannot be interrupted: wait for it while ctx lasts. The key file is
	// written atomically, and the server goroutine, seeing the cancelled
	// context, closes what it made without logging.
	done := make(chan struct{})
	go func() { a.ssh.wg.Wait(); close(done) }()
	select {
	case <-done:
		a.ssh.log.Close()
	case <-ctx.Done():
		// Its log stays open: the goroutine may still write to it.
		errs = append(errs, fmt.Errorf("ssh: close: abandoned the server's start (host key generation): %w", ctx.Err()))
	}
	if srv := a.ssh.srv.Swap(nil); srv != nil {
		errs = append(errs, srv.Close(ctx))
	}
	return errors.Join(errs...)
}

// envDuration reads a test hook such as ESASH_SSH_IDLE_TIMEOUT=2s; unset
// is zero, the default.
func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}
