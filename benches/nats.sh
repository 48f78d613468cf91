#!/usr/bin/env bash
# NATS JetStream end to end: auth.log lines published one per message (the publisher runs on
# the same 2 cores, so figures include it) into a single-node JetStream with the 2-partition
# subject mapping, stored by 1 or 2 `autosec serve` engines (privacy on, detection on, models
# off). Prints bus-bench's JSON per run, then the recovery after a kill -9.
#   benches/nats.sh [LINES]        (needs nats-server: apt-get install nats-server)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-250000}
work=${BENCH_DIR:-/tmp/autosec-nats-bench}
cargo build --release --quiet
bin=$PWD/target/release/autosec
mkdir -p "$work"
gen="$work/gen"
if [ ! -d "$gen/logs" ]; then
  "$bin" datasets generate --out "$gen" --events 1000000 --seed 42 >/dev/null
fi
cat "$gen"/logs/auth/*.log | head -n "$lines" > "$work/auth.log"
total=$(wc -l < "$work/auth.log")
port=4300
export AUTOSEC_NO_MODELS=1 AUTOSEC_API_TOKEN=bench
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_nats() {
  rm -rf "$work/js"
  cat > "$work/nats.conf" <<CONF
listen: "127.0.0.1:$port"
jetstream { store_dir: "$work/js" }
mappings = { "logs.*.*": "logs.{{partition(2,1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }
CONF
  nats-server -c "$work/nats.conf" >/dev/null 2>&1 &
  nats_pid=$!
  pids+=("$nats_pid")
  sleep 1
}

# start_engine NAME SUBJECT HTTP_PORT [keep]: a fresh data dir unless "keep".
start_engine() {
  local name=$1 subject=$2 http=$3
  [ "${4:-}" = keep ] || rm -rf "$work/$name"
  mkdir -p "$work/$name/config"
  cat > "$work/$name/config/config.toml" <<CONF
[engine]
id = "$name"
[[ingest.nats]]
url = "nats://127.0.0.1:$port"
stream = "LOGS"
subjects = ["$subject"]
stream_subjects = ["logs.>"]
durable = "$name"
batch = 2048
CONF
  AUTOSEC_CONFIG_DIR="$work/$name/config" "$bin" --data-dir "$work/$name/data" \
    serve --listen "127.0.0.1:$http" 2>>"$work/$name.log" &
  engine_pid=$!
  pids+=("$engine_pid")
  until curl -sf "http://127.0.0.1:$http/health" >/dev/null; do sleep 0.05; done
}

stored() { curl -sf "http://127.0.0.1:$1/health" | jq '.storage.events' 2>/dev/null || echo 0; }

for rate in 0 50000; do
  for engines in 1 2; do
    start_nats
    if [ "$engines" = 1 ]; then
      start_engine e1 'logs.>' 8301; e1=$engine_pid
      health=http://127.0.0.1:8301/health
    else
      start_engine e1 'logs.0.>' 8301; e1=$engine_pid
      start_engine e2 'logs.1.>' 8302; e2=$engine_pid
      health=http://127.0.0.1:8301/health,http://127.0.0.1:8302/health
    fi
    echo "== $engines engine(s), offered rate ${rate:-max} lines/s ($total lines)"
    "$bin" bus-bench "$work/auth.log" --nats "nats://127.0.0.1:$port" --rate "$rate" --health "$health"
    kill "$e1" ${e2:-} 2>/dev/null || true; wait "$e1" ${e2:-} 2>/dev/null || true
    unset e2
    kill "$nats_pid"; wait "$nats_pid" 2>/dev/null || true
  done
done

echo "== drain: every line published first, then one engine started (consumer alone)"
start_nats
"$bin" bus-bench "$work/auth.log" --nats "nats://127.0.0.1:$port" --expect 0 >/dev/null
t0=$(date +%s.%N)
start_engine e1 'logs.>' 8301; e1=$engine_pid
until [ "$(stored 8301)" -ge "$total" ]; do sleep 0.05; done
t1=$(date +%s.%N)
echo "{\"drain_s\": $(echo "$t1 - $t0" | bc), \"lines\": $total, \"per_sec\": $(echo "$total / ($t1 - $t0)" | bc)}"

echo "== recovery: kill -9 once half is stored, restart on the same data dir"
kill "$e1"; wait "$e1" 2>/dev/null || true
kill "$nats_pid"; wait "$nats_pid" 2>/dev/null || true
start_nats
"$bin" bus-bench "$work/auth.log" --nats "nats://127.0.0.1:$port" --expect 0 >/dev/null
start_engine e1 'logs.>' 8301; e1=$engine_pid
until [ "$(stored 8301)" -ge $((total / 2)) ]; do sleep 0.02; done
kill -9 "$e1"; wait "$e1" 2>/dev/null || true
t0=$(date +%s.%N)
start_engine e1 'logs.>' 8301 keep
t_up=$(date +%s.%N)
before=$(stored 8301)
until [ "$(stored 8301)" -gt "$before" ]; do sleep 0.02; done
t_first=$(date +%s.%N)
until [ "$(stored 8301)" -ge "$total" ]; do sleep 0.05; done
t_all=$(date +%s.%N)
sleep 1
echo "{\"stored_at_restart\": $before, \"health_up_s\": $(echo "$t_up - $t0" | bc), \"storing_again_s\": $(echo "$t_first - $t0" | bc), \"caught_up_s\": $(echo "$t_all - $t0" | bc), \"final_events\": $(stored 8301), \"lines\": $total}"
