// Package pki implements the certificate and key handling behind esash's
// certconfig: generating keys, self-signed certificates and CSRs, reading
// the PEM, PKCS#8 and PKCS#12 files administrators paste or upload, and
// checking chains and host names the way the appliance reports them.
//
// The package depends on nothing else in esash so that it can be tested
// and fuzzed against OpenSSL in isolation. For the same reason every
// function whose answer depends on the clock takes "now" as an argument
// instead of calling time.Now itself.
package pki
