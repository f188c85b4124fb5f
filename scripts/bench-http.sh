#!/usr/bin/env bash
# POST /v1/events through the real `nurture serve` (release, --no-worker) under wrk, with
# batches of 1 and 100 events, beside a trivial Hummingbird route answering the same request
# in the same run. Prints one line per run (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bench.sh, which installs it" >&2; exit 1; }
swift build -c release --product nurture --product nurture-bench 2>/dev/null || {
  swift build -c release --product nurture && swift build -c release --product nurture-bench; }
bench=.build/release/nurture-bench
leads=${HTTP_LEADS:-10000}
seconds=${HTTP_SECONDS:-15}
work=$(mktemp -d)
trap 'kill "${sink_pid:-}" "${serve_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== HTTP: POST /v1/events through nurture serve, beside a trivial route"
"$bench" make-csv --rows "$leads" --output "$work/leads.csv" >/dev/null
.build/release/nurture leads import "$work/leads.csv" --database "$work/http.sqlite" >/dev/null
"$bench" sink --seconds 900 > "$work/sink.out" &
sink_pid=$!
NURTURE_API_KEYS=bench-key .build/release/nurture serve --no-worker --port 0 --database "$work/http.sqlite" \
  > "$work/serve.out" 2>/dev/null &
serve_pid=$!
for _ in $(seq 200); do
  grep -q 'listening on' "$work/serve.out" 2>/dev/null && grep -q '^port=' "$work/sink.out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^Nurture listening on //p' "$work/serve.out")
sink="http://127.0.0.1:$(sed -n 's/^port=//p' "$work/sink.out")"

# The ceiling: the same Hummingbird stack taking the same single-event request and doing nothing.
EVENTS_PATH=/hook BATCH=1 wrk -t2 -c32 -d"${seconds}s" --latency -s Benchmarks/events.lua "$sink" > "$work/trivial.txt"
for batch in 1 100; do
  BATCH=$batch LEADS=$leads wrk -t2 -c32 -d"${seconds}s" --latency -s Benchmarks/events.lua "$base" > "$work/events-$batch.txt"
done
for run in trivial events-1 events-100; do
  file="$work/$run.txt"
  batch=1; [ "$run" = events-100 ] && batch=100
  rps=$(sed -n 's/^Requests\/sec: *//p' "$file")
  p50=$(awk '$1=="50%"{print $2}' "$file"); p99=$(awk '$1=="99%"{print $2}' "$file")
  errors=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$file"); errors=${errors:-0}
  awk -v name="$run" -v rps="$rps" -v b="$batch" -v p50="$p50" -v p99="$p99" -v e="$errors" \
    'BEGIN{printf "http-%s connections=32 requests_per_s=%.0f events_per_s=%.0f p50=%s p99=%s non_2xx=%s\n", name, rps, rps*b, p50, p99, e}'
done
