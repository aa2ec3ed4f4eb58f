package sshd

import "errors"

// Refusals of file transfer (files.go, sftp.go, scp.go). Their texts reach
// the client (scp prints them; SFTP clients show the status) and the
// authentication log.
var (
	errNotAdmin    = errors.New("file transfer is for administrators only")
	errOutside     = errors.New("outside the configuration directory (files are served from /configuration, without subdirectories)")
	errDotDot      = errors.New("'..' is not accepted in a path")
	errIsDir       = errors.New("is the configuration directory, not a file")
	errBadName     = errors.New("a file name must not hold control characters")
	errReserved    = errors.New("names starting with .upload- or .export- are the appliance's temporary files")
	errTooLarge    = errors.New("the file is larger than the appliance accepts")
	errNoFiles     = errors.New("file transfer is not available on this appliance")
	errNoSubdirs   = errors.New("the configuration directory has no subdirectories")
	errNoLinks     = errors.New("the configuration directory holds no links")
	errPty         = errors.New("file transfer runs without a terminal (ssh -T)")
	errTooManyOpen = errors.New("too many files open in this session")
	errDirFiles    = errors.New("the configuration directory holds as many files as it may")
	errDirBytes    = errors.New("the configuration directory would exceed the space it may use")
)
