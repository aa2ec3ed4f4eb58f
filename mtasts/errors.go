package mtasts

import "errors"

// Sentinel errors of policy discovery; wrapped with context.
var (
	// ErrNoRecord: the domain publishes no (single, valid) _mta-sts TXT
	// record: it has not implemented MTA-STS (RFC 8461 §3.1).
	ErrNoRecord = errors.New("no MTA-STS TXT record")
	// ErrPolicy: the policy file is not a valid STSv1 policy (§3.2).
	ErrPolicy = errors.New("invalid MTA-STS policy")
	// ErrFetch: the policy could not be fetched over HTTPS (§3.3).
	ErrFetch = errors.New("MTA-STS policy fetch failed")
)
