// Package acme obtains and renews the certificates of certconfig's ACME
// profiles (config.ACMEProfile) inside the daemon, and installs each one as
// a new revision committed by the system user "acme" through the store's
// normal commit path: history, commitdetail and rollbackconfig show it,
// and the services switch to it through prepare/activate like any commit.
//
// The library is github.com/go-acme/lego/v5 (v5.6.0, pinned in go.mod),
// chosen over github.com/caddyserver/certmagic (v0.25.6) for how esash
// works:
//
//   - Storage: the certificates, keys and the ACME account live in the
//     configuration store (one revision per issuance). lego is a client:
//     Obtain/Renew return the certificate and we decide where it goes.
//     certmagic manages certificates through its own Storage interface,
//     cache and maintenance goroutines (locks, OCSP staples, file layout),
//     which would be a second, unversioned certificate store beside ours.
//   - Challenges: lego takes any challenge.Provider (Present/CleanUp). We
//     answer HTTP-01 on the interfaces' port 80 only while a challenge is
//     pending, and TLS-ALPN-01 through the HTTPS service's own tls.Config
//     (web.Options.ACME, its Challenge hook). certmagic's solvers want to
//     own their listeners or the whole tls.Config (GetCertificate of its
//     cache).
//   - Trust for the ACME server: lego takes our *http.Client, whose roots
//     are the system list or certconfig's custom list.
//   - ARI (RFC 9773): both have it; lego exposes GetRenewalInfo and
//     ReplacesCertID, so the schedule below stays ours (two thirds of the
//     lifetime, earlier when the CA's window says so).
//   - Dependencies: we import only lego's client packages (lego,
//     certificate, registration, challenge/*), not its DNS providers.
//
// The scheduler: every profile has a due time (now while pending; else
// the earlier of two thirds of the lifetime and the middle of the ARI
// window, asked again at the CA's Retry-After: ari.go); a failed
// attempt waits RetryMin, doubling up to RetryMax. The manager wakes at the
// next due time or when Kick says a commit changed the configuration; it
// never sleeps in tests, whose lifetimes and intervals come from Options.
//
// Key material never reaches a log line or an error: errors carry the
// CA's problem documents, which hold none.
package acme
