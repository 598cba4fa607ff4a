#!/usr/bin/env bash
# imstatus side by side with Mosquitto, and the SDK's own cost; writes docs/benchmarks.md.
#
#   bench/run.sh                 the full matrix (about 60 minutes on 2 cores)
#   BENCH_QUICK=1 bench/run.sh   a small matrix, to try the script (about 15-20 minutes)
#   ONLY=cluster bench/run.sh    the cluster section alone (its single-node baseline, then Redis
#                                and 2 nodes; about 8 minutes), spliced into docs/benchmarks.md
#
# Installs Mosquitto if it is missing, builds the release binaries, and for every run starts a
# fresh imstatus server or Mosquitto broker by hand on 127.0.0.1 (logging off) pinned to core
# $SERVER_CORE, with the harness pinned to core $HARNESS_CORE. Everything stays on loopback.
# Raw results: target/bench/results.jsonl (one JSON object per run), target/bench/harness.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-$ROOT/target/bench}
QUICK=${BENCH_QUICK:-0}
SERVER_CORE=${SERVER_CORE:-0}
HARNESS_CORE=${HARNESS_CORE:-1}
IMS_PORT=${IMS_PORT:-17800}
MQTT_PORT=${MQTT_PORT:-18830}
IMS_TLS_PORT=${IMS_TLS_PORT:-17843}
# The cluster's nodes listen on CLUSTER_PORT, CLUSTER_PORT+1, ...; Redis on a free port.
CLUSTER_PORT=${CLUSTER_PORT:-17900}
CLUSTER_NODES=${CLUSTER_NODES:-2}
ONLY=${ONLY:-}
TLS_DIR=$OUT/tls
APP_ID=1400000001
KEY=bench-secret-key
RESULTS=$OUT/results.jsonl
LOG=$OUT/harness.log
SERVER_PID=
SERVER_DATA=
# A cluster run: its node processes, Redis, and their directory.
NODE_PIDS=()
REDIS_PID=
CLUSTER_DATA=

# The machine may be shared (other builds): as root, run the server, the broker and the harness
# at a higher priority (the same for both systems) so that they are measured, not the others.
NICE=
if [ "$(id -u)" -eq 0 ] && [ "${BENCH_NICE:-1}" = 1 ]; then NICE="nice -n -10"; fi

mkdir -p "$OUT"
: >"$RESULTS"
: >"$LOG"
# Sockets are files: N = 10k needs 10k in the harness and 10k in the server or broker.
ulimit -n "$(ulimit -Hn)"

say() { echo "[$(date +%T)] $*" | tee -a "$LOG" >&2; }

if [ "$ONLY" != cluster ] && ! command -v mosquitto >/dev/null 2>&1 && ! [ -x /usr/sbin/mosquitto ]; then
  say "installing mosquitto"
  sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
# The Debian package may start a broker of its own; ours are started by hand on other ports.

say "building release binaries"
cargo build --release -p imstatus-server -p imstatus-bench 2>&1 | tail -1 >&2
cargo bench -p imstatus-bench --bench roundtrip --no-run 2>&1 | tail -1 >&2
IMSTATUS=$ROOT/target/release/imstatus
BENCH=$ROOT/target/release/imstatus-bench

# --- the machine, before -------------------------------------------------------------------
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores=$(nproc)"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "rustc=$(rustc --version)"
  echo "redis=$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
  echo "only=$ONLY"
  echo "mosquitto=$(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || "$MOSQUITTO" -h | head -1)"
  echo "imstatus=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+local changes')"
  echo "nofile=$(ulimit -n)"
  echo "quick=$QUICK"
  echo "other_processes=$(ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>5 {printf "%s(%s%%) ", $2, $1}')"
} >"$OUT/machine.env"
START_S=$(date +%s)

# port_free PORT: fails (and says so) if something already listens there, e.g. another
# engineer's server on the shared machine, which the harness would otherwise measure.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    say "port $1 is taken by another process: set IMS_PORT / MQTT_PORT / CLUSTER_PORT"
    return 1
  fi
}

wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "nothing listens on port $port"
  return 1
}

