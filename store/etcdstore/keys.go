package etcdstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"esash/config"
)

const (
	prefix     = "/esa/v1/"
	keyName    = prefix + "name"
	keyHead    = prefix + "head"
	cfgPrefix  = prefix + "cfg/"
	grpPrefix  = prefix + "groups/"
	memPrefix  = prefix + "members/"
	revPrefix  = prefix + "revs/"
	audPrefix  = prefix + "audit/"
	statPrefix = prefix + "status/"
)

// sectionKey is the key of one section at a level.
func sectionKey(at config.Level, section string) string {
	switch at.Kind {
	case config.LevelCluster:
		return cfgPrefix + "cluster/" + section
	case config.LevelGroup:
		return cfgPrefix + "group/" + at.Name + "/" + section
	default:
		return cfgPrefix + "machine/" + at.Name + "/" + section
	}
}

// parseSectionKey is the level and section of a key under cfg/.
func parseSectionKey(key string) (config.Level, string, bool) {
	rest, ok := strings.CutPrefix(key, cfgPrefix)
	if !ok {
		return config.Level{}, "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] == "cluster":
		return config.ClusterLevel, parts[1], true
	case len(parts) == 3 && parts[0] == "group":
		return config.Level{Kind: config.LevelGroup, Name: parts[1]}, parts[2], true
	case len(parts) == 3 && parts[0] == "machine":
		return config.Level{Kind: config.LevelMachine, Name: parts[1]}, parts[2], true
	}
	return config.Level{}, "", false
}

func revKey(n uint64) string { return fmt.Sprintf("%s%020d", revPrefix, n) }

// DataKeyFile is the cluster data key's file in the data directory.
const DataKeyFile = "cluster.key"

// NewDataKey makes a random cluster data key (at create).
func NewDataKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("etcdstore: random data key: %v", err)) // the system has no randomness
	}
	return k
}

// WriteDataKey stores the data key in dir, readable by its owner only.
func WriteDataKey(dir string, key []byte) error {
	path := filepath.Join(dir, DataKeyFile)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		return fmt.Errorf("write cluster data key: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// ReadDataKey loads the data key from dir.
func ReadDataKey(dir string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, DataKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cluster data key: %w", ErrNotClustered)
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster data key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("cluster data key %s: not a 256-bit key", DataKeyFile)
	}
	return key, nil
}

// sealer encrypts values with the data key; the etcd key is the
// additional data, so a value cannot be moved to another key unnoticed.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cluster data key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cluster data key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

const sealPrefix = "sealed1:"

func (s *sealer) seal(key string, plain []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("etcdstore: random nonce: %v", err))
	}
	return sealPrefix + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(key)))
}

func (s *sealer) open(key string, sealed []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(string(sealed), sealPrefix)
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrSealed)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, fmt.Errorf("%s: %w", key, ErrSealed)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(key))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, ErrSealed)
	}
	return plain, nil
}
