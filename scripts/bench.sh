#!/usr/bin/env bash
# Runs every benchmark of the durable engine on a release build, each beside its ceiling
# measured in the same run, and prints one line of figures per benchmark (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if ! command -v wrk >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk </dev/null
fi
swift build -c release --product nurture-bench
bench=.build/release/nurture-bench
work=$(mktemp -d)
trap 'kill "${sink_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== ceiling: raw batched SQLite inserts with GRDB"
"$bench" sqlite-ceiling --rows "${CEILING_ROWS:-1000000}"
echo "== run-due over due enrollments"
"$bench" scheduler --leads "${SCHEDULER_LEADS:-100000}"
echo "== import of a CSV (peak RSS of the importing process)"
"$bench" make-csv --rows "${IMPORT_ROWS:-1000000}" --output "$work/leads.csv"
"$bench" import --file "$work/leads.csv"

echo "== dispatch to a loopback sink, beside the sink's own capacity under wrk"
"$bench" sink --seconds 900 > "$work/sink.out" &
sink_pid=$!
for _ in $(seq 100); do grep -q '^port=' "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^port=//p' "$work/sink.out")
url="http://127.0.0.1:$port/hook"
wrk -t2 -c32 -d10s -s Benchmarks/post.lua "$url" | sed -n 's/^Requests\/sec: *//p' | awk '{printf "sink-ceiling tool=wrk connections=32 requests_per_s=%.0f\n", $1}'
for transport in async-http-client urlsession; do
  "$bench" transport --url "$url" --transport "$transport" --concurrency 32 --requests "${DISPATCH_MESSAGES:-50000}"
  "$bench" dispatch --url "$url" --transport "$transport" --concurrency 32 --messages "${DISPATCH_MESSAGES:-50000}"
done

echo "== scoring: event ingestion through the engine call, one per transaction and 100 per transaction"
"$bench" score-ingest --leads "${SCORE_LEADS:-10000}"
echo "== scoring: scores recompute and leads top --limit 100 over scored leads"
"$bench" score-ranking --leads "${RANKING_LEADS:-1000000}"

echo "== HTTP: POST /v1/events through nurture serve (release, --no-worker), beside a trivial route"
swift build -c release --product nurture
"$bench" make-csv --rows "${HTTP_LEADS:-10000}" --output "$work/http-leads.csv" >/dev/null
.build/release/nurture leads import "$work/http-leads.csv" --database "$work/http.sqlite" >/dev/null
NURTURE_API_KEYS=bench-key .build/release/nurture serve --no-worker --port 0 --database "$work/http.sqlite" \
  > "$work/serve.out" 2> /dev/null &
serve_pid=$!
trap 'kill "${sink_pid:-}" "${serve_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do grep -q 'listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^Nurture listening on //p' "$work/serve.out")
# The ceiling: the same Hummingbird stack answering the same single-event body without work.
EVENTS_PATH=/hook BATCH=1 wrk -t2 -c32 -d10s --latency -s Benchmarks/events.lua "http://127.0.0.1:$port" > "$work/trivial.txt"
for batch in 1 100; do
  BATCH=$batch LEADS="${HTTP_LEADS:-10000}" wrk -t2 -c32 -d15s --latency -s Benchmarks/events.lua "$base" > "$work/events-$batch.txt"
done
for run in trivial events-1 events-100; do
  file="$work/$run.txt"
  batch=1; [ "$run" = events-100 ] && batch=100
  rps=$(sed -n 's/^Requests\/sec: *//p' "$file")
  p50=$(awk '$1=="50%"{print $2}' "$file"); p99=$(awk '$1=="99%"{print $2}' "$file")
  errors=$(grep -c 'Non-2xx' "$file" || true)
  awk -v name="$run" -v rps="$rps" -v b="$batch" -v p50="$p50" -v p99="$p99" -v e="$errors" \
    'BEGIN{printf "http-%s connections=32 requests_per_s=%.0f events_per_s=%.0f p50=%s p99=%s non_2xx_lines=%s\n", name, rps, rps*b, p50, p99, e}'
done
