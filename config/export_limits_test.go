package config

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Hostile configuration files for ParseExport (issue 12, item 7): a 48 MB
// file of <x/> took the daemon to 1.8 GB. Each is a valid XML document
// under loadconfig's 64 MB limit.
func hostileExport(kind string, size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 64)
	head := `<config version="` + ExportVersion + `" passphrases="masked">`
	switch kind {
	case "elements": // the most elements per byte
		b.WriteString(head)
		for b.Len() < size {
			b.WriteString("<x/>")
		}
		b.WriteString("</config>")
	case "attributes": // one element, all attributes
		b.WriteString(head + "<x")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, " a%d=''", i)
		}
		b.WriteString("/></config>")
	case "text": // one text
		b.WriteString(head + "<x>")
		b.Write(bytes.Repeat([]byte("a"), size))
		b.WriteString("</x></config>")
	case "wide": // many siblings with a little text each
		b.WriteString(head)
		for b.Len() < size {
			b.WriteString("<x>1</x>")
		}
		b.WriteString("</config>")
	}
	return b.Bytes()
}

// allocated runs f and returns the bytes it allocated: an upper bound on
// the live heap it needed on top of what existed before.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestParseExportLimits(t *testing.T) {
	const size = 48 << 20 // the file of the issue
	for _, tc := range []struct{ kind, want string }{
		{"elements", fmt.Sprintf("more than %d elements", maxExportElements)},
		{"attributes", "longer than 4 MB"},
		{"text", "longer than 4 MB"},
		{"wide", fmt.Sprintf("more than %d elements", maxExportElements)},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			data := hostileExport(tc.kind, size)
			var err error
			n := allocated(func() { _, err = ParseExport(data) })
			var ce *ConfigFileError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a ConfigFileError saying %q", err, tc.want)
			}
			if n > 8*uint64(len(data)) {
				t.Errorf("%d MB allocated for a %d MB file: more than 8 times its size", n>>20, len(data)>>20)
			}
		})
	}
	// At the limits, a file still parses: the error is the missing
	// structure further on, not the size.
	data := hostileExport("elements", 4*(maxExportElements-2))
	if _, err := ParseExport(data); err != nil {
		t.Errorf("%d elements: %v", maxExportElements-1, err)
	}
}

// BenchmarkParseExportWorst measures what ParseExport allocates for each
// hostile file of 48 MB (alloc-MB, an upper bound on its peak heap) and
// its ratio to the file size (alloc/size). Peak RSS of one case:
//
//	/usr/bin/time -v go test ./config -run '^$' -bench 'ParseExportWorst/elements' -benchtime 1x
func BenchmarkParseExportWorst(b *testing.B) {
	for _, kind := range []string{"elements", "attributes", "text", "wide"} {
		b.Run(kind, func(b *testing.B) {
			data := hostileExport(kind, 48<<20)
			var n uint64
			for b.Loop() {
				n = allocated(func() { ParseExport(data) })
			}
			b.ReportMetric(float64(n)/(1<<20), "alloc-MB")
			b.ReportMetric(float64(n)/float64(len(data)), "alloc/size")
		})
	}
}
