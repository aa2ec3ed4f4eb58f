#!/usr/bin/env bash
# The MTA benchmark of `make bench`: smtpload against esash and against a
# private Postfix 3.7 configured as in ../shared/reference/perf-anchors.md
# (smtpd_tls_security_level = encrypt, durable queue, discard transport),
# same machine, same load tool, same RSA-2048 certificate. The server runs
# on core 1, the load tool on core 0 (taskset); each row reports both
# processes' CPU so the limit is visible. Loopback only; every server
# started here is stopped by its PID.
#
# Knobs: CONCS="1 8 50 200" PERS="1 10" SIZES="4096 102400" DUR=4s
#        TARGETS="esash-rsa esash-ecdsa postfix" IDLE=1000 OUT=dir
#        BASE=REV adds the target esash-base: the esash of git revision REV
#        (built in a temporary worktree, RSA), to compare a change with what
#        came before it in one run, e.g.
#        BASE=HEAD~3 TARGETS="esash-base esash-rsa esash-base esash-rsa" CONCS=50 PERS=10 SIZES=4096
set -euo pipefail
cd "$(dirname "$0")/../.."
CONCS=${CONCS:-"1 8 50 200"}
PERS=${PERS:-"1 10"}
SIZES=${SIZES:-"4096 102400"}
DUR=${DUR:-4s}
TARGETS=${TARGETS:-"esash-rsa esash-ecdsa postfix"}
IDLE=${IDLE:-1000}
OUT=${OUT:-$(mktemp -d /tmp/esash-bench.XXXXXX)}
GEN_CPU=${GEN_CPU:-0}
SRV_CPU=${SRV_CPU:-1}
mkdir -p "$OUT"; chmod 755 "$OUT"
W="$OUT/work"
mkdir -p "$W"
echo "bench: results in $OUT"
./scripts/testdeps.sh >/dev/null
go build -o "$W/esash" ./cmd/esash
go build -o "$W/smtpload" ./cmd/smtpload
if [ -n "${BASE:-}" ]; then
  git worktree add -q --detach "$W/base-src" "$BASE"
  (cd "$W/base-src" && go build -o "$W/esash-base" ./cmd/esash)
  git worktree remove --force "$W/base-src"
fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/rsa.key" -out "$W/rsa.pem" -days 30 \
  -subj /CN=mx.bench.test -addext subjectAltName=DNS:mx.bench.test 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ec.key" -out "$W/ec.pem" -days 30 \
  -subj /CN=mx.bench.test -addext subjectAltName=DNS:mx.bench.test 2>/dev/null

SRV_PID=""
stop_server() {
  if [ -n "$SRV_PID" ]; then
    kill "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
  fi
}
PF_CONF=""
stop_postfix() {
  if [ -n "$PF_CONF" ]; then
    /usr/sbin/postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
    PF_CONF=""
  fi
}
trap 'stop_server; stop_postfix' EXIT

wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2
  return 1
}

# matrix LABEL ADDR PID [extra smtpload flags]
matrix() {
  local label=$1 addr=$2 pid=$3; shift 3
  for size in $SIZES; do
    for per in $PERS; do
      for c in $CONCS; do
        local modes="data"
        if [ "$size" -gt 4096 ] && [ "${label#esash}" != "$label" ]; then modes="data bdat"; fi
        for m in $modes; do
          local flags=()
          [ "$m" = bdat ] && flags+=(-bdat)
          taskset -c "$GEN_CPU" "$W/smtpload" -addr "$addr" -starttls -c "$c" -per "$per" -size "$size" \
            -duration "$DUR" -srvpid "$pid" -label "$label/$m" "${flags[@]}" "$@" | tee -a "$OUT/results.txt"
        done
      done
    done
  done
}

start_esash() { # label data ip [binary]
  # One core for the server (esash itself keeps at least two Go Ps, so a
  # P blocked in fdatasync does not stall the sessions).
  taskset -c "$SRV_CPU" "${4:-$W/esash}" serve --data "$2" >>"$OUT/$1.log" 2>&1 &
  SRV_PID=$!
  wait_port "$3:2525"
}

