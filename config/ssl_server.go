package config

import "crypto/tls"

// ListenerTLSConfig is the tls.Config the MTA's listeners and the web
// service listen with: each handshake runs under the config that
// perHandshake returns for it, ServerConfig of the policy committed last
// completed with the service's certificate, so that a commit's new policy
// or certificate serves the next handshake without a new listener.
// Session tickets are off here as well as in ServerConfig: crypto/tls
// keeps this config when perHandshake returns none, and no path may issue
// a ticket that outlives a commit (see ServerConfig).
func ListenerTLSConfig(perHandshake func(*tls.ClientHelloInfo) (*tls.Config, error)) *tls.Config {
	return &tls.Config{SessionTicketsDisabled: true, GetConfigForClient: perHandshake}
}
