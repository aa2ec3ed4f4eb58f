package main

import "esash/commands/dnsstatus"

// DNSStatus implements dnsstatus.Source: the MTA's DNS counters and
// caches when it runs in this process. A script that has not opened the
// MTA has none, and does not open it to show them (as status). The
// counters start with the MTA, so their reset time is its start, the
// one status shows.
func (h *mtaHandle) DNSStatus() dnsstatus.Snapshot {
	srv := h.opened()
	if srv == nil {
		return dnsstatus.Snapshot{}
	}
	h.stats.mu.Lock()
	since := h.stats.since
	h.stats.mu.Unlock()
	st := srv.DNSStatus()
	return dnsstatus.Snapshot{Running: true, Since: since, Counts: st.Counts,
		CacheEntries: st.CacheEntries, ReverseNames: st.ReverseNames}
}
