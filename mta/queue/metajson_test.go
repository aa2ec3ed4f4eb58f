package queue

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendMetaMatchesJSON: appendMeta writes what json.Marshal writes,
// byte for byte, for the metas a queue stores and for strings and times
// at the edges of JSON's escaping.
func TestAppendMetaMatchesJSON(t *testing.T) {
	now := time.Date(2026, 12, 5, 23, 1, 2, 345678900, time.FixedZone("", 3600))
	odd := []string{"", "plain", `quote " and \ back`, "<html>&amp;", "ctl \x00\x01\x1f\x7f \b\f\n\r\t",
		"ünïcödé", "bad \xff utf8", "line \u2028 sep \u2029", "emoji 📨"}
	cases := []struct {
		name string
		m    Meta
	}{
		{"empty", Meta{}},
		{"received message", Meta{MID: 42, ICID: 7, Listener: "IncomingMail", Interface: "Management", RemoteIP: "127.0.0.1",
			RemoteHost: "client.test", HELO: "client.test", From: "a@x.test", To: []string{"b@y.test", "c@y.test"},
			TLS:   &TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "mx.test", PeerCert: "CN=client"},
			Relay: true, Time: now, RecvLen: 180, Size: 4096}},
		{"null sender, no TLS", Meta{MID: 1, To: []string{"x@y"}, Time: now.UTC(), Size: 1}},
		{"to empty, not nil", Meta{MID: 1, To: []string{}, Time: now}},
		{"retry fields", Meta{MID: -5, Received: "Received: from x\r\n\tby y", RIDs: []int{0, 3, 12}, Attempts: 3,
			NextTry: now.Add(time.Hour), Time: now}},
		{"time without nanoseconds", Meta{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
	}
	for i, s := range odd {
		cases = append(cases, struct {
			name string
			m    Meta
		}{"odd string " + string(rune('a'+i)), Meta{Listener: s, HELO: s, From: s, To: []string{s, s}, TLS: &TLSInfo{Version: s, ServerName: s}, Time: now}})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.IntN(20))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		cases = append(cases, struct {
			name string
			m    Meta
		}{"random bytes", Meta{HELO: string(b), From: string(b[:len(b)/2]), Time: now}})
	}
	for _, tc := range cases {
		want, werr := json.Marshal(tc.m)
		got, gerr := appendMeta([]byte("prefix"), &tc.m)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: error %v, json.Marshal's %v", tc.name, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%s:\n got %s\nwant prefix%s", tc.name, got, want)
		}
	}
	for _, mid := range []int64{0, 1, -7, 1 << 62} {
		want, _ := json.Marshal(recordMeta{MID: mid})
		if got := appendRemoveMeta(nil, mid); !bytes.Equal(got, want) {
			t.Errorf("removal of MID %d: got %s, want %s", mid, got, want)
		}
	}
	// A time json refuses is refused.
	if _, err := appendMeta(nil, &Meta{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 encoded; json.Marshal refuses it")
	}
}

// BenchmarkMetaEncode: a received message's meta, by encoding/json and by
// appendMeta (the queue encodes one per message it receives).
func BenchmarkMetaEncode(b *testing.B) {
	m := Meta{MID: 123456, ICID: 7890, Listener: "IncomingMail", Interface: "Management", RemoteIP: "127.9.0.1",
		HELO: "load.bench.test", From: "load@bench.test", To: []string{"sink@bench.test"},
		TLS: &TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"}, Time: time.Now(), RecvLen: 200, Size: 4096}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendMeta", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for i := 0; i < b.N; i++ {
			if _, err := appendMeta(buf[:0], &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
