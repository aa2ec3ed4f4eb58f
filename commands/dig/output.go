package dig

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"esash/config"
	"esash/resolver"
)

// render is dig's output for a reply (or the error of a question no
// server answered), in BIND dig's layout.
func render(res resolver.DigResult, err error, now time.Time) string {
	var b strings.Builder
	for _, f := range res.Failed {
		if f.Reply != nil {
			fmt.Fprintf(&b, ";; Got %s reply from %s, trying next server\n", dns.RcodeToString[f.Reply.Rcode], serverLabel(f.Addr, f.Server))
		} else {
			fmt.Fprintf(&b, ";; communications error to %s: %s\n", serverLabel(f.Addr, f.Server), reason(f.Err))
		}
	}
	if err != nil {
		if len(res.Failed) > 0 {
			b.WriteString(";; no servers could be reached\n")
		} else {
			fmt.Fprintf(&b, ";; %s\n", err)
		}
		return b.String()
	}
	b.WriteString(";; Got answer:\n")
	// miekg/dns writes dig's sections; dig's header line has its marker.
	b.WriteString(strings.Replace(res.Reply.String(), ";; opcode:", ";; ->>HEADER<<- opcode:", 1))
	fmt.Fprintf(&b, "\n;; Query time: %d msec\n", res.Time.Milliseconds())
	fmt.Fprintf(&b, ";; SERVER: %s (%s)\n", serverLabel(res.Addr, res.Server), strings.ToUpper(res.Network))
	fmt.Fprintf(&b, ";; WHEN: %s\n", now.Format("Mon Jan 02 15:04:05 MST 2006"))
	// miekg/dns keeps no wire bytes: the size is the reply's packed with
	// name compression, as servers send it.
	res.Reply.Compress = true
	fmt.Fprintf(&b, ";; MSG SIZE  rcvd: %d\n\n", res.Reply.Len())
	return b.String()
}

// serverLabel is dig's name of a server: address#port(name), the name
// being the host name the server is known by, else its address.
func serverLabel(addr, name string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr
	}
	host, _, _ := strings.Cut(name, " (") // an alternate: "ns.example.com (192.0.2.1)"
	if _, a, msg := config.ParseDNSAddress(host); msg == "" {
		host = a.Addr().String()
	}
	return fmt.Sprintf("%s#%d(%s)", ap.Addr(), ap.Port(), host)
}

// reason is why a server could not be reached, as dig says it
// ("connection refused", "timed out").
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		err = sys.Err
	}
	return err.Error()
}
