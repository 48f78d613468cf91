#!/usr/bin/env bash
# End-to-end ingest benchmark: 1,000,000 generated mixed events into a fresh data dir, with
# privacy on and durable storage. Prints the summary, events/s and peak RSS.
#   benches/ingest-1m.sh [EVENTS] [SEED]
#   NO_DETECT=1 benches/ingest-1m.sh     ingest alone ([detect] enabled = false)
#   NO_RULES=1 benches/ingest-1m.sh      detection without Sigma rules ([detect] rules = false)
#   PROFILE=helpdesk benches/ingest-1m.sh    the held-out benign profile
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
seed=${2:-42}
work=${BENCH_DIR:-/tmp/autosec-bench}
data="$work/gen-$events-$seed-${PROFILE:-office}"
cargo build --release --quiet
bin=target/release/autosec
if [ ! -d "$data/logs" ]; then
  rm -rf "$data"
  "$bin" datasets generate --out "$data" --events "$events" --seed "$seed" --profile "${PROFILE:-office}"
fi
echo "input: $(du -sb "$data" | cut -f1) bytes in $(find "$data" -type f | wc -l) files"
store="$work/store-$$"
cfg="$work/config-$$"
rm -rf "$store" "$cfg"
mkdir -p "$cfg"
config=()
if [ -n "${NO_DETECT:-}" ]; then
  printf '[detect]\nenabled = false\n' > "$cfg/bench.toml"
  config=(--config "$cfg/bench.toml")
elif [ -n "${NO_RULES:-}" ]; then
  printf '[detect]\nrules = false\n' > "$cfg/bench.toml"
  config=(--config "$cfg/bench.toml")
fi
AUTOSEC_CONFIG_DIR="$cfg" /usr/bin/time -f 'peak_rss_kb=%M wall_s=%e user_s=%U sys_s=%S' \
  "$bin" "${config[@]}" --data-dir "$store" ingest --json "$data/logs" > "$work/summary.json"
python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"events={s['events']} rejected={s['rejected']} seconds={s['seconds']:.2f} events_per_sec={s['events_per_sec']:.0f} alerts={s['alerts']} detect_seconds={s['detect_seconds']:.2f} intel_seconds={s['intel_seconds']:.2f} intel={s['intel_ranking'] or 'off'}")
PY
du -sh "$store"
rm -rf "$store" "$cfg"