# start_imstatus HEARTBEAT_TIMEOUT_SECONDS [tls]: with "tls", a TLS listener on $IMS_TLS_PORT
# too (the certificate from `imstatus dev-cert` in $TLS_DIR).
start_imstatus() {
  SERVER_DATA=$(mktemp -d /tmp/imstatus-bench.XXXXXX)
  local tls=
  if [ "${2:-}" = tls ]; then
    tls="tls_listen = \"127.0.0.1:$IMS_TLS_PORT\"
tls_cert = \"$TLS_DIR/cert.pem\"
tls_key = \"$TLS_DIR/key.pem\""
  fi
  port_free "$IMS_PORT"
  imstatus_config "$IMS_PORT" "$1" "$tls" "$SERVER_DATA/data" >"$SERVER_DATA/imstatus.toml"
  IMSTATUS_LOG=off $NICE taskset -c "$SERVER_CORE" "$IMSTATUS" serve --config "$SERVER_DATA/imstatus.toml" \
    >"$SERVER_DATA/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$IMS_PORT"
  if [ -n "$tls" ]; then wait_port "$IMS_TLS_PORT"; fi
}

# imstatus_config PORT HEARTBEAT_TIMEOUT_SECONDS EXTRA_TOP_LEVEL_LINES DATA_DIR: the bench app's
# configuration, on stdout.
imstatus_config() {
  cat <<EOF
listen = "127.0.0.1:$1"
$3
admin_listen = ""
admin_token = "unused"
data_dir = "$4"

[limits]
# Every client of the harness connects from 127.0.0.1, thousands at once.
max_unauthenticated_per_ip = 100000

[[app]]
sdk_app_id = $APP_ID
secret_key = "$KEY"
edition = "ultimate"
status_enabled = true
friend_status_notify = false
heartbeat_timeout = "${2}s"
subscription_limit = 200
query_rate = { calls = 100000, window = "1s" }
subscribe_rate = { calls = 100000, window = "1s" }
unsubscribe_rate = { calls = 100000, window = "1s" }
set_status_rate = { calls = 100000, window = "1s" }
EOF
}

# start_mosquitto (the anchors' §2.1 configuration)
start_mosquitto() {
  SERVER_DATA=$(mktemp -d /tmp/mosquitto-bench.XXXXXX)
  cat >"$SERVER_DATA/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
log_type error
log_dest file $SERVER_DATA/mosquitto.log
connection_messages false
max_queued_messages 1000
EOF
  port_free "$MQTT_PORT"
  $NICE taskset -c "$SERVER_CORE" "$MOSQUITTO" -c "$SERVER_DATA/mosquitto.conf" >/dev/null 2>&1 &
  SERVER_PID=$!
  wait_port "$MQTT_PORT"
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
  [ -n "$SERVER_DATA" ] && rm -rf "$SERVER_DATA"
  SERVER_DATA=
  # Let the kernel retire the previous run's sockets.
  sleep 1
}

