#!/usr/bin/env bash
# The MTA benchmark of `make bench` (`make bench-mta` alone): smtpload
# against, in one run, on one machine, with the same load tool and the same
# certificates:
#   bare-rsa, bare-ecdsa  the reference ceiling: `smtpload bare` (package
#                         cmd/smtpload/baresmtp), a minimal crypto/tls
#                         STARTTLS server that reads DATA into io.Discard,
#                         nothing of esash in it
#   durable-rsa, durable-ecdsa  the durable ceiling: the same server with
#                         `-durable` (baresmtp.Journal): each message kept
#                         as read, appended to a file, 250 after the group
#                         commit's fdatasync; what any server that is
#                         durable as esash is must do at least
#   esash-rsa, esash-ecdsa  esash's listener (STARTTLS required, durable
#                         queue, 250 after fdatasync, mail_logs)
#   postfix               a private Postfix 3.7 configured as in
#                         ../shared/reference/perf-anchors.md (discard
#                         transport after the durable queue)
#   postfix-ptr           the same with smtpd_peername_lookup = yes
#   relay-esash           the relay cells: smtpload -> esash over STARTTLS ->
#                         delivery with destination TLS Required to a sink
#                         on loopback (smtpload -sink: the same baresmtp
#                         server, in the load tool's process, on its core)
#   relay-postfix         the same through Postfix: smtpd -> queue -> smtp
#                         client with smtp_tls_security_level = encrypt and
#                         its connection cache (smtp_tls_connection_reuse
#                         through tlsproxy), same sink, same certificates
# The server runs on core SRV_CPU, the load tool (and the relay sink) on
# GEN_CPU (taskset); each row reports both processes' CPU, so the limit is
# visible, and the server's CPU per message. At the end the table of
# `smtpload summarize`: medians, ratios to the bare server with the same
# certificate kind, relay end-to-end messages/s, sender-250 to sink-250
# latency, outbound handshakes per message, esash ÷ Postfix.
#
# Reverse lookups: Postfix runs with smtpd_peername_lookup = no (as in the
# perf anchors); esash looks up PTR for its sender groups, once per client
# address (cached 5 minutes, so the load costs one lookup and map hits).
# postfix-ptr is Postfix with its lookups on (getnameinfo per session,
# /etc/hosts), for the other like-for-like comparison.
#
# The inbound targets (bare-*, esash-*) run side by side, each server on
# its own address and all on SRV_CPU, the targets taking turns at every
# cell and repetition (interleave below); Postfix and the relay targets
# run one after the other.
#
# Loopback only; every server started here is stopped by its PID.
#
# Knobs: CONCS="1 8 50 200" PERS="1 10" SIZES="4096 102400" DUR=4s REPS=1
#        RELAY_CONCS="50" DRAIN=60s BIGQUEUE=1000000 SKIP_EXTRAS=1 (only the load cells)
#        TARGETS="bare-rsa bare-ecdsa durable-rsa esash-rsa esash-ecdsa postfix relay-esash relay-postfix"
#        (durable-ecdsa is not in the default: add it)
#        IDLE=1000 OUT=dir GEN_CPU=0 SRV_CPU=1
#        BASE=REV adds the target esash-base: the esash of git revision REV
#        (built in a temporary worktree, RSA), to compare a change with what
#        came before it in one run, e.g.
#        BASE=HEAD~3 TARGETS="esash-base esash-rsa" REPS=3 CONCS=50 PERS=10 SIZES=4096
#        and the target relay-base: the relay cells through that esash, e.g.
#        BASE=HEAD~3 TARGETS="relay-base relay-esash" REPS=3 PERS=10 SIZES=4096
#        ESASH_CPUPROFILE=FILE profiles each esash daemon (FILE.<label>).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONCS=${CONCS:-"1 8 50 200"}
PERS=${PERS:-"1 10"}
SIZES=${SIZES:-"4096 102400"}
DUR=${DUR:-4s}
REPS=${REPS:-1}
RELAY_CONCS=${RELAY_CONCS:-"50"}
DRAIN=${DRAIN:-60s}
TARGETS=${TARGETS:-"bare-rsa bare-ecdsa durable-rsa esash-rsa esash-ecdsa postfix relay-esash relay-postfix"}
IDLE=${IDLE:-1000}
OUT=${OUT:-$(mktemp -d /tmp/esash-bench.XXXXXX)}
GEN_CPU=${GEN_CPU:-0}
SRV_CPU=${SRV_CPU:-1}
SINK=127.9.0.2:2526
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
# The sink presents the RSA certificate too, to esash and to Postfix alike.
SINKFLAGS=(-sink "$SINK" -sinkcert "$W/rsa.pem" -sinkkey "$W/rsa.key" -drain "$DRAIN")

