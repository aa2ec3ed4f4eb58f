package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/store"
)

// Reload under load: 100 commits alternate two certificates while clients
// keep opening STARTTLS sessions. Every handshake succeeds and presents one
// of the two; every message acknowledged with 250 is in the queue; the
// listener never refuses a connection. The appliance runs in-process and
// commits go through a session draft with the shell's Prepare, as
// `commit` does.
func TestMTAReloadUnderLoad(t *testing.T) {
	t.Parallel()
	p := newPeerPKI(t)
	// Two distinct leaves for one profile name: A and B.
	certA, certB := p.profile(t, "PeerCert", mxHost), p.profile(t, "PeerCert", mxHost)
	dir, a := mtaData(t, useProfile(certA, config.TLSInPreferred))
	app, err := openAppliance(options{dataDir: dir, now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if app.bootErr != nil {
		t.Fatal(app.bootErr)
	}
	known := map[string]string{}
	for name, c := range map[string]config.Certificate{"A": certA, "B": certB} {
		known[string(mustLeaf(t, c).Raw)] = name
	}

	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	var mu sync.Mutex
	var acked []string
	var failures []string
	served := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-m%d", w, i)
				c, err := smtp.DialStartTLS(a, &tls.Config{RootCAs: pool, ServerName: mxHost})
				if err != nil {
					mu.Lock()
					failures = append(failures, id+": dial: "+err.Error())
					mu.Unlock()
					continue
				}
				err = c.Hello("load.test")
				var which string
				if st, ok := c.TLSConnectionState(); ok && err == nil {
					which = known[string(st.PeerCertificates[0].Raw)]
				}
				if err == nil && which == "" {
					err = fmt.Errorf("unknown certificate served")
				}
				if err == nil {
					err = c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader("Subject: "+id+"\r\n\r\nbody\r\n"))
				}
				c.Close()
				mu.Lock()
				if err != nil {
					failures = append(failures, id+": "+err.Error())
				} else {
					acked = append(acked, id)
					served[which]++
				}
				mu.Unlock()
			}
		}(w)
	}
	// Commit 100 times, alternating; after each, time how long until a
	// fresh handshake serves the new certificate.
	var lags []time.Duration
	for i := 0; i < 100; i++ {
		next, want := certB, "B"
		if i%2 == 1 {
			next, want = certA, "A"
		}
		d := store.NewDraft(app.db, "admin", "test")
		if err := d.Update(func(c *config.Config) error {
			for j := range c.Certificates {
				if c.Certificates[j].Name == "PeerCert" {
					c.Certificates[j] = next
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Commit(context.Background(), fmt.Sprintf("swap %d", i), false, app.prepare); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		answered := time.Now()
		for {
			c, err := smtp.DialStartTLS(a, &tls.Config{RootCAs: pool, ServerName: mxHost})
			if err != nil {
				t.Fatalf("after commit %d: %v", i, err)
			}
			err = c.Hello("probe.test")
			st, _ := c.TLSConnectionState()
			c.Close()
			if err != nil {
				t.Fatalf("after commit %d: %v", i, err)
			}
			if known[string(st.PeerCertificates[0].Raw)] == want {
				lags = append(lags, time.Since(answered))
				break
			}
			if time.Since(answered) > 5*time.Second {
				t.Fatalf("commit %d: certificate %s never served", i, want)
			}
		}
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d sessions failed, first: %s", len(failures), len(failures)+len(acked), failures[0])
	}
	inQueue := map[string]bool{}
	for _, m := range app.mta.Queue().List() {
		b, err := app.mta.Queue().Read(m.MID)
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(string(b), "Subject: "); i >= 0 {
			inQueue[strings.SplitN(string(b[i+9:]), "\r\n", 2)[0]] = true
		}
	}
	for _, id := range acked {
		if !inQueue[id] {
			t.Errorf("%s got 250 but is not in the queue", id)
		}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("%d sessions (A %d, B %d), no failure; commit answer to first handshake with the new certificate: p50 %v, p99 %v, max %v",
		len(acked), served["A"], served["B"], lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	if served["A"] == 0 || served["B"] == 0 {
		t.Fatalf("load saw only one certificate: %v", served)
	}
}

func mustLeaf(t *testing.T, c config.Certificate) *x509.Certificate {
	pair, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}
