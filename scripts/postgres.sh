#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and the benchmarks: installed from Debian's packages
# when missing, initialised in a temporary directory (as the `postgres` user when run as root,
# since initdb refuses root) with --no-sync, listening on 127.0.0.1 only, on a free port.
#
#   eval "$(scripts/postgres.sh start)"   # exports NURTURE_TEST_POSTGRES_URL and NURTURE_POSTGRES_DIR
#   scripts/postgres.sh stop "$NURTURE_POSTGRES_DIR"
#
# `start` prints the exports on stdout and everything else on stderr; it fails, saying why, when
# the server cannot start, so no caller goes on without it.
set -euo pipefail

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [[ -n "$found" && -x "$found/initdb" ]] && echo "$found"
}

install_postgres() {
    if bindir >/dev/null; then return; fi
    echo "postgres.sh: installing postgresql from Debian's packages" >&2
    if [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 \
            || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; }
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    bindir >/dev/null || { echo "postgres.sh: postgresql did not install; the PostgreSQL tests cannot run" >&2; exit 1; }
}

# Runs a server binary as the user that owns the data directory.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    install_postgres
    local bin dir port password
    bin=$(bindir)
    dir=$(mktemp -d /tmp/nurture-postgres.XXXXXX)
    chmod 755 "$dir"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    echo "$password" > "$dir/pwfile"
    [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$dir"
    as_owner "$bin/initdb" --no-sync -D "$dir/data" -U nurture --pwfile="$dir/pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; echo "postgres.sh: initdb failed" >&2; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    # Durability of the test server itself is not under test (Nurture's processes are the ones
    # killed), so it skips fsync; the many test databases each cost a few milliseconds.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >&2 || { cat "$dir/server.log" >&2; echo "postgres.sh: the server did not start" >&2; exit 1; }
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)" >&2
    echo "export NURTURE_TEST_POSTGRES_URL='postgres://nurture:$password@127.0.0.1:$port/postgres?sslmode=disable'"
    echo "export NURTURE_POSTGRES_DIR='$dir'"
}

stop() {
    local dir=${1:-}
    [[ -n "$dir" && -d "$dir/data" ]] || return 0
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: scripts/postgres.sh start | stop DIR" >&2; exit 2 ;;
esac