SRV_PID=""   # the server just started
SRV_PIDS=()  # every server running
stop_servers() {
  local pid
  for pid in "${SRV_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  SRV_PIDS=() SRV_PID=""
}
PF_CONF=""
stop_postfix() {
  if [ -n "$PF_CONF" ]; then
    /usr/sbin/postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
    PF_CONF=""
  fi
}
trap 'stop_servers; stop_postfix' EXIT

wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2
  return 1
}

# load_cell LABEL ADDR PID SIZE PER C MODE [extra smtpload flags]: one run.
load_cell() {
  local label=$1 addr=$2 pid=$3 size=$4 per=$5 c=$6 m=$7; shift 7
  local flags=()
  [ "$m" = bdat ] && flags+=(-bdat)
  taskset -c "$GEN_CPU" "$W/smtpload" -addr "$addr" -starttls -c "$c" -per "$per" -size "$size" \
    -duration "$DUR" -srvpid "$pid" -label "$label/$m" -out "$OUT/results.jsonl" \
    "${flags[@]}" "$@" | tee -a "$OUT/results.txt"
}

# matrix LABEL ADDR PID [extra smtpload flags]: one server's cells; a
# label starting with relay- runs the relay cells (RELAY_CONCS) with the
# sink.
matrix() {
  local label=$1 addr=$2 pid=$3; shift 3
  local concs=$CONCS extra=()
  if [ "${label#relay-}" != "$label" ]; then concs=$RELAY_CONCS; extra=("${SINKFLAGS[@]}"); fi
  for size in $SIZES; do
    for per in $PERS; do
      for c in $concs; do
        for _ in $(seq "$REPS"); do
          load_cell "$label" "$addr" "$pid" "$size" "$per" "$c" data "${extra[@]}" "$@"
        done
      done
    done
  done
}

# interleave "LABEL ADDR PID"...: the load cells of servers running side by
# side (bare and esash), the targets taking turns at every cell and
# repetition. This VM's bare ceiling moved by up to 40 % between runs
# minutes apart (issue 17, session 5): with one target's whole matrix
# after another's, a drift of the machine becomes a ratio; taking turns
# puts the runs a ratio compares seconds apart. The bigger size runs with
# BDAT too.
interleave() {
  local spec label addr pid
  for size in $SIZES; do
    for per in $PERS; do
      for c in $CONCS; do
        for m in data bdat; do
          [ "$m" = bdat ] && [ "$size" -le 4096 ] && continue
          for _ in $(seq "$REPS"); do
            for spec in "$@"; do
              read -r label addr pid <<<"$spec"
              load_cell "$label" "$addr" "$pid" "$size" "$per" "$c" "$m"
            done
          done
        done
      done
    done
  done
}

start_bare() { # label addr cert key [smtpload bare flags]
  local label=$1 addr=$2 cert=$3 key=$4; shift 4
  taskset -c "$SRV_CPU" "$W/smtpload" bare -addr "$addr" -cert "$cert" -key "$key" "$@" >>"$OUT/$label.log" 2>&1 &
  SRV_PID=$!
  SRV_PIDS+=("$SRV_PID")
  wait_port "$addr"
}

