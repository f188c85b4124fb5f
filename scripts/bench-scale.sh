#!/usr/bin/env bash
# run-due end to end (schedule + render + signed POST) through real `nurture worker` processes
# into a loopback nginx answering 204, on embedded SQLite and on PostgreSQL with 1, 2 and 4
# workers, beside the ceilings of the same run: nginx under wrk, the HTTP client alone, and the
# SQLite writer's floor for the same messages (`schedule-ceiling`).
# Prints one line per run; BENCHMARKS.md holds the latest table.
#
#   SCALE_LEADS="10000 100000" SCALE_WORKERS="1 2 4" BACKLOG_ROWS="10000 1000000" scripts/bench-scale.sh
#   SCALE_BACKENDS=sqlite SCALE_NURTURE=/path/to/other/nurture BACKLOG_ROWS= scripts/bench-scale.sh   # another build, same sink
#   SCALE_LEADS="100000 1000000" SCALE_MEASURE=50000 SCALE_BACKENDS=sqlite BACKLOG_ROWS= scripts/bench-scale.sh  # the rate while 1M are due
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || command -v "/usr/sbin/$tool" >/dev/null \
    || { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$tool" </dev/null; }
done
swift build -c release --product nurture
swift build -c release --product nurture-bench
nurture=${SCALE_NURTURE:-$PWD/.build/release/nurture}
bench=$PWD/.build/release/nurture-bench
work=$(mktemp -d /tmp/nurture-scale.XXXXXX)
chmod 755 "$work"
postgres=$(scripts/postgres.sh start)
eval "$postgres"
cleanup() {
  pkill -f "$nurture worker" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  scripts/postgres.sh stop "$NURTURE_POSTGRES_DIR"
  rm -rf "$work"
}
trap cleanup EXIT

# nginx answering 204 to every POST, on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  server {
    listen 127.0.0.1:$port;
    location / { return 204; }
  }
}
NGINX
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx_bin" -c "$work/nginx.conf"
url="http://127.0.0.1:$port/hook"
wrk -t2 -c32 -d10s -s Benchmarks/post.lua "$url" | sed -n 's/^Requests\/sec: *//p' | awk '{printf "sink-ceiling nginx tool=wrk connections=32 requests_per_s=%.0f\n", $1}'
"$bench" transport --url "$url" --transport async-http-client --concurrency 32 --requests 50000

cat > "$work/nurture.toml" <<TOML
[channels.email]
kind = "webhook"
url = "$url"
secret_env = "NURTURE_BENCH_SECRET"
timeout_seconds = 10
concurrency = 32
TOML
export NURTURE_BENCH_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"

run() {  # backend leads workers
  local backend=$1 leads=$2 workers=$3 database pids=() extra=()
  if [ "$backend" = sqlite ]; then
    database="$work/bench-$leads-$workers.sqlite"
  else
    local name="bench_${leads}_${workers}_$RANDOM"
    psql "$NURTURE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
    database=${NURTURE_TEST_POSTGRES_URL/\/postgres\?/\/$name?}
    extra=(--server-user postgres)
  fi
  [ -f "$work/leads-$leads.csv" ] || "$bench" make-csv --rows "$leads" --output "$work/leads-$leads.csv" >/dev/null
  local started=$(date +%s.%N)
  "$nurture" leads import "$work/leads-$leads.csv" --database "$database" --config "$work/nurture.toml" >/dev/null
  awk -v b="$backend" -v n="$leads" -v s="$started" -v e="$(date +%s.%N)" \
    'BEGIN{printf "import backend=%s rows=%d seconds=%.1f rows_per_s=%.0f\n", b, n, e-s, n/(e-s)}'
  for n in $(seq "$workers"); do
    "$nurture" worker --poll-ms 100 --database "$database" --config "$work/nurture.toml" >"$work/worker-$n.log" 2>&1 &
    pids+=($!)
  done
  # SCALE_MEASURE times only the first sends of a larger backlog (the rate while N are due).
  local measure=${SCALE_MEASURE:-$leads}
  (( measure > leads )) && measure=$leads
  "$bench" wait-sent --database "$database" --messages "$measure" --pids "${pids[@]}" "${extra[@]}" \
    --label "run-due backend=$backend leads=$leads workers=$workers"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}

# A due backlog of N leads (each with a due enrollment and a pending email), written straight
# into the tables: a claim of due leads, a claim of messages and a ranking walk must cost the
# same over 1,000,000 rows as over 10,000, and the plans show why (index ranges, no sort).
backlog() {  # backend rows
  local backend=$1 rows=$2 database
  if [ "$backend" = sqlite ]; then
    database="$work/backlog-$rows.sqlite"
    "$nurture" migrate --database "$database" >/dev/null
    sqlite3 "$database" ".parameter set :rows $rows" ".read Benchmarks/backlog-sqlite.sql"
  else
    local name="backlog_$rows"
    psql "$NURTURE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
    database=${NURTURE_TEST_POSTGRES_URL/\/postgres\?/\/$name?}
    "$nurture" migrate --database "$database" >/dev/null
    psql "$database" -q -v rows="$rows" -f Benchmarks/backlog-postgres.sql >/dev/null
  fi
  echo "backlog backend=$backend rows=$rows"
  "$bench" backlog --database "$database" --plans
}

backends=${SCALE_BACKENDS:-sqlite postgres}
for leads in ${SCALE_LEADS-10000 100000}; do
  if [[ " $backends " == *" sqlite "* ]]; then
    # The writer's floor for these messages (scheduling's writes, then the dispatcher's): no run
    # on one SQLite file can pass it, whatever the HTTP client could take.
    "$bench" schedule-ceiling --leads "$leads"
    run sqlite "$leads" 1
  fi
  if [[ " $backends " == *" postgres "* ]]; then
    for workers in ${SCALE_WORKERS:-1 2 4}; do run postgres "$leads" "$workers"; done
  fi
done
for rows in ${BACKLOG_ROWS-10000 1000000}; do
  for backend in $backends; do backlog "$backend" "$rows"; done
done
