package mta

import (
	"os"
	"testing"
	"time"

	"esash/config"
)

func TestProfileServe(t *testing.T) {
	if os.Getenv("PROFILE_SERVE") == "" {
		t.Skip()
	}
	cp, _ := os.ReadFile("/tmp/bench/rsa.pem")
	kp, _ := os.ReadFile("/tmp/bench/rsa.key")
	cfg := config.Factory(config.Certificate{Name: "Demo", CertPEM: string(cp), KeyPEM: string(kp)})
	cfg.Interfaces[0].IPv4 = "127.9.0.9"
	l := &cfg.Listeners[0]
	l.MaxConnections = 1000
	l.DefaultPolicy.TLS = config.TLSInRequired
	l.DefaultPolicy.MaxConcurrency = 1000
	s := startMTA(t, "/dev/shm/prof", cfg)
	_ = s
	time.Sleep(12 * time.Second)
}
