package resolver

import (
	"context"
	"strings"

	"github.com/miekg/dns"
)

// LookupTXT returns the TXT records of name, each record's strings joined
// as RFC 7208 §3.3 and RFC 8461 §3.1 read them. No TXT records is a
// *net.DNSError with IsNotFound (MTA-STS and TLS-RPT discovery).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ans, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	if ans.notFound {
		return nil, notFound(name, ans)
	}
	out := make([]string, 0, len(ans.rrs))
	for _, rr := range ans.rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}