# run SYSTEM WORKLOAD HEARTBEAT DETECT_TIMEOUT [harness args...]: one run on a fresh server.
run() {
  local system=$1 workload=$2 heartbeat=$3 detect=$4
  shift 4
  case $system in
    imstatus) start_imstatus "$detect"; local addr=127.0.0.1:$IMS_PORT ;;
    mosquitto) start_mosquitto; local addr=127.0.0.1:$MQTT_PORT ;;
  esac
  say "$system $workload $*"
  $NICE taskset -c "$HARNESS_CORE" "$BENCH" run --system "$system" --workload "$workload" \
    --addr "$addr" --server-pid "$SERVER_PID" --app-id "$APP_ID" --key "$KEY" \
    --heartbeat "$heartbeat" --detect-timeout "$detect" "$@" \
    >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || {
    say "run failed: $system $workload $* (server alive: $(kill -0 "$SERVER_PID" 2>/dev/null && echo yes || echo no))"
    tail -5 "$SERVER_DATA"/*.log 2>/dev/null | tee -a "$LOG" >&2 || true
  }
  stop_server
}

# tls_pair WORKLOAD [harness args...]: the same imstatus run over plaintext, then over TLS,
# back to back, each on a fresh server with both listeners (the same configuration); the
# harness's clients trust the dev CA. Labelled "tls-pair" (report.py keeps them apart).
tls_pair() {
  local workload=$1 transport addr
  shift
  for transport in plaintext tls; do
    start_imstatus $TO tls
    local tls_args=()
    addr=127.0.0.1:$IMS_PORT
    if [ "$transport" = tls ]; then
      addr=127.0.0.1:$IMS_TLS_PORT
      tls_args=(--tls-ca "$TLS_DIR/ca.pem" --tls-name localhost)
    fi
    say "imstatus $workload over $transport $*"
    $NICE taskset -c "$HARNESS_CORE" "$BENCH" run --system imstatus --workload "$workload" \
      --addr "$addr" --server-pid "$SERVER_PID" --app-id "$APP_ID" --key "$KEY" \
      --heartbeat $HB --detect-timeout $TO --label tls-pair "${tls_args[@]}" "$@" \
      >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "run failed: imstatus $workload over $transport $*"
    stop_server
  done
}

# Heartbeat 30 s, server timeout 45 s (1.5 x, as MQTT's keepalive rule); stop-cohort uses
# 10 s / 15 s so that the cohort is seen in a quarter of a minute.
HB=30
TO=45
if [ "$QUICK" = 1 ]; then
  NS=(1000)
  BIG=(--n 1000 --k 50)
  MID=(--n 1000 --k 50)
  STEP=5
  CHURN_SMALL=10
  CHURN_BIG=10
  RATES=50,250,500,1000
  FLOOD=30
  SCALE=(--rounds 1 --duration 2)
  TLS_FANOUT=(--n 1000 --k 50 --rates 250,1000)
else
  NS=(1000 10000)
  BIG=(--n 10000 --k 200)
  MID=(--n 10000 --k 50)
  STEP=8
  CHURN_SMALL=45
  CHURN_BIG=30
  RATES=50,250,500,1000,2000
  FLOOD=60
  SCALE=(--rounds 3 --duration 4)
  TLS_FANOUT=(--n 1000 --k 200 --rates 250,1000,2000)
fi

# --- the full matrix (skipped with ONLY=cluster) ----------------------------------------------
if [ "$ONLY" != cluster ]; then
  for system in imstatus mosquitto; do
    for n in "${NS[@]}"; do
      for k in 50 200; do
        # A fanout run starts with the connect-idle workload (its own JSON line), then steps λ.
        run "$system" fanout $HB $TO --n "$n" --k "$k" --rates "$RATES" --duration "$STEP"
      done
    done
    # Detection does not depend on K: 10k x 50 keeps Mosquitto's long 10k x 200 setup out of it.
    run "$system" stop-cohort 10 15 "${MID[@]}" --cohort-pct 1
    run "$system" storm $HB $TO "${BIG[@]}"
    # 250 changes/s x K = 200 is 50k deliveries/s: within both systems' capacity (see fanout).
    run "$system" slow-consumer $HB $TO "${BIG[@]}" --rates 250 --duration 10 --cohort-pct 1
    run "$system" churn-verify $HB $TO --n 1000 --k 50 --duration "$CHURN_SMALL" --churn-rate 200
    [ "$QUICK" = 1 ] || run "$system" churn-verify $HB $TO --n 10000 --k 50 --duration "$CHURN_BIG" --churn-rate 500
    # 3,000 new clients log in at once (all started within 0.3 s) while 1,000 watchers with 50
    # subscriptions each receive 100 changes/s: their latency before and during the storm.
    run "$system" login-storm $HB $TO --n 1000 --k 50 --rates 100 --duration 5 --storm-clients 3000
    # 20 clients that never read (but keep heartbeating), each subscribed to 200 users who change
    # 2,000 times a second in all, with 10 reading watchers: the server's memory, and when it
    # closes them.
    run "$system" slow-flood $HB $TO --n 200 --rates 2000 --duration "$FLOOD" --slow-clients 20 --healthy-watchers 10
    # One connection that never logs in and never reads: 15 s of pipelined requests, then a
    # login dripped a byte a second.
    run "$system" unauth $HB $TO --n 1 --k 0 --duration 15
  done

  # --- TLS beside plaintext (issue 12) -------------------------------------------------------
  # A CA and a leaf for localhost, made by the server's own `imstatus dev-cert`.
  rm -rf "$TLS_DIR"
  "$IMSTATUS" dev-cert --out "$TLS_DIR" localhost 127.0.0.1 >/dev/null
  # The login storm (each new client: TCP, the TLS handshake, hello and login), then the fanout
  # (deliveries over long-lived connections), each over plaintext and TLS with the same numbers.
  tls_pair login-storm --n 1000 --k 50 --rates 100 --duration 5 --storm-clients 3000
  tls_pair fanout "${TLS_FANOUT[@]}" --duration "$STEP"

  # --- the server alone: scaling with cores, a full outbox, restart time ------------------------
  # The hub path in process (no sockets) on 1 and 2 worker threads, pinned to the two cores.
  say "hub-scale"
  $NICE taskset -c "$SERVER_CORE,$HARNESS_CORE" "$BENCH" hub-scale --n 10000 --k 50 --threads 1,2 \
    --cores "$SERVER_CORE,$HARNESS_CORE" "${SCALE[@]}" \
    >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "hub-scale failed"
  say "outbox-cost"
  taskset -c "$HARNESS_CORE" "$BENCH" outbox-cost >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "outbox-cost failed"
  # A real `imstatus serve` over 100,000 stored users of whom 10,000 were logged in.
  say "restart"
  $NICE taskset -c "$HARNESS_CORE" "$BENCH" restart --imstatus "$IMSTATUS" --users 100000 --online 10000 \
    --core "$SERVER_CORE" --port "$IMS_PORT" --app-id "$APP_ID" --key "$KEY" \
    >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "restart failed"

  # --- the SDK's own cost ----------------------------------------------------------------------
  say "SDK cost"
  # The SDK's size per target (a script of its own: it only builds, and runs alone too).
  "$ROOT/bench/sdk-size.sh" >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "sdk-size failed"
  start_imstatus 45
  taskset -c "$HARNESS_CORE" "$BENCH" sdk-cost --addr "127.0.0.1:$IMS_PORT" --app-id "$APP_ID" --key "$KEY" \
    >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || say "sdk-cost failed"
  # The round trip (criterion): the server on its core, the client on the other.
  rm -rf "$ROOT"/target/criterion/roundtrip_*
  IMSTATUS_BENCH_ADDR=127.0.0.1:$IMS_PORT IMSTATUS_BENCH_APP=$APP_ID IMSTATUS_BENCH_KEY=$KEY \
    taskset -c "$HARNESS_CORE" cargo bench -p imstatus-bench --bench roundtrip -- --noplot \
    2>&1 | tee -a "$LOG" | grep -E "^(roundtrip|c_abi|rust)|time:" >&2 || say "criterion failed"
  for est in "$ROOT"/target/criterion/roundtrip_*/new/estimates.json; do
    [ -f "$est" ] || continue
    name=$(basename "$(dirname "$(dirname "$est")")")
    python3 -c "import json,sys; e=json.load(open(sys.argv[1])); print(json.dumps({'workload':'roundtrip','bench':sys.argv[2],'median_ns':e['median']['point_estimate'],'mean_ns':e['mean']['point_estimate']}))" "$est" "$name" >>"$RESULTS"
  done
  stop_server
fi

# --- cluster mode (issue 11): Redis and several nodes beside one node ----------------------
# Redis (no persistence) and $CLUSTER_NODES `imstatus serve --redis` nodes share the server core,
# so that the cluster gets the single node's CPU: what it costs, not what a second core buys.
# Two nodes by default: every delivery already crosses Redis between two nodes, and a third on
# the same core would add a Redis subscriber per watched user and more context switches, not
# capacity. The harness spreads the users over the nodes (user u on node u mod nodes) and makes
# every user watch only users of other nodes, so that every delivery crosses Redis.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_cluster HEARTBEAT_TIMEOUT_SECONDS
start_cluster() {
  CLUSTER_DATA=$(mktemp -d /tmp/imstatus-cluster.XXXXXX)
  local redis_port i port
  redis_port=$(free_port)
  $NICE taskset -c "$SERVER_CORE" redis-server --port "$redis_port" --bind 127.0.0.1 \
    --save '' --appendonly no --dir "$CLUSTER_DATA" --logfile "$CLUSTER_DATA/redis.log" &
  REDIS_PID=$!
  wait_port "$redis_port"
  NODE_PIDS=()
  NODE_ARGS=()
  for i in $(seq 0 $((CLUSTER_NODES - 1))); do
    port=$((CLUSTER_PORT + i))
    port_free "$port"
    imstatus_config "$port" "$1" "" "$CLUSTER_DATA/node$i" >"$CLUSTER_DATA/node$i.toml"
    IMSTATUS_LOG=off $NICE taskset -c "$SERVER_CORE" "$IMSTATUS" serve --config "$CLUSTER_DATA/node$i.toml" \
      --redis "redis://127.0.0.1:$redis_port" >"$CLUSTER_DATA/node$i.log" 2>&1 &
    NODE_PIDS+=("$!")
    NODE_ARGS+=(--addr "127.0.0.1:$port" --server-pid "$!")
    wait_port "$port"
  done
}

stop_cluster() {
  local pid
  for pid in "${NODE_PIDS[@]}" $REDIS_PID; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  NODE_PIDS=()
  REDIS_PID=
  [ -n "$CLUSTER_DATA" ] && rm -rf "$CLUSTER_DATA"
  CLUSTER_DATA=
  sleep 1
}
trap 'stop_server; stop_cluster' EXIT

# run_cluster WORKLOAD [harness args...]: one run on a fresh Redis and fresh nodes.
run_cluster() {
  local workload=$1
  shift
  start_cluster $TO
  say "imstatus cluster of $CLUSTER_NODES nodes: $workload $*"
  $NICE taskset -c "$HARNESS_CORE" "$BENCH" run --system imstatus --workload "$workload" \
    "${NODE_ARGS[@]}" --redis-pid "$REDIS_PID" --app-id "$APP_ID" --key "$KEY" \
    --heartbeat $HB --detect-timeout $TO --label cluster "$@" \
    >>"$RESULTS" 2> >(tee -a "$LOG" >&2) || {
    say "run failed: cluster $workload $*"
    tail -5 "$CLUSTER_DATA"/*.log 2>/dev/null | tee -a "$LOG" >&2 || true
  }
  stop_cluster
}

# The issue's load: N = 10k, K = 50, λ up to 500/s and beyond; every step is run even after a
# failed one (the goal is the p99 at 500/s). The single node first, with the same parameters.
CLUSTER_FANOUT=(--n 10000 --k 50 --rates "${CLUSTER_RATES:-$RATES}" --duration "$STEP" --no-stop-on-fail)
CLUSTER_STORM=(--n 1000 --k 50 --rates 100 --duration 5 --storm-clients 3000)
if command -v redis-server >/dev/null 2>&1; then
  run imstatus fanout $HB $TO --label cluster-base "${CLUSTER_FANOUT[@]}"
  run_cluster fanout "${CLUSTER_FANOUT[@]}"
  run imstatus login-storm $HB $TO --label cluster-base "${CLUSTER_STORM[@]}"
  run_cluster login-storm "${CLUSTER_STORM[@]}"
else
  say "no redis-server: the cluster section is skipped"
fi

{
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duration_min=$(( ($(date +%s) - START_S + 59) / 60 ))"
} >>"$OUT/machine.env"

if [ "$ONLY" = cluster ]; then
  # The rest of the page stays as it was: only its Cluster section and the notes are replaced.
  python3 "$ROOT/bench/report.py" --cluster-into "$ROOT/docs/benchmarks.md" "$OUT/machine.env" "$RESULTS" \
    "$ROOT/bench/NOTES.md" >"$OUT/benchmarks.md"
  mv "$OUT/benchmarks.md" "$ROOT/docs/benchmarks.md"
  say "wrote the Cluster section of docs/benchmarks.md"
else
  python3 "$ROOT/bench/report.py" "$OUT/machine.env" "$RESULTS" "$ROOT/bench/NOTES.md" >"$ROOT/docs/benchmarks.md"
  say "wrote docs/benchmarks.md"
fi