run_esash() { # label cert key [binary]
  local label=$1 data="$W/esash-data-$1" ip=127.9.0.1 bin=${4:-$W/esash}
  rm -rf "$data"
  "$W/smtpload" setup -data "$data" -ip "$ip" -cert "$2" -key "$3" -tls required
  start_esash "$label" "$data" "$ip" "$bin"
  matrix "$label" "$ip:2525" "$SRV_PID"
  if [ "$IDLE" -gt 0 ]; then
    # A fresh daemon on an empty queue: neither the heap the load left
    # behind nor the index of the messages it queued is the idle cost.
    # (That index is measured by BenchmarkIndexMemory in mta/queue.)
    stop_server
    rm -rf "$data"
    "$W/smtpload" setup -data "$data" -ip "$ip" -cert "$2" -key "$3" -tls required
    start_esash "$label" "$data" "$ip" "$bin"
    taskset -c "$GEN_CPU" "$W/smtpload" -addr "$ip:2525" -idle "$IDLE" -hold 3s -srvpid "$SRV_PID" -json -label "$label/idle" |
      tee -a "$OUT/results.txt"
  fi
  stop_server
}

run_postfix() {
  local base="$W/postfix" port=22525
  rm -rf "$base"; mkdir -p "$base"/{etc,spool,data}; chmod 755 "$W" "$base"
  chown postfix "$base/data"
  sed -e 's/^smtp \+inet.*/#&/' /etc/postfix/master.cf >"$base/etc/master.cf"
  cat >>"$base/etc/master.cf" <<MCF
127.0.0.1:$port inet n - n - 250 smtpd -o smtpd_tls_security_level=encrypt
MCF
  printf 'sink.test discard:\n' >"$base/etc/transport"
  cat >"$base/etc/main.cf" <<MAIN
compatibility_level = 3.6
queue_directory = $base/spool
data_directory = $base/data
myhostname = mta.test
mydestination =
relay_domains = sink.test bench.test
transport_maps = texthash:$base/etc/transport
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_tls_cert_file = $W/rsa.pem
smtpd_tls_key_file = $W/rsa.key
smtpd_tls_security_level = may
default_process_limit = 400
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_event_limit_exceptions = 127.0.0.0/8
in_flow_delay = 0
smtpd_peername_lookup = no
smtpd_tls_loglevel = 0
maillog_file = $base/maillog
maillog_file_prefixes = $base
MAIN
  printf 'bench.test discard:\n' >>"$base/etc/transport"
  sed -i 's/^\([a-z]*\)\( \+\(unix\|inet\|fifo\|unix-dgram\|pass\) \+[-ny] \+[-ny] \+\)[-y]/\1\2n/' "$base/etc/master.cf"
  PF_CONF="$base/etc"
  taskset -c "$SRV_CPU" /usr/sbin/postfix -c "$PF_CONF" start >/dev/null
  wait_port "127.0.0.1:$port"
  local pid; pid=$(cat "$base/spool/pid/master.pid" | tr -d ' ')
  # Children inherit the affinity of the master.
  matrix postfix "127.0.0.1:$port" "$pid"
  stop_postfix
}

for t in $TARGETS; do
  case $t in
    esash-rsa) run_esash esash-rsa "$W/rsa.pem" "$W/rsa.key" ;;
    esash-ecdsa) run_esash esash-ecdsa "$W/ec.pem" "$W/ec.key" ;;
    esash-base) run_esash esash-base "$W/rsa.pem" "$W/rsa.key" "$W/esash-base" ;;
    postfix) run_postfix ;;
    *) echo "bench: unknown target $t" >&2; exit 1 ;;
  esac
done
echo "bench: commit-to-new-certificate latency (Go test, no race detector)"
go test -count=1 -run 'TestMTAReloadUnderLoad' -v ./cmd/esash/ 2>&1 | grep -E 'sessions \(A|^(ok|FAIL)' | tee -a "$OUT/results.txt"
echo "bench: queue durability strategies (16 writers)"
go test -run '^$' -bench . -benchtime 2s ./mta/queue/ | grep -E '^Benchmark' | tee -a "$OUT/results.txt"
