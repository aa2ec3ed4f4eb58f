package accounts

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Passwords are stored as bcrypt hashes; bcrypt reads at most 72 bytes.
const (
	minPassword = 8
	maxPassword = 72
	// BcryptCost is the work factor of stored passwords.
	BcryptCost = bcrypt.DefaultCost
)

// CheckNewPassword returns "" for an acceptable new password of user, or
// the message saying what is accepted.
func CheckNewPassword(user, pw string) string {
	switch {
	case utf8.RuneCountInString(pw) < minPassword:
		return fmt.Sprintf("The password must be at least %d characters long.", minPassword)
	case len(pw) > maxPassword:
		return fmt.Sprintf("The password must be at most %d bytes long.", maxPassword)
	case strings.EqualFold(pw, user):
		return "The password must not be the user name."
	case strings.TrimSpace(pw) != pw:
		return "The password must not begin or end with a space."
	}
	return ""
}

// HashPassword hashes a password for config.User.PasswordHash.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash makes a login with an unknown name or without a password cost
// what a real one costs, so timing does not tell which names exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("esash: no such account"), BcryptCost)
	return h
})

// CheckPassword reports whether pw matches hash. An empty hash (no
// password set) never matches, but takes as long as a real check.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
