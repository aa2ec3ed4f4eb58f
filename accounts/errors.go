package accounts

import "errors"

// ErrNoAccount is a session whose account was deleted meanwhile.
var ErrNoAccount = errors.New("your account no longer exists")