start_esash() { # label data ip [binary]
  # One core for the server (esash itself keeps at least two Go Ps, so a
  # P blocked in fdatasync does not stall the sessions).
  local prof=""
  [ -n "${ESASH_CPUPROFILE:-}" ] && prof="$ESASH_CPUPROFILE.$1"
  ESASH_CPUPROFILE=$prof taskset -c "$SRV_CPU" "${4:-$W/esash}" serve --data "$2" >>"$OUT/$1.log" 2>&1 &
  SRV_PID=$!
  SRV_PIDS+=("$SRV_PID")
  wait_port "$3:2525"
}

# setup_esash data ip cert key [relay]: a fresh data directory.
setup_esash() {
  local relay=()
  [ -n "${5:-}" ] && relay=(-relay "$5")
  rm -rf "$1"
  "$W/smtpload" setup -data "$1" -ip "$2" -cert "$3" -key "$4" -tls required "${relay[@]}"
}

# idle_cell label data ip cert key [binary]: a fresh daemon on an empty
# queue holding IDLE connections: neither the heap the load left behind
# nor the index of the messages it queued is the idle cost. (That index
# is measured by BenchmarkIndexMemory in mta/queue.)
idle_cell() {
  [ "$IDLE" -gt 0 ] || return 0
  setup_esash "$2" "$3" "$4" "$5"
  start_esash "$1" "$2" "$3" "${6:-}"
  taskset -c "$GEN_CPU" "$W/smtpload" -addr "$3:2525" -idle "$IDLE" -hold 3s -srvpid "$SRV_PID" -json -label "$1/idle" |
    tee -a "$OUT/results.txt"
  stop_servers
}

run_relay() { # label cert key [binary]: the relay cells through esash
  local label=$1 data="$W/esash-data-$1" ip=127.9.0.1
  setup_esash "$data" "$ip" "$2" "$3" "$SINK"
  start_esash "$label" "$data" "$ip" "${4:-}"
  matrix "$label" "$ip:2525" "$SRV_PID"
  stop_servers
}

run_postfix() { # label peername(yes|no) relay(yes|no)
  local label=$1 peername=$2 relay=$3 base="$W/postfix" port=22525
  rm -rf "$base"; mkdir -p "$base"/{etc,spool,data}; chmod 755 "$W" "$base"
  chown postfix "$base/data"
  # tlsproxy (commented out in Debian's master.cf) carries the smtp
  # client's cached TLS connections (smtp_tls_connection_reuse).
  sed -e 's/^smtp \+inet.*/#&/' -e 's/^#\(tlsproxy .*\)/\1/' /etc/postfix/master.cf >"$base/etc/master.cf"
  cat >>"$base/etc/master.cf" <<MCF
127.0.0.1:$port inet n - n - 250 smtpd -o smtpd_tls_security_level=encrypt
MCF
  if [ "$relay" = yes ]; then
    printf 'bench.test smtp:[%s]:%s\n' "${SINK%:*}" "${SINK#*:}" >"$base/etc/transport"
  else
    printf 'sink.test discard:\nbench.test discard:\n' >"$base/etc/transport"
  fi
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
smtpd_peername_lookup = $peername
smtpd_tls_loglevel = 0
maillog_file = $base/maillog
maillog_file_prefixes = $base
# The relay: TLS required towards the sink (not verified: the sink's
# certificate is self-signed, as for esash's destination TLS Required),
# connections kept and reused, TLS ones too. The queue manager's
# per-destination limits keep their defaults.
smtp_tls_security_level = encrypt
smtp_tls_loglevel = 0
smtp_tls_connection_reuse = yes
smtp_connection_cache_destinations = [${SINK%:*}]:${SINK#*:}
MAIN
  sed -i 's/^\([a-z]*\)\( \+\(unix\|inet\|fifo\|unix-dgram\|pass\) \+[-ny] \+[-ny] \+\)[-y]/\1\2n/' "$base/etc/master.cf"
  PF_CONF="$base/etc"
  taskset -c "$SRV_CPU" /usr/sbin/postfix -c "$PF_CONF" start >/dev/null
  wait_port "127.0.0.1:$port"
  local pid; pid=$(cat "$base/spool/pid/master.pid" | tr -d ' ')
  # Children inherit the affinity of the master.
  matrix "$label" "127.0.0.1:$port" "$pid"
  stop_postfix
}

# The inbound targets: every server up at once, each on its own address,
# the cells interleaved; then each esash's idle cell.
specs=() idles=()
inbound() { # label ip port cert key kind(bare|durable|esash) [binary]
  local data="$W/esash-data-$1"
  if [ "$6" = bare ]; then
    start_bare "$1" "$2:$3" "$4" "$5"
  elif [ "$6" = durable ]; then
    start_bare "$1" "$2:$3" "$4" "$5" -durable "$W/journal-$1"
  else
    setup_esash "$data" "$2" "$4" "$5"
    start_esash "$1" "$data" "$2" "${7:-}"
    idles+=("$1 $data $2 $4 $5 ${7:-}")
  fi
  specs+=("$1 $2:$3 $SRV_PID")
}
others=()
for t in $TARGETS; do
  case $t in
    bare-rsa) inbound bare-rsa 127.9.0.3 2527 "$W/rsa.pem" "$W/rsa.key" bare ;;
    bare-ecdsa) inbound bare-ecdsa 127.9.0.6 2527 "$W/ec.pem" "$W/ec.key" bare ;;
    durable-rsa) inbound durable-rsa 127.9.0.7 2527 "$W/rsa.pem" "$W/rsa.key" durable ;;
    durable-ecdsa) inbound durable-ecdsa 127.9.0.8 2527 "$W/ec.pem" "$W/ec.key" durable ;;
    esash-rsa) inbound esash-rsa 127.9.0.1 2525 "$W/rsa.pem" "$W/rsa.key" esash ;;
    esash-ecdsa) inbound esash-ecdsa 127.9.0.4 2525 "$W/ec.pem" "$W/ec.key" esash ;;
    esash-base) inbound esash-base 127.9.0.5 2525 "$W/rsa.pem" "$W/rsa.key" esash "$W/esash-base" ;;
    relay-base|relay-esash|postfix|postfix-ptr|relay-postfix) others+=("$t") ;;
    *) echo "bench: unknown target $t" >&2; exit 1 ;;
  esac
