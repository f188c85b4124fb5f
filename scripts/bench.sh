#!/usr/bin/env bash
# Runs every benchmark of the speed issue on a release build, each beside the ceiling measured
# in the same run, and prints one line of figures per benchmark (BENCHMARKS.md holds the table).
#
#   scripts/bench.sh                 # the sizes of the targets (about 25 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh   # every row at small sizes (a few minutes): does it all still run?
#
# Sizes: CEILING_ROWS, SCHEDULER_LEADS, IMPORT_ROWS, SCORE_LEADS, RANKING_LEADS, RANKING_EVENTS_PER_LEAD,
# DISPATCH_MESSAGES, HTTP_LEADS, HTTP_SECONDS, SCALE_LEADS, SCALE_WORKERS, DUE_LEADS, CONTROLS_LEADS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${BENCH_QUICK:-}" ]; then
  : "${CEILING_ROWS:=100000}" "${SCHEDULER_LEADS:=10000}" "${IMPORT_ROWS:=50000}" "${SCORE_LEADS:=2000}"
  : "${RANKING_LEADS:=20000}" "${DISPATCH_MESSAGES:=5000}" "${HTTP_SECONDS:=3}" "${SCALE_LEADS:=5000}"
  : "${SCALE_WORKERS:=1 2}" "${DUE_LEADS:=20000}"
fi

scripts/setup.sh
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
command -v wrk >/dev/null || { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk </dev/null; }
swift build -c release --product nurture
swift build -c release --product nurture-bench
bench=.build/release/nurture-bench
work=$(mktemp -d)
trap 'kill "${sink_pid:-}" 2>/dev/null || true; rm -rf "$work" /tmp/nurture-bench-*' EXIT

echo "== ceiling: raw batched SQLite inserts with GRDB"
"$bench" sqlite-ceiling --rows "${CEILING_ROWS:-1000000}"
echo "== scheduling alone: due step -> rendered outbox row (preview channel), beside the same writes from prepared values"
"$bench" schedule-ceiling --leads "${SCHEDULER_LEADS:-100000}"
"$bench" scheduler --leads "${SCHEDULER_LEADS:-100000}"
rm -rf /tmp/nurture-bench-*
echo "== import of a CSV, every row new (peak RSS of the importing process), beside the same rows written alone"
"$bench" import-ceiling --rows "${IMPORT_ROWS:-1000000}"
rm -f /tmp/nurture-bench-*/import-ceiling.sqlite*
"$bench" make-csv --rows "${IMPORT_ROWS:-1000000}" --output "$work/leads.csv"
"$bench" import --file "$work/leads.csv"
rm -f "$work/leads.csv" /tmp/nurture-bench-*/import.sqlite*

echo "== one SQLite file with ${RANKING_LEADS:-1000000} leads and their events: recompute, leads top, leads show"
"$bench" score-ranking --leads "${RANKING_LEADS:-1000000}" --events-per-lead "${RANKING_EVENTS_PER_LEAD:-10}"
rm -f /tmp/nurture-bench-*/ranking.sqlite*
echo "== stats over a year of counters for every step of the shipped playbook"
"$bench" stats-read
echo "== what the campaign controls read costs a scheduling pass"
"$bench" controls-read --leads "${CONTROLS_LEADS:-20000}"
rm -f /tmp/nurture-bench-*/controls.sqlite*
echo "== event ingestion through the engine call, one per transaction and 100 per transaction, beside the writer's floor for events"
"$bench" score-ingest --leads "${SCORE_LEADS:-10000}"

echo "== dispatch alone to a loopback sink, beside the sink's own capacity under wrk"
"$bench" sink --seconds 3600 > "$work/sink.out" &
sink_pid=$!
for _ in $(seq 100); do grep -q '^port=' "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$(sed -n 's/^port=//p' "$work/sink.out")/hook"
wrk -t2 -c32 -d10s -s Benchmarks/post.lua "$url" | sed -n 's/^Requests\/sec: *//p' | awk '{printf "sink-ceiling tool=wrk connections=32 requests_per_s=%.0f\n", $1}'
"$bench" transport --url "$url" --transport async-http-client --concurrency 32 --requests "${DISPATCH_MESSAGES:-50000}"
"$bench" dispatch --url "$url" --transport async-http-client --concurrency 32 --messages "${DISPATCH_MESSAGES:-50000}"
kill "$sink_pid"; sink_pid=

echo "== POST /v1/events over HTTP, SQLite and PostgreSQL"
HTTP_LEADS=${HTTP_LEADS:-10000} HTTP_SECONDS=${HTTP_SECONDS:-15} scripts/bench-http.sh

echo "== run-due end to end into nginx: SQLite, PostgreSQL with 1/2/4 workers"
SCALE_LEADS=${SCALE_LEADS:-100000} SCALE_WORKERS=${SCALE_WORKERS:-1 2 4} BACKLOG_ROWS= scripts/bench-scale.sh
echo "== run-due with ${DUE_LEADS:-1000000} leads due, until all are sent, and the worker's RSS"
SCALE_LEADS=${DUE_LEADS:-1000000} SCALE_BACKENDS=sqlite BACKLOG_ROWS= scripts/bench-scale.sh
