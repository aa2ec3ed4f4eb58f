package main

// The SSH host keys of the members a machine joined through (issue 13):
// cluster/known_hosts (0600, OpenSSH's format, one plain line per
// host:port), kept when the machine leaves so that a rejoin recognises
// them.
//
// Decisions:
//
//   - The batch join (`clusterconfig join <host> <user> <password>
//     <group>`, a script with no one to ask) trusts a host on first use: an
//     unknown host's key is recorded; a known host's key must be the one
//     recorded, else the join is refused with AsyncOS's warning
//     ("WARNING:  The host key", two spaces, asyncos-cli-2.md §3.2) naming
//     the host and both fingerprints.
//   - The interactive dialog keeps asking "Is this a valid key for this
//     host?" whatever the file says: the administrator's yes records the
//     key, replacing a changed one. That is how a key that changed for a
//     good reason (a rebuilt machine) is accepted again.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// knownHostsFile is in the cluster directory.
const knownHostsFile = "known_hosts"

// errHostKeyChanged is a batch join refused for a changed host key.
var errHostKeyChanged = errors.New("the host key changed since this machine first joined through it")

// knownHosts is a known_hosts file.
type knownHosts struct{ path string }

// keys are the keys recorded for addr (host:port).
func (k knownHosts) keys(addr string) ([]gossh.PublicKey, error) {
	raw, err := os.ReadFile(k.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	want := knownhosts.Normalize(addr)
	var out []gossh.PublicKey
	for len(raw) > 0 {
		_, hosts, key, _, rest, err := gossh.ParseKnownHosts(raw)
		if err != nil {
			break // io.EOF, or a line we did not write: the rest is ignored
		}
		raw = rest
		for _, h := range hosts {
			if h == want {
				out = append(out, key)
			}
		}
	}
	return out, nil
}

// record makes key the one key of addr.
func (k knownHosts) record(addr string, key gossh.PublicKey) error {
	raw, err := os.ReadFile(k.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("known hosts: %w", err)
	}
	prefix := knownhosts.Normalize(addr) + " "
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l != "" && !strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	lines = append(lines, knownhosts.Line([]string{addr}, key))
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("known hosts: %w", err)
	}
	return os.Rename(tmp, k.path)
}

// callback checks the host key of addr: confirm asks the administrator
// (the dialog), nil trusts on first use (the batch form).
func (k knownHosts) callback(addr string, confirm func(fingerprint string) (bool, error)) gossh.HostKeyCallback {
	return func(_ string, _ net.Addr, key gossh.PublicKey) error {
		fp := gossh.FingerprintSHA256(key)
		if confirm != nil {
			ok, err := confirm(fp)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("host key not accepted")
			}
			return k.record(addr, key)
		}
		known, err := k.keys(addr)
		if err != nil {
			return err
		}
		if len(known) == 0 {
			return k.record(addr, key)
		}
		var fps []string
		for _, kk := range known {
			if bytes.Equal(kk.Marshal(), key.Marshal()) {
				return nil
			}
			fps = append(fps, gossh.FingerprintSHA256(kk))
		}
		return fmt.Errorf("WARNING:  The host key of %s has changed: known %s, offered %s (%w); "+
			"if the change is expected, join once with the interactive clusterconfig dialog to accept the new key",
			addr, strings.Join(fps, ", "), fp, errHostKeyChanged)
	}
}