done
if [ ${#specs[@]} -gt 0 ]; then
  interleave "${specs[@]}"
  stop_servers
  for spec in "${idles[@]}"; do
    # shellcheck disable=SC2086 # the spec's words are the arguments
    idle_cell $spec
  done
fi
for t in "${others[@]}"; do
  case $t in
    relay-base) run_relay relay-base "$W/rsa.pem" "$W/rsa.key" "$W/esash-base" ;;
    relay-esash) run_relay relay-esash "$W/rsa.pem" "$W/rsa.key" ;;
    postfix) run_postfix postfix no no ;;
    postfix-ptr) run_postfix postfix-ptr yes no ;;
    relay-postfix) run_postfix relay-postfix no yes ;;
  esac
done
echo "bench: summary (medians of REPS=$REPS runs; ratios to the bare server with the same certificate kind)"
"$W/smtpload" summarize "$OUT/results.jsonl" | tee "$OUT/summary.md"
[ -n "${SKIP_EXTRAS:-}" ] && exit 0
echo "bench: commit-to-new-certificate latency (Go test, no race detector)"
go test -count=1 -run 'TestMTAReloadUnderLoad' -v ./cmd/esash/ 2>&1 | grep -E 'sessions \(A|^(ok|FAIL)' | tee -a "$OUT/results.txt"
echo "bench: queue durability strategies (16 writers)"
go test -run '^$' -bench 'GroupCommit|PerMessageSync|FilePerMessage|Open200MB|IndexMemory' -benchtime 2s ./mta/queue/ |
  grep -E '^Benchmark' | tee -a "$OUT/results.txt"
echo "bench: a queue of ${BIGQUEUE:-1000000} messages for an unreachable domain (BenchmarkBigQueue: restart, RSS, List, delivery scan)"
ESASH_BIGQUEUE=${BIGQUEUE:-1000000} go test -run '^$' -bench BigQueue -benchtime 1x -timeout 1h ./mta/queue/ |
  grep -E '^Benchmark' | tee -a "$OUT/results.txt"
