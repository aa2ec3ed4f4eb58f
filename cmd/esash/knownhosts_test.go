package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func newHostKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKnownHosts: the batch join (no confirm) trusts an unknown host's
// key and records it 0600, accepts it again, refuses another key for
// that host naming the host and both fingerprints, and keeps hosts
// apart; the dialog's yes replaces the key, its no refuses.
func TestKnownHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster", knownHostsFile)
	kh := knownHosts{path}
	one, two, other := newHostKey(t), newHostKey(t), newHostKey(t)
	const host, peer = "127.0.0.5:2222", "127.0.0.6:2222"
	yes := func(string) (bool, error) { return true, nil }
	no := func(string) (bool, error) { return false, nil }
	for _, tc := range []struct {
		name    string
		addr    string
		key     gossh.PublicKey
		confirm func(string) (bool, error)
		wantErr []string // substrings; nil: accepted
	}{
		{"first use is trusted", host, one, nil, nil},
		{"the same key again", host, one, nil, nil},
		{"another host's first use", peer, other, nil, nil},
		{"a changed key is refused", host, two, nil, []string{"WARNING:  The host key of " + host + " has changed",
			gossh.FingerprintSHA256(one), gossh.FingerprintSHA256(two)}},
		{"the dialog's no refuses", host, two, no, []string{"host key not accepted"}},
		{"the dialog's yes replaces it", host, two, yes, nil},
		{"the new key is known", host, two, nil, nil},
		{"the old key is not", host, one, nil, []string{"has changed"}},
		{"the other host kept its key", peer, other, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := kh.callback(tc.addr, tc.confirm)(tc.addr, nil, tc.key)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(tc.name, "changed") && !errors.Is(err, errHostKeyChanged) {
				t.Errorf("error %v is not errHostKeyChanged", err)
			}
		})
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", path, err, fi)
	}
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), "\n"); n != 2 {
		t.Errorf("known hosts has %d lines, want 2 (one per host):\n%s", n, raw)
	}
}

func TestCheckEtcdPorts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		peer, client int
		want         string // "" accepted, else a substring of the error
	}{
		{"none given", 0, 0, ""},
		{"both given", 12380, 12379, ""},
		{"one given", 12380, 0, ""},
		{"the same port twice", 12380, 12380, "both 12380"},
		{"too large", 70000, 0, "--etcd-peer-port 70000"},
		{"negative", 0, -1, "--etcd-client-port -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEtcdPorts(tc.peer, tc.client)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkEtcdPorts(%d, %d) = %v, want %q", tc.peer, tc.client, err, tc.want)
			}
		})
	}
}
