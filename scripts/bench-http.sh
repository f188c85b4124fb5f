#!/usr/bin/env bash
# POST /v1/events through the real `nurture serve` (release, --no-worker) under wrk, with
# batches of 1 and 100 events, on SQLite and on PostgreSQL, beside a trivial Hummingbird route
# answering the same request in the same run. Prints one line per run (see BENCHMARKS.md).
#
#   HTTP_LEADS=10000 HTTP_SECONDS=15 HTTP_BACKENDS="sqlite postgres" scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bench.sh, which installs it" >&2; exit 1; }
swift build -c release --product nurture
swift build -c release --product nurture-bench
bench=.build/release/nurture-bench
leads=${HTTP_LEADS:-10000}
seconds=${HTTP_SECONDS:-15}
backends=${HTTP_BACKENDS:-sqlite postgres}
work=$(mktemp -d)
cleanup() {
  kill "${sink_pid:-}" "${serve_pid:-}" 2>/dev/null || true
  [ -n "${NURTURE_POSTGRES_DIR:-}" ] && scripts/postgres.sh stop "$NURTURE_POSTGRES_DIR"
  rm -rf "$work"
}
trap cleanup EXIT
[[ " $backends " == *" postgres "* ]] && eval "$(scripts/postgres.sh start)"

echo "== HTTP: POST /v1/events through nurture serve, beside a trivial route"
"$bench" make-csv --rows "$leads" --output "$work/leads.csv" >/dev/null
"$bench" sink --seconds 3600 > "$work/sink.out" &
sink_pid=$!
for _ in $(seq 200); do grep -q '^port=' "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
sink="http://127.0.0.1:$(sed -n 's/^port=//p' "$work/sink.out")"

summarise() {  # name batch file
  local rps p50 p99 errors
  rps=$(sed -n 's/^Requests\/sec: *//p' "$3")
  p50=$(awk '$1=="50%"{print $2}' "$3"); p99=$(awk '$1=="99%"{print $2}' "$3")
  errors=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$3"); errors=${errors:-0}
  awk -v name="$1" -v rps="$rps" -v b="$2" -v p50="$p50" -v p99="$p99" -v e="$errors" \
    'BEGIN{printf "%s connections=32 requests_per_s=%.0f events_per_s=%.0f p50=%s p99=%s non_2xx=%s\n", name, rps, rps*b, p50, p99, e}'
}

# The ceiling: the same Hummingbird stack taking the same single-event request and doing nothing.
EVENTS_PATH=/hook BATCH=1 wrk -t2 -c32 -d"${seconds}s" --latency -s Benchmarks/events.lua "$sink" > "$work/trivial.txt"
summarise http-trivial 1 "$work/trivial.txt"

for backend in $backends; do
  if [ "$backend" = sqlite ]; then
    database="$work/http.sqlite"
  else
    psql "$NURTURE_TEST_POSTGRES_URL" -qc "CREATE DATABASE http_bench" >/dev/null
    database=${NURTURE_TEST_POSTGRES_URL/\/postgres\?/\/http_bench?}
  fi
  .build/release/nurture leads import "$work/leads.csv" --database "$database" >/dev/null
  NURTURE_API_KEYS=bench-key .build/release/nurture serve --no-worker --port 0 --database "$database" \
    > "$work/serve.out" 2>/dev/null &
  serve_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^Nurture listening on //p' "$work/serve.out")
  for batch in 1 100; do
    RUN="$(date +%s%N)" BATCH=$batch LEADS=$leads wrk -t2 -c32 -d"${seconds}s" --latency -s Benchmarks/events.lua "$base" > "$work/events-$batch.txt"
    summarise "http-events-$batch backend=$backend" "$batch" "$work/events-$batch.txt"
  done
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  serve_pid=
done
