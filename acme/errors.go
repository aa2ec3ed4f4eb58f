package acme

import "errors"

var (
	errNoCert      = errors.New("no certificate in the CA's answer")
	errProfileGone = errors.New("the profile was deleted or is no longer an ACME profile")
)
