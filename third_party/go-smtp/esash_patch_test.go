package smtp

// Tests of the esash patch (see ESASH-PATCH.md): the bulk DATA reader and
// the IndexByte line limiter must behave exactly like the v0.25.1 byte
// loops they replace, whatever the input and however the network splits it.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand"
	"strings"
	"testing"
	"testing/iotest"
)

// origDataRead is v0.25.1's dataReader.Read, unchanged but for the
// receiver's fields being passed in.
func origDataRead(br *bufio.Reader, state *int, b []byte) (n int, err error) {
	const (
		stateBeginLine = iota
		stateDot
		stateDotCR
		stateCR
		stateData
		stateEOF
	)
	for n < len(b) && *state != stateEOF {
		var c byte
		c, err = br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch *state {
		case stateBeginLine:
			if c == '.' {
				*state = stateDot
				continue
			}
			if c == '\r' {
				*state = stateCR
				break
			}
			*state = stateData
		case stateDot:
			if c == '\r' {
				*state = stateDotCR
				continue
			}
			*state = stateData
		case stateDotCR:
			if c == '\n' {
				*state = stateEOF
				continue
			}
			*state = stateData
		case stateCR:
			if c == '\n' {
				*state = stateBeginLine
				break
			}
			*state = stateData
		case stateData:
			if c == '\r' {
				*state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && *state == stateEOF {
		err = io.EOF
	}
	return
}

// refDataRead is origDataRead with the esash bare CR rule, written byte
// by byte as plainly as possible: a CR not followed by LF is a line end
// and gets an LF after it; the byte after it is line content; ".<CR>" at
// the start of a line is a stuffed dot before such a line end. The bulk
// reader must match it.
func refDataRead(br *bufio.Reader, state *int, b []byte) (n int, err error) {
	const (
		stateBeginLine = iota
		stateDot
		stateDotCR
		stateCR
		stateData
		stateEOF
	)
	for n < len(b) && *state != stateEOF {
		var c byte
		c, err = br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch *state {
		case stateBeginLine:
			if c == '.' {
				*state = stateDot
				continue
			}
			if c == '\r' {
				*state = stateCR
				break
			}
			*state = stateData
		case stateDot:
			if c == '\r' {
				*state = stateDotCR
				continue
			}
			*state = stateData
		case stateDotCR:
			if c == '\n' {
				*state = stateEOF
				continue
			}
			br.UnreadByte()
			c = '\r'
			*state = stateCR
		case stateCR:
			if c == '\n' {
				*state = stateBeginLine
				break
			}
			br.UnreadByte()
			c = '\n'
			*state = stateData
		case stateData:
			if c == '\r' {
				*state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && *state == stateEOF {
		err = io.EOF
	}
	return
}

type refReader struct {
	br    *bufio.Reader
	state int
}

func (o *refReader) Read(b []byte) (int, error) { return refDataRead(o.br, &o.state, b) }

type origReader struct {
	br    *bufio.Reader
	state int
}

func (o *origReader) Read(b []byte) (int, error) { return origDataRead(o.br, &o.state, b) }

// readAllIn reads r with reads of the given sizes, cycling, and returns
// what it got, the error that ended it, and what is left in br after it.
func readAllIn(r io.Reader, br *bufio.Reader, sizes []int) ([]byte, error, []byte) {
	var out []byte
	var err error
	for i := 0; ; i++ {
		buf := make([]byte, sizes[i%len(sizes)])
		var n int
		n, err = r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	rest, _ := io.ReadAll(br)
	return out, err, rest
}

func compareDataReaders(t *testing.T, input []byte, sizes []int, split func(io.Reader) io.Reader, bufSize int) {
	t.Helper()
	obr := bufio.NewReaderSize(split(bytes.NewReader(input)), bufSize)
	want, wantErr, wantRest := readAllIn(&refReader{br: obr}, obr, sizes)
	nbr := bufio.NewReaderSize(split(bytes.NewReader(input)), bufSize)
	got, gotErr, gotRest := readAllIn(&dataReader{r: nbr}, nbr, sizes)
	if !bytes.Equal(got, want) || !errors.Is(gotErr, wantErr) || !bytes.Equal(gotRest, wantRest) {
		t.Fatalf("input %q sizes %v:\n got  %q %v rest %q\n want %q %v rest %q",
			input, sizes, got, gotErr, gotRest, want, wantErr, wantRest)
	}
}

var splits = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one-byte": iotest.OneByteReader,
	"half":     iotest.HalfReader,
	"data+EOF": iotest.DataErrReader,
}

// TestEsashDataReaderMatchesOriginal compares the bulk reader with the
// byte-wise reference (v0.25.1 plus the bare CR rule).
func TestEsashDataReaderMatchesOriginal(t *testing.T) {
	cases := map[string]string{
		"empty message":        ".\r\n",
		"simple":               "Subject: x\r\n\r\nhello\r\n.\r\n",
		"dot-stuffed":          "..leading dot\r\n...two\r\n.\r\n",
		"lone CR and LF":       "a\rb\nc\r\r\n.\r\n",
		"dot then data":        ".x\r\n.\rx\r\n.\r\n",
		"bare LF dot":          "a\n.\n.\r\n",
		"trailing after end":   "body\r\n.\r\nQUIT\r\n",
		"unterminated":         "no end here\r\n",
		"cut after dot":        "line\r\n.",
		"cut after dot CR":     "line\r\n.\r",
		"CR at buffer borders": strings.Repeat("x", 15) + "\r\n" + strings.Repeat("y", 16) + "\r\n.\r\n",
		"long lines":           strings.Repeat(strings.Repeat("z", 100)+"\r\n", 20) + ".\r\n",
	}
	for name, in := range cases {
		for sname, split := range splits {
			for _, sizes := range [][]int{{1}, {3, 7}, {16}, {4096}} {
				t.Run(name+"/"+sname, func(t *testing.T) {
					compareDataReaders(t, []byte(in), sizes, split, 16)
				})
			}
		}
	}
}

func TestEsashDataReaderRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("ab.\r\n")
	for i := 0; i < 3000; i++ {
		in := make([]byte, rng.Intn(200))
		for j := range in {
			in[j] = alphabet[rng.Intn(len(alphabet))]
		}
		if rng.Intn(2) == 0 {
			in = append(in, "\r\n.\r\nNEXT"...)
		}
		sizes := []int{1 + rng.Intn(40), 1 + rng.Intn(40)}
		for _, split := range splits {
			compareDataReaders(t, in, sizes, split, 16+rng.Intn(64))
		}
	}
}

// TestEsashDataReaderLarge: large reads over bodies of many lines, with
// the server's 4 KiB command buffer, split as a network splits them, give
// what the byte-wise reference gives: the same message, the same error,
// the same bytes left for the commands after the end of data.
func TestEsashDataReaderLarge(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	pieces := []string{"plain line of text\r\n", strings.Repeat("y", 200) + "\r\n", "..stuffed\r\n", ".\rx\r\n",
		"bare\rCR\r\n", "bare\nLF\r\n", "\r\n", "x", ".", "\r", "\n", "\r\n.\r\nNEXT\r\n"}
	records := func(r io.Reader) io.Reader { return &randomReads{r: r, rng: rand.New(rand.NewSource(rng.Int63()))} }
	allSplits := map[string]func(io.Reader) io.Reader{"whole": splits["whole"], "half": splits["half"], "records": records,
		"data with EOF": func(r io.Reader) io.Reader { return iotest.DataErrReader(records(r)) }}
	for i := 0; i < 400; i++ {
		var in []byte
		for target := rng.Intn(40000); len(in) < target; {
			p := pieces[rng.Intn(len(pieces))]
			if rng.Intn(4) > 0 {
				p = pieces[rng.Intn(2)] // mostly plain lines, as mail is
			}
			in = append(in, p...)
		}
		if rng.Intn(3) > 0 {
			in = append(in, "\r\n.\r\nMAIL FROM:<a@b>\r\n"...)
		}
		sizes := []int{4096 + rng.Intn(40000), 1 + rng.Intn(40), 4096}
		for name, split := range allSplits {
			t.Run(name, func(t *testing.T) { compareDataReaders(t, in, sizes, split, 4096) })
		}
	}
}

// randomReads hands out its reader's bytes in reads of random sizes up to
// 16 KiB, as TLS records and TCP segments come.
type randomReads struct {
	r   io.Reader
	rng *rand.Rand
}

func (r *randomReads) Read(p []byte) (int, error) {
	if k := 1 + r.rng.Intn(16<<10); k < len(p) {
		p = p[:k]
	}
	return r.r.Read(p)
}

func FuzzEsashDataReader(f *testing.F) {
	f.Add([]byte("a\r\n..b\r\n.\r\nrest"), uint8(5), uint8(16))
	f.Add([]byte(".\r\n"), uint8(1), uint8(16))
	f.Fuzz(func(t *testing.T, in []byte, size, buf uint8) {
		sizes := []int{1 + int(size)%64, 4096 + int(size)*37} // small reads, and large ones
		for _, split := range splits {
			compareDataReaders(t, in, sizes, split, 16+int(buf))
		}
	})
}

// origLineLimit is v0.25.1's byte loop.
func origLineLimit(cur *int, limit int, b []byte) error {
	for _, chr := range b {
		if chr == '\n' {
			*cur = 0
		}
		*cur++
		if *cur > limit {
			return ErrTooLongLine
		}
	}
	return nil
}

// origLimitReader is v0.25.1's lineLimitReader.Read with origLineLimit.
type origLimitReader struct {
	r     io.Reader
	limit int
	cur   int
}

func (o *origLimitReader) Read(b []byte) (int, error) {
	if o.cur > o.limit {
		return 0, ErrTooLongLine
	}
	n, err := o.r.Read(b)
	if err != nil {
		return n, err
	}
	if err := origLineLimit(&o.cur, o.limit, b[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

func TestEsashLineLimitMatchesOriginal(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 5000; i++ {
		limit := 1 + rng.Intn(20)
		in := make([]byte, rng.Intn(160))
		for j := range in {
			if rng.Intn(8) == 0 {
				in[j] = '\n'
			} else {
				in[j] = 'x'
			}
		}
		chunk := 1 + rng.Intn(30)
		patched := &lineLimitReader{R: iotest.HalfReader(bytes.NewReader(in)), LineLimit: limit}
		orig := &origLimitReader{r: iotest.HalfReader(bytes.NewReader(in)), limit: limit}
		// Two reads past the first error show that it is sticky in both.
		for errs := 0; errs < 2; {
			pb, ob := make([]byte, chunk), make([]byte, chunk)
			pn, perr := patched.Read(pb)
			on, oerr := orig.Read(ob)
			if pn != on || perr != oerr || !bytes.Equal(pb[:pn], ob[:on]) {
				t.Fatalf("limit %d input %q chunk %d: patched (%d, %v), original (%d, %v)", limit, in, chunk, pn, perr, on, oerr)
			}
			if perr != nil {
				errs++
			}
		}
	}
}

// BenchmarkEsashDataReader reads a 100 KiB body of 76-character lines, as
// the load tool sends it, with the original reader and the patched one.
func BenchmarkEsashDataReader(b *testing.B) {
	line := strings.Repeat("x", 76) + "\r\n"
	body := []byte(strings.Repeat(line, 100<<10/len(line)) + ".\r\n")
	for _, bc := range []struct {
		name string
		new  func(*bufio.Reader) io.Reader
	}{
		{"original", func(br *bufio.Reader) io.Reader { return &origReader{br: br} }},
		{"patched", func(br *bufio.Reader) io.Reader { return &dataReader{r: br} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			src := bytes.NewReader(body)
			br := bufio.NewReader(src)
			buf := make([]byte, 32<<10)
			for i := 0; i < b.N; i++ {
				src.Reset(body)
				br.Reset(src)
				r := bc.new(br)
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
			}
		})
	}
}

// The bare CR rule: what the reader stores for bodies carrying the SMTP
// smuggling sequences. Only CR LF . CR LF ends a message; a bare CR is a
// line end (CR LF) and never the start of an end-of-data line.
func TestEsashBareCR(t *testing.T) {
	cases := []struct {
		name, in, want, rest string
	}{
		{"CR dot CR", "a\r.\r\nMAIL FROM:<x@y>\r\n.\r\nnext", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", "next"},
		{"CR dot CR LF", "a\r.\r\r\nb\r\n.\r\n", "a\r\n.\r\n\r\nb\r\n", ""},
		{"LF dot CR LF", "a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", ""},
		{"stuffed dot then CR", "a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", ""},
		{"CR CR", "a\r\rb\r\n.\r\n", "a\r\n\r\nb\r\n", ""},
		{"plain", "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(c.in), 16)
			got, err := io.ReadAll(&dataReader{r: br})
			rest, _ := io.ReadAll(br)
			if err != nil || string(got) != c.want || string(rest) != c.rest {
				t.Fatalf("got %q (%v) rest %q, want %q rest %q", got, err, rest, c.want, c.rest)
			}
		})
	}
}
