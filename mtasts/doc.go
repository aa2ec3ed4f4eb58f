// Package mtasts is the sending side of SMTP MTA Strict Transport Security
// (RFC 8461): the policy parser, discovery (the _mta-sts TXT record
// through the appliance's resolver, the policy file over HTTPS) and the
// policy cache.
//
// Decisions:
//
//   - The cache is a file, DATA/mtasts/policies.json, written atomically
//     after each new policy, not the queue's storage: it is a cache that
//     may be lost (a lost policy is fetched again, as on first contact),
//     and the queue's bbolt database is the messages' (no lock shared
//     with delivery). Only valid policies are kept; expired ones are
//     dropped at load.
//   - A domain seen for the first time (or whose policy expired) is looked
//     up while its own delivery waits, at most for the delivery timeout;
//     a domain already known is answered from memory at once and refreshed
//     in the background when its TXT id was not checked for an hour
//     (Options.Refresh). "No policy" is remembered as long. A refresh of one
//     domain holds no lock another domain's delivery needs.
//   - A policy is refetched when the TXT id changes or half its max_age has
//     passed (§10.1: proactive refresh, so a policy in use never lapses). A
//     record that disappears, or a fetch that fails, keeps the cached
//     policy until its max_age ends (§5.1).
//   - The fetch verifies mta-sts.<domain>'s certificate against the
//     appliance's CA lists (certconfig: system and custom), follows no
//     redirect, uses no HTTP cache, takes only text/plain, at most 64 KiB
//     and 60 s (§3.3). It connects through the function the MTA gives
//     (dnsconfig's resolver, the delivery interface).
//
// The package imports no other package of esash: the MTA uses it.
package mtasts
