package queue

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// A record's recv_len comes from disk: a sealed segment is not CRC-checked
// at Open, and a CRC-valid record may still carry a bad value (a writer
// bug, an edited file). Out of range, it must neither panic (make with a
// negative length) nor allocate what it says (terabytes) when the
// Received header is asked for: the record is damage, like a meta that
// does not parse.
func TestCorruptRecvLen(t *testing.T) {
	body := "Received: x\r\n\r\nhello\r\n"
	cases := []struct {
		name    string
		recvLen int
	}{
		{"negative", -5},
		{"beyond the message", len(body) + 1},
		{"huge", 1 << 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var seg []byte
			record := func(kind byte, m any, body string) {
				raw, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				pay := append([]byte{kind, 0, 0, 0, 0}, raw...)
				binary.BigEndian.PutUint32(pay[1:5], uint32(len(raw)))
				pay = append(pay, body...)
				var hdr [headerLen]byte
				binary.BigEndian.PutUint32(hdr[0:4], uint32(len(pay)))
				binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(pay, castagnoli))
				seg = append(append(seg, hdr[:]...), pay...)
			}
			record(recMessage, Meta{MID: 1, To: []string{"b@y.test"}, RecvLen: len("Received: x")}, body)
			record(recMessage, Meta{MID: 2, To: []string{"b@y.test"}, RecvLen: tc.recvLen}, body)
			// Sealed (not CRC-checked) and newest (CRC-checked) segments.
			if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, segName(2)), seg[:0:0], 0o600); err != nil {
				t.Fatal(err)
			}
			for _, bg := range []bool{false, true} {
				q, err := Open(dir, Options{Background: bg})
				if err != nil {
					t.Fatalf("background %v: open: %v", bg, err)
				}
				<-q.Loaded()
				if got, err := q.Received(1); err != nil || got != "Received: x" {
					t.Fatalf("background %v: MID 1 Received %q %v", bg, got, err)
				}
				if got, err := q.Received(2); err == nil {
					t.Fatalf("background %v: MID 2 with recv_len %d: Received %q, want an error (damaged record)", bg, tc.recvLen, got)
				}
				q.Close()
			}
		})
	}
}
