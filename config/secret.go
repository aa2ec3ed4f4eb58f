package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Secrets in exported configurations (saveconfig, showconfig, loadconfig).
//
// A setting is secret when its field is tagged cfg:"secret" (or sits inside
// one that is), or when its value holds a PEM private key whatever its tag:
// a field added later without the tag still never leaves the appliance in
// a masked file. An export either masks secrets (a placeholder, "keep the
// current value" on load), encrypts them with a key derived from a
// passphrase, or writes them as they are.

// SecretMode is how an export writes secret settings.
type SecretMode string

// Secret modes, as the root element's passphrases attribute names them.
const (
	MaskSecrets    SecretMode = "masked"
	EncryptSecrets SecretMode = "encrypted"
	PlainSecrets   SecretMode = "plain"
)

// Key derivation for encrypted exports: PBKDF2-HMAC-SHA256 (the standard
// library's) into an AES-256-GCM key. Every value is sealed with its own
// random nonce and its setting path as additional data, so a ciphertext
// cannot be moved to another setting unnoticed.
const (
	kdfPBKDF2 = "pbkdf2-sha256"
	// DefaultIterations is the PBKDF2 work factor of new exports (OWASP's
	// 2023 figure for PBKDF2-HMAC-SHA256).
	DefaultIterations = 600_000
	// MinIterations and MaxIterations bound what a file may ask for: a
	// file cannot make the loader spin for minutes.
	MinIterations = 1_000
	MaxIterations = 10_000_000
	saltLen       = 16
	// MinPassphrase is the shortest export passphrase accepted.
	MinPassphrase = 8
	maskText      = "*****"
	checkPath     = "#passphrase-check"
	checkText     = "esash configuration passphrase check"
)

// Errors of secret handling.
var (
	// ErrPassphrase is a passphrase that does not open the file.
	ErrPassphrase = errors.New("the passphrase is not correct")
	// ErrNoPassphrase is an encrypted file loaded without a passphrase.
	ErrNoPassphrase = errors.New("the file has encrypted passphrases: a passphrase is needed to load it")
)

// CheckExportPassphrase validates a passphrase chosen for an encrypted
// export.
func CheckExportPassphrase(p string) string {
	if len(p) < MinPassphrase {
		return fmt.Sprintf("The passphrase must be at least %d characters long.", MinPassphrase)
	}
	return ""
}

// looksSecret reports a value that must be treated as secret whatever its
// field: a PEM private key.
func looksSecret(v string) bool {
	return strings.Contains(v, "PRIVATE KEY-----")
}

// sealer encrypts and decrypts the secret values of one file.
type sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

func newSealer(passphrase string, salt []byte, iterations int, r io.Reader) (*sealer, error) {
	if iterations < MinIterations || iterations > MaxIterations {
		return nil, fmt.Errorf("iterations must be between %d and %d, not %d", MinIterations, MaxIterations, iterations)
	}
	key, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = rand.Reader
	}
	return &sealer{aead: aead, rand: r}, nil
}

// seal encrypts plain for the setting at path: base64(nonce || ciphertext).
func (s *sealer) seal(path, plain string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return "", fmt.Errorf("random nonce: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(path))
	return base64.StdEncoding.EncodeToString(out), nil
}

// open decrypts a value sealed for path; a wrong key or a value moved from
// another setting fails.
func (s *sealer) open(path, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sealed))
	if err != nil {
		return "", fmt.Errorf("the encrypted value is not base64")
	}
	n := s.aead.NonceSize()
	if len(raw) < n+s.aead.Overhead() {
		return "", fmt.Errorf("the encrypted value is too short")
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(path))
	if err != nil {
		return "", fmt.Errorf("the encrypted value cannot be decrypted (altered, or moved from another setting)")
	}
	return string(plain), nil
}

// check is the sealed known text that tells a wrong passphrase from an
// altered value.
func (s *sealer) check() (string, error) { return s.seal(checkPath, checkText) }

func (s *sealer) verify(sealed string) error {
	got, err := s.open(checkPath, sealed)
	if err != nil || got != checkText {
		return ErrPassphrase
	}
	return nil
}

// MissingSecretsError is a masked file whose placeholders have no current
// value to keep: loading it would leave these secrets empty.
type MissingSecretsError struct {
	Paths []string
}

func (e *MissingSecretsError) Error() string {
	return "masked passphrases with no current value to keep: " + strings.Join(e.Paths, ", ")
}
