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
function row(label, a, b, c, note) { printf "%-34s %11s %15s %17s  %s\n", label, a, b, c, note }
function mem(unit) { return v("memory", unit) }
END {
	if (!seen)
		exit 1
	print ""
	row("", "standalone", "cluster: on the", "cluster: on a", "")
	row("", "", "etcd leader", "follower", "")
	row("commit latency p50 (ms)", v("standalone", "p50-ms"), v("cluster-leader", "p50-ms"), v("cluster-follower", "p50-ms"), "")
	row("commit latency p99 (ms)", v("standalone", "p99-ms"), v("cluster-leader", "p99-ms"), v("cluster-follower", "p99-ms"), "")
	row("commit to active on all p50 (ms)", v("standalone", "p50-ms"), v("cluster-leader", "active-all-p50-ms"), v("cluster-follower", "active-all-p50-ms"), "")
	row("commit to active on all p99 (ms)", v("standalone", "p99-ms"), v("cluster-leader", "active-all-p99-ms"), v("cluster-follower", "active-all-p99-ms"), "target < 250")
	row("daemon CPU per commit (ms)", v("standalone", "cpu-ms/op"), v("cluster-leader", "cpu-ms/op"), v("cluster-follower", "cpu-ms/op"), "cluster: A+B+C")
	print ""
	row("", "standalone", "member", "added", "")
	row("VmRSS idle (MB)", mem("rss-standalone-idle-MB"), mem("rss-member-idle-MB"), mem("rss-added-idle-MB"), "")
	row("VmRSS after the commits (MB)", mem("rss-standalone-after-MB"), mem("rss-member-after-MB"), mem("rss-added-after-MB"), "")
	row("  added: heap / mapped files (MB)", "", "", mem("rss-anon-added-after-MB") " / " mem("rss-file-added-after-MB"), "")
	row("VmHWM (MB)", mem("hwm-standalone-MB"), mem("hwm-member-MB"), "", "")
	row("CPU while idle (% of a core)", mem("cpu-idle-standalone-%"), mem("cpu-idle-member-%"), "", "")
	row("etcd data directory (MB)", "", mem("disk-etcd-MB"), "", "WAL segments preallocated (64 MB each)")
	row("  database, snapshots (MB)", "", mem("disk-etcd-db-MB"), "", "")
	row("commits made", mem("commits-standalone"), mem("commits-cluster"), "", "")
}
