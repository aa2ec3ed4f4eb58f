package certconfig

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// timingReader is a script that notes how long the dialog takes from the
// key size answer to the next prompt (key generation, certificate, CSR).
type timingReader struct {
	*shell.ScriptReader
	answered time.Time
	took     time.Duration
}

func (r *timingReader) ReadLine(p string) (string, error) {
	if strings.HasPrefix(p, "Do you want to view the CSR?") && !r.answered.IsZero() {
		r.took = time.Since(r.answered)
	}
	line, err := r.ScriptReader.ReadLine(p)
	if p == "[1]> " && err == nil && r.took == 0 {
		r.answered = time.Now() // the last "[1]> " before the CSR question is the key size
	}
	return line, err
}

// BenchmarkNew is NEW's wait after the key size question, per key type:
//
//	go test ./commands/certconfig -run '^$' -bench BenchmarkNew -benchtime 20x
func BenchmarkNew(b *testing.B) {
	for _, kt := range []struct {
		name   string
		answer string
	}{{"RSA2048", "1"}, {"RSA4096", "2"}, {"ECDSA-P256", "3"}} {
		b.Run(kt.name, func(b *testing.B) {
			e := newEnv(b, testNow)
			script := "certconfig\ncertificate\nnew\n1\nweb\nmail.example.com\nN\n\n\n\n\n\n\n" + kt.answer + "\nN\n\n\n"
			var samples []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out bytes.Buffer
				r := &timingReader{ScriptReader: shell.NewScriptReader(strings.NewReader(script), &out)}
				s := e.Shell.NewSession(shell.SessionConfig{In: r, Out: &out, Err: &out, User: "admin", Source: "bench", DataDir: e.Dir})
				e.Shell.Run(s)
				if r.took == 0 {
					b.Fatalf("no CSR question:\n%s", out.String())
				}
				samples = append(samples, r.took)
			}
			b.StopTimer()
			sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkCommit200 is a commit with 200 certificate profiles in the
// configuration (target: under 50 ms): adding one more profile, and an
// unrelated change (the host name).
//
//	go test ./commands/certconfig -run '^$' -bench BenchmarkCommit200 -benchtime 200x
func BenchmarkCommit200(b *testing.B) {
	e := newEnv(b, testNow)
	profile := func(n string) config.Certificate {
		key, err := pki.GenerateKey(pki.ECDSAP256)
		if err != nil {
			b.Fatal(err)
		}
		cert, err := pki.SelfSigned(key, pki.Subject{CommonName: n + ".example.com"}, 365, testNow)
		if err != nil {
			b.Fatal(err)
		}
		keyPEM, _ := pki.EncodePrivateKeyPEM(key)
		return config.Certificate{Name: n, CertPEM: string(pki.EncodeCertificatePEM(cert)), KeyPEM: string(keyPEM)}
	}
	session := func() *shell.Session {
		var out bytes.Buffer
		return e.Shell.NewSession(shell.SessionConfig{In: shell.NewScriptReader(strings.NewReader(""), &out),
			Out: &out, Err: &out, User: "admin", Source: "bench", DataDir: e.Dir})
	}
	s := session()
	if err := s.Draft.Update(func(c *config.Config) error {
		for i := 0; i < 199; i++ {
			c.Certificates = append(c.Certificates, profile(fmt.Sprintf("p%03d", i)))
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Draft.Commit(context.Background(), "200 profiles", false, nil); err != nil {
		b.Fatal(err)
	}
	if n := len(e.DB.Head().Config.Certificates); n != 200 {
		b.Fatalf("%d profiles", n)
	}
	seq := 0 // across the runs the benchmark framework makes, so every commit changes something
	run := func(b *testing.B, stage func(i int, c *config.Config)) {
		var samples []time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s := session()
			seq++
			if err := s.Draft.Update(func(c *config.Config) error { stage(seq, c); return nil }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if _, err := s.Draft.Commit(context.Background(), "bench", true, nil); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		b.StopTimer()
		sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
		b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("hostname", func(b *testing.B) {
		run(b, func(i int, c *config.Config) { c.Hostname = fmt.Sprintf("h%d.example.com", i) })
	})
	b.Run("replace-profile", func(b *testing.B) {
		fresh := make([]config.Certificate, 0, 64)
		for i := 0; i < 64; i++ {
			fresh = append(fresh, profile("p100"))
		}
		run(b, func(i int, c *config.Config) {
			for j := range c.Certificates {
				if c.Certificates[j].Name == "p100" {
					c.Certificates[j] = fresh[i%len(fresh)]
				}
			}
		})
	})
}
