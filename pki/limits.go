package pki

import (
	"errors"
	"fmt"
)

// MaxInputSize bounds what the appliance accepts as one paste or one
// uploaded certificate, key, bundle or PKCS#12 file. A long chain with
// its key is under 20 KB and a full trust store bundle about 250 KB, so
// this refuses mistakes (a log file, a binary) before they are parsed.
const MaxInputSize = 1 << 20

// ErrTooLarge is returned by CheckSize.
var ErrTooLarge = errors.New("input too large")

// CheckSize refuses input longer than MaxInputSize.
func CheckSize(n int) error {
	if n > MaxInputSize {
		return fmt.Errorf("%w: %d bytes (at most %d bytes are accepted)", ErrTooLarge, n, MaxInputSize)
	}
	return nil
}
