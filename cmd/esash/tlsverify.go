package main

import (
	"context"

	"esash/mta"
)

// tlsVerifier adapts the MTA to what tlsverify runs: commands never
// import the MTA.
type tlsVerifier struct{ m *mta.Server }

func (v tlsVerifier) TLSVerify(ctx context.Context, domain, host string, emit func(string)) bool {
	return v.m.TLSVerify(ctx, domain, host, emit)
}
