package accounts

import (
	"crypto/rsa"
	"strings"

	"golang.org/x/crypto/ssh"

	"esash/config"
)

// ParseUserKey parses one public key in authorized_keys form (type, base64,
// optional comment; options are refused). It returns the key as stored, its
// SHA256 fingerprint, or the message saying what is accepted.
func ParseUserKey(line string) (stored, fingerprint, msg string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", "", "You must enter a public key."
	}
	pk, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return "", "", "The value must be an SSH public key in OpenSSH format (ssh-ed25519 AAAA... comment)."
	case len(options) > 0:
		return "", "", "The value must be a public key without authorized_keys options."
	case len(strings.TrimSpace(string(rest))) > 0:
		return "", "", "The value must be a single public key."
	}
	switch pk.Type() {
	case ssh.KeyAlgoDSA:
		return "", "", "The value must not be a DSA key: DSA keys are no longer accepted."
	case ssh.KeyAlgoRSA:
		if ck, ok := pk.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
				return "", "", "The value must be an RSA key of at least 2048 bits."
			}
		}
	}
	stored = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	if comment = strings.TrimSpace(comment); comment != "" {
		stored += " " + comment
	}
	return stored, ssh.FingerprintSHA256(pk), ""
}

// KeyFingerprint is the SHA256 fingerprint of a stored key, "" if it does
// not parse.
func KeyFingerprint(stored string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(stored))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pk)
}

// AuthorizedKey returns the fingerprint of key when it is one of u's
// stored keys.
func AuthorizedKey(u *config.User, key ssh.PublicKey) (fingerprint string, ok bool) {
	want := string(key.Marshal())
	for _, k := range u.SSHKeys {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err == nil && string(pk.Marshal()) == want {
			return ssh.FingerprintSHA256(pk), true
		}
	}
	return "", false
}

// HasKey reports whether u still has the key of that fingerprint: a
// session logged in by key checks it again when it opens.
func HasKey(u *config.User, fingerprint string) bool {
	for _, k := range u.SSHKeys {
		if KeyFingerprint(k) == fingerprint {
			return true
		}
	}
	return false
}
