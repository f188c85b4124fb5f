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

scripts/bench-http.sh
