package resolver

import (
	"errors"
	"net"
	"sync"
)

// Stats counts what resolvers did, for dnsstatus. One Stats may serve
// many resolvers: the MTA gives the same one to every resolver it builds,
// so the counts outlive a dnsconfig change (a new resolver). A resolver
// built without one (Options.Stats nil: ldapconfig's probe) counts
// nothing. The zero value is ready; it is safe for concurrent use.
//
// What is counted, and where: a question asked of the resolver (query)
// is a request, answered from the cache (a hit) or not (a miss, of which
// "expired" found an answer past its time); a miss no server answered is
// a failed request. Each server a miss is asked of is one network
// request (a truncated UDP answer asked again over TCP stays one), and
// ends in exactly one outcome: an answer with records, NXDOMAIN, no
// records of the type (NODATA), a server failure (SERVFAIL, REFUSED or
// another error code), a timeout, or another network error (a message
// that cannot be read, or is no reply to the question: checkReply). A
// caller that gives up while a server is asked (its context ends) ends
// that network request as a timeout and the request as failed: no answer
// came in the time the caller had. So a
// question that falls over from a dead server to the next is one
// request, one miss, two network requests, one timeout or network error
// and one answer. Questions that do not go through query (dig's, which
// bypass the cache) are not counted, nor are names answered without a
// question (localhost, IP literals) or names that are not domain names.
//
// Related counters change together, under one lock, so a snapshot is
// never torn: Requests = CacheHits + CacheMisses, and NetworkRequests is
// the sum of its six outcomes, whenever Counts is read.
type Stats struct {
	mu sync.Mutex
	c  Counts
}

// Counts is a snapshot of Stats.
type Counts struct {
	Requests     int64 // questions asked of the resolver
	CacheHits    int64 // answered from the cache
	CacheMisses  int64 // not in the cache, or expired there
	CacheExpired int64 // of the misses: an answer was cached, past its time
	// FailedRequests are misses no server answered (every server failed,
	// none configured, an unusable configuration, the caller gave up).
	FailedRequests int64

	NetworkRequests int64 // questions sent to a server
	Answers         int64 // answered with records of the type asked
	NXDomain        int64 // answered: the name does not exist
	NoData          int64 // answered: the name has no records of the type
	ServerFailures  int64 // SERVFAIL, REFUSED or another error code
	Timeouts        int64 // no answer in Options.Timeout, or before the caller gave up
	NetworkErrors   int64 // refused connection, unreachable, I/O error
	// Authenticated are the network answers (records, NXDOMAIN or NODATA)
	// with the AD bit: authenticated by DNSSEC.
	Authenticated int64
}

// Counts returns the counts so far; a nil Stats has none.
func (s *Stats) Counts() Counts {
	if s == nil {
		return Counts{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// cacheLookup counts a request and what the cache had for it.
func (s *Stats) cacheLookup(hit, expired bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Requests++
	switch {
	case hit:
		s.c.CacheHits++
	case expired:
		s.c.CacheMisses++
		s.c.CacheExpired++
	default:
		s.c.CacheMisses++
	}
}

// failedRequest counts a miss that got no answer.
func (s *Stats) failedRequest() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.c.FailedRequests++
	s.mu.Unlock()
}

// exchanged counts one network request by its outcome: exchange's answer
// or error.
func (s *Stats) exchanged(ans answer, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.NetworkRequests++
	var de *net.DNSError
	switch {
	case err == nil:
		switch {
		case ans.nxdomain:
			s.c.NXDomain++
		case ans.notFound:
			s.c.NoData++
		default:
			s.c.Answers++
		}
		if ans.secure {
			s.c.Authenticated++
		}
	case errors.Is(err, errServerFailure):
		s.c.ServerFailures++
	case errors.As(err, &de) && de.IsTimeout:
		s.c.Timeouts++
	default:
		s.c.NetworkErrors++
	}
}
