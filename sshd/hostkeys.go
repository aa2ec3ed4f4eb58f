package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// Host keys are generated on the appliance at its first start, so no two
// appliances share one (cisco-sa-20150625-ironport shipped the same keys
// on every virtual appliance). They live in DATA/ssh, mode 0600, in
// OpenSSH's private key format, and never change afterwards.

// HostKeyDir is the directory of the host keys under the data directory.
const HostKeyDir = "ssh"

// RSABits is the size of the RSA host key.
const RSABits = 3072

var hostKeyFiles = []struct {
	name string
	gen  func() (any, error)
}{
	{"ssh_host_ed25519_key", func() (any, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_rsa_key", func() (any, error) {
		return rsa.GenerateKey(rand.Reader, RSABits)
	}},
}

// creating serialises first-start generation within the process: the
// daemon and a command asking for fingerprints may both get there.
var creating sync.Mutex

// HostKeys loads the appliance's host keys from dataDir, generating the
// missing ones. Ed25519 comes first: clients prefer what the server lists
// first only when they know no key yet, and Ed25519 is the better one.
func HostKeys(dataDir string) ([]gossh.Signer, error) {
	creating.Lock()
	defer creating.Unlock()
	dir := filepath.Join(dataDir, HostKeyDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host keys: %w", err)
	}
	var out []gossh.Signer
	for _, f := range hostKeyFiles {
		path := filepath.Join(dir, f.name)
		s, err := loadHostKey(path)
		if errors.Is(err, fs.ErrNotExist) {
			s, err = createHostKey(path, f.gen)
		}
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func loadHostKey(path string) (gossh.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		// A private key others can read is not private: tighten it, as
		// the key itself has not changed.
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, err
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return gossh.ParsePrivateKey(raw)
}

func createHostKey(path string, gen func() (any, error)) (gossh.Signer, error) {
	key, err := gen()
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(key, "esash host key")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hostkey-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return gossh.NewSignerFromKey(key)
}

// HostKeyInfo describes a host key for people checking it.
type HostKeyInfo struct {
	Type        string // ED25519, RSA
	Bits        int
	Fingerprint string // SHA256:...
	Public      string // authorized_keys / known_hosts form
}

// Describe lists what administrators compare with their client's
// known_hosts or first-connection prompt.
func Describe(signers []gossh.Signer) []HostKeyInfo {
	var out []HostKeyInfo
	for _, s := range signers {
		pk := s.PublicKey()
		info := HostKeyInfo{Fingerprint: gossh.FingerprintSHA256(pk),
			Public: string(trimNL(gossh.MarshalAuthorizedKey(pk)))}
		switch pk.Type() {
		case gossh.KeyAlgoED25519:
			info.Type, info.Bits = "ED25519", 256
		case gossh.KeyAlgoRSA:
			info.Type = "RSA"
			if ck, ok := pk.(gossh.CryptoPublicKey); ok {
				if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
					info.Bits = rk.N.BitLen()
				}
			}
		default:
			info.Type = pk.Type()
		}
		out = append(out, info)
	}
	return out
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
