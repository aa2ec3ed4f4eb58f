package config

import "testing"

// The pieces of a commit on a configuration with 10,000 destination
// entries:
//
//	go test ./config -run '^$' -bench . -benchmem

func BenchmarkClone10k(b *testing.B) {
	c := withEntries(factory(b), 10000)
	b.ReportAllocs()
	for b.Loop() {
		c.Clone()
	}
}

func BenchmarkDiff10kOneChange(b *testing.B) {
	a := withEntries(factory(b), 10000)
	c := a.Clone()
	c.Destinations.Entries[5000].MaxConcurrency++
	b.ReportAllocs()
	for b.Loop() {
		if len(Diff(a, c)) != 1 {
			b.Fatal("want one change")
		}
	}
}

func BenchmarkDiff10kOneAdded(b *testing.B) {
	a := withEntries(factory(b), 10000)
	c := a.Clone()
	c.Destinations.Entries = append(c.Destinations.Entries, DestControl{Domain: "new.example.com"})
	b.ReportAllocs()
	for b.Loop() {
		Diff(a, c)
	}
}

func BenchmarkValidateChange10k(b *testing.B) {
	a := withEntries(factory(b), 10000)
	c := a.Clone()
	c.Destinations.Entries[5000].MaxConcurrency++
	b.ReportAllocs()
	for b.Loop() {
		if ps := ValidateChange(a, c, testNow); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}

func BenchmarkApplyInvert10kRemoved(b *testing.B) {
	a := withEntries(factory(b), 10000)
	c := a.Clone()
	c.Destinations.Entries = append(c.Destinations.Entries[:5000:5000], c.Destinations.Entries[5001:]...)
	inv := Invert(Diff(a, c))
	b.ReportAllocs()
	for b.Loop() {
		if err := Apply(c.Clone(), inv); err != nil {
			b.Fatal(err)
		}
	}
}
