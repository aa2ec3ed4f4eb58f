package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// recordReader hands out its bytes in pieces of at most 16 KiB, as a
// tls.Conn hands out records.
type recordReader struct{ b []byte }

func (r *recordReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := len(r.b)
	if k > 16<<10 {
		k = 16 << 10
	}
	n := copy(p, r.b[:k])
	r.b = r.b[n:]
	return n, nil
}

// BenchmarkDataPath reads one message body as the server does after
// DATA's 354: from a connection handing out TLS-record-sized pieces,
// through the line limiter and the command reader's 4 KiB buffer, the
// dot reader, into a pooled buffer as mta's spool keeps it ("esash"); and
// as the bench's bare reference server does (ReadSlice lines off a 64 KiB
// buffer into nothing: "bare", the ceiling). One op is one message.
//
//	go test -run '^$' -bench DataPath -benchmem ./third_party/go-smtp/
func BenchmarkDataPath(b *testing.B) {
	line := strings.Repeat("x", 78) + "\r\n"
	for _, size := range []int{4 << 10, 100 << 10} {
		body := []byte("From: a@x.test\r\nTo: b@y.test\r\nSubject: bench\r\n\r\n" + strings.Repeat(line, size/len(line)) + ".\r\n")
		b.Run(fmt.Sprintf("size=%dK/bare", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			src := &recordReader{}
			br := bufio.NewReaderSize(src, 64<<10)
			for i := 0; i < b.N; i++ {
				src.b = body
				br.Reset(src)
				for {
					l, err := br.ReadSlice('\n')
					if err != nil && err != bufio.ErrBufferFull {
						b.Fatal(err)
					}
					if len(l) == 3 && l[0] == '.' {
						break
					}
				}
			}
		})
		b.Run(fmt.Sprintf("size=%dK/esash", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			src := &recordReader{}
			ll := &lineLimitReader{R: src, LineLimit: 2000}
			br := bufio.NewReader(ll)
			var spool bytes.Buffer
			for i := 0; i < b.N; i++ {
				src.b = body
				br.Reset(ll)
				spool.Reset()
				if _, err := spool.ReadFrom(&dataReader{r: br}); err != nil {
					b.Fatal(err)
				}
				if spool.Len() != len(body)-3 {
					b.Fatalf("read %d bytes, want %d", spool.Len(), len(body)-3)
				}
			}
		})
	}
}
