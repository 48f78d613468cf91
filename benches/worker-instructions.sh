#!/usr/bin/env bash
# Instructions the ingest workers execute (callgrind, counting inside worker::process only)
# for a generated set, detection off. Unlike wall or CPU time on this VM, whose speed drifts
# by ±15-50% between runs, the count repeats to within ~0.1%, so a change of a few percent on
# the workers' path shows. Needs valgrind; ~2 min for 100k events.
#   benches/worker-instructions.sh [EVENTS] [SEED] [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
seed=${2:-42}
bin=${3:-target/release/autosec}
work=${BENCH_DIR:-/tmp/autosec-bench}
data="$work/gen-$events-$seed-${PROFILE:-helpdesk}"
[ "$#" -ge 3 ] || cargo build --release --quiet
if [ ! -d "$data/logs" ]; then
  rm -rf "$data"
  "$bin" datasets generate --out "$data" --events "$events" --seed "$seed" --profile "${PROFILE:-helpdesk}"
fi
store="$work/store-$$"
cfg="$work/config-$$"
rm -rf "$store" "$cfg"
mkdir -p "$cfg"
printf '[detect]\nenabled = false\n' > "$cfg/bench.toml"
AUTOSEC_CONFIG_DIR="$cfg" valgrind --tool=callgrind --toggle-collect='autosec::ingest::worker::process' \
  --callgrind-out-file="$work/callgrind.out" \
  "$bin" --config "$cfg/bench.toml" --data-dir "$store" ingest --json "$data/logs" \
  > /dev/null 2> "$work/valgrind.err"
collected=$(grep -oE 'Collected : [0-9]+' "$work/valgrind.err" | grep -oE '[0-9]+')
echo "worker instructions: $collected for $events events ($((collected / events)) per event)"
echo "profile: callgrind_annotate --inclusive=yes $work/callgrind.out"
rm -rf "$store" "$cfg"
