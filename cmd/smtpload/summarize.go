package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// summarize reads the results a bench run appended (-out, one JSON object
// a line) and prints one table: per cell (size, messages per session,
// clients, DATA or BDAT) each target's median over its runs, its ratio to
// the bare reference server with the same kind of certificate, and for
// the relay cells esash's ratio to Postfix.
//
// Targets are the labels' first part: bare-rsa, bare-ecdsa, durable-rsa,
// durable-ecdsa, esash-rsa, esash-ecdsa, esash-base, postfix, relay-esash,
// relay-base, relay-postfix. A label with "ecdsa" in it is compared with
// bare-ecdsa, every other with bare-rsa (Postfix and the relays use the
// RSA certificate). When a durable ceiling ran, each esash target also
// gets a line with its ratio to the ceiling of its certificate kind.
func summarize(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: smtpload summarize RESULTS.jsonl")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpload summarize:", err)
		return 1
	}
	defer f.Close()
	if err := summarizeTo(os.Stdout, f); err != nil {
		fmt.Fprintln(os.Stderr, "smtpload summarize:", err)
		return 1
	}
	return 0
}

// summarizeTo writes the table of the results read from in.
func summarizeTo(w io.Writer, in io.Reader) error {
	runs, cells, err := readRuns(in) // what was read before an error is shown too
	fmt.Fprintln(w, "| size | per | c | mode | target | runs | msgs/s (median) | ÷ bare | msg p50/p99 ms | relay 250→250 p50/p99 ms | handshakes/msg | server CPU ms/msg | server / client CPU % | errors | undelivered |")
	fmt.Fprintln(w, "|---:|---:|---:|---|---|---:|---:|---:|---|---|---:|---:|---|---:|---:|")
	for _, k := range cells {
		targets := runs[k]
		names := make([]string, 0, len(targets))
		for t := range targets {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			summaryRow(w, k, t, targets)
		}
		durableRatios(w, k, names, targets)
		if e, ok := targets["relay-esash"]; ok {
			if p, ok := targets["relay-postfix"]; ok {
				if pr := rateOf(medianRun(p)); pr > 0 {
					fmt.Fprintf(w, "| %d | %d | %d | %s | relay esash ÷ Postfix | | %.2f× | | | | | | | | |\n",
						k.size, k.per, k.c, k.mode(), rateOf(medianRun(e))/pr)
				}
			}
		}
	}
	return err
}

// durableRatios writes, for each esash target of cell k, its ratio to
// the durable ceiling with the same certificate kind (durable-rsa or
// durable-ecdsa), when that ran: how much of the gap to the bare server
// is esash's and how much durability's.
func durableRatios(w io.Writer, k cellKey, names []string, targets map[string][]result) {
	for _, t := range names {
		if !strings.HasPrefix(t, "esash-") {
			continue
		}
		ceiling := "durable-rsa"
		if strings.Contains(t, "ecdsa") {
			ceiling = "durable-ecdsa"
		}
		d, ok := targets[ceiling]
		if !ok {
			continue
		}
		if dr := rateOf(medianRun(d)); dr > 0 {
			fmt.Fprintf(w, "| %d | %d | %d | %s | %s ÷ %s | | %.0f %% | | | | | | | | |\n",
				k.size, k.per, k.c, k.mode(), t, ceiling, 100*rateOf(medianRun(targets[t]))/dr)
		}
	}
}

// cellKey is one cell of the benchmark: message size, messages per
// session, senders, BDAT or DATA.
type cellKey struct {
	size, per, c int
	bdat         bool
}

func (k cellKey) mode() string {
	if k.bdat {
		return "BDAT"
	}
	return "DATA"
}

// readRuns reads smtpload's JSON rows: the runs of each cell by target
// (the label before its '/'), and the cells in table order (size, per,
// senders, DATA before BDAT).
func readRuns(in io.Reader) (map[cellKey]map[string][]result, []cellKey, error) {
	runs := map[cellKey]map[string][]result{}
	var cells []cellKey
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Per == 0 {
			continue // idle rows and anything else
		}
		k := cellKey{r.Size, r.Per, r.Clients, r.BDAT}
		if runs[k] == nil {
			runs[k] = map[string][]result{}
			cells = append(cells, k)
		}
		t, _, _ := strings.Cut(r.Label, "/")
		runs[k][t] = append(runs[k][t], r)
	}
	sort.SliceStable(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if a.size != b.size {
			return a.size < b.size
		}
		if a.per != b.per {
			return a.per < b.per
		}
		if a.c != b.c {
			return a.c < b.c
		}
		return !a.bdat && b.bdat
	})
	return runs, cells, sc.Err()
}

// summaryRow writes target t's row of cell k: its median run, its ratio to
// the bare server with the same certificate kind.
func summaryRow(w io.Writer, k cellKey, t string, targets map[string][]result) {
	m := medianRun(targets[t])
	rate := rateOf(m)
	ratio := "–"
	base := "bare-rsa"
	if strings.Contains(t, "ecdsa") {
		base = "bare-ecdsa"
	}
	if b, ok := targets[base]; ok && t != base {
		if br := rateOf(medianRun(b)); br > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*rate/br)
		}
	}
	relay, hs := "–", "–"
	if m.Relay {
		relay = fmt.Sprintf("%.2f / %.2f", m.RelayP50, m.RelayP99)
		hs = fmt.Sprintf("%.3f", m.HSPerMsg)
	}
	var errs, undelivered int64
	for _, r := range targets[t] {
		errs += r.Errors
		undelivered += r.Undelivered
	}
	fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %d | %.0f | %s | %.2f / %.2f | %s | %s | %.3f | %.0f / %.0f | %d | %d |\n",
		k.size, k.per, k.c, k.mode(), t, len(targets[t]), rate, ratio, m.MsgP50, m.MsgP99, relay, hs,
		m.CPUPerMsg, m.ServerCPU, m.ClientCPU, errs, undelivered)
}

// rateOf is a run's throughput: end to end for a relay cell.
func rateOf(r result) float64 {
	if r.Relay {
		return r.E2EPerSec
	}
	return r.MsgsPerSec
}

// medianRun is the run with the median throughput (the lower middle one
// of an even count).
func medianRun(rs []result) result {
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return rateOf(s[i]) < rateOf(s[j]) })
	return s[(len(s)-1)/2]
}
