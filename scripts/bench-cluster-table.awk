# The table of `make bench-cluster`: reads `go test -bench BenchmarkCluster`
# output (cmd/esash/cluster_bench_test.go says what each figure measures)
# and prints standalone and cluster side by side. Lines it does not know
# pass through unchanged, so failures stay visible.
/^BenchmarkCluster\// {
	print
	split($1, name, "/")
	sub(/-[0-9]+$/, "", name[3])
	sub(/-[0-9]+$/, "", name[2])
	cell = (name[2] == "commit") ? name[3] : name[2]
	for (i = 3; i < NF; i += 2)
		m[cell, $(i + 1)] = $i
	seen = 1
	next
}
{ print }
function v(cell, unit) { return ((cell, unit) in m) ? sprintf("%.1f", m[cell, unit]) : "-" }
function row(label, a, b, note) { printf "%-34s %12s %18s  %s\n", label, a, b, note }
END {
	if (!seen)
		exit 1
	print ""
	row("", "standalone", "3-member cluster", "")
	row("commit latency p50 (ms)", v("standalone", "p50-ms"), v("cluster", "p50-ms"), "")
	row("commit latency p99 (ms)", v("standalone", "p99-ms"), v("cluster", "p99-ms"), "")
	row("commit to active on all p50 (ms)", v("standalone", "p50-ms"), v("cluster", "active-all-p50-ms"), "")
	row("commit to active on all p99 (ms)", v("standalone", "p99-ms"), v("cluster", "active-all-p99-ms"), "target < 250")
	row("daemon CPU per commit (ms)", v("standalone", "cpu-ms/op"), v("cluster", "cpu-ms/op"), "cluster: A+B+C")
	row("VmRSS idle (MB)", v("memory", "rss-standalone-idle-MB"), v("memory", "rss-member-idle-MB"), "added " v("memory", "rss-added-idle-MB"))
	row("VmRSS after the commits (MB)", v("memory", "rss-standalone-after-MB"), v("memory", "rss-member-after-MB"), "added " v("memory", "rss-added-after-MB"))
	row("  of which heap / mapped files (MB)", "", v("memory", "rss-anon-added-after-MB") " / " v("memory", "rss-file-added-after-MB"), "added")
	row("etcd data directory (MB)", "", v("memory", "disk-etcd-MB"), "WAL segments preallocated (64 MB each)")
	row("  of which database, snapshots (MB)", "", v("memory", "disk-etcd-db-MB"), "")
	row("CPU while idle (% of a core)", v("memory", "cpu-idle-standalone-%"), v("memory", "cpu-idle-member-%"), "")
	row("VmHWM (MB)", v("memory", "hwm-standalone-MB"), v("memory", "hwm-member-MB"), "")
	row("commits made", v("memory", "commits-standalone"), v("memory", "commits-cluster"), "")
}
