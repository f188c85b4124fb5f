#!/usr/bin/env bash
# The outside implementations the provider tests check Nurture against: moto in server mode (a
# real Amazon SES v2 emulator), botocore (AWS's own SigV4 signer) and Python's `cryptography`
# (ECDSA, Ed25519, RSA and X.509 for the webhook signatures). A Python that has them all is used
# as it is; otherwise they are installed, pinned, into a virtual environment inside the project
# (.venv-providers/, git-ignored). moto listens on 127.0.0.1 on a free port.
#
#   eval "$(scripts/moto.sh start)"   # exports NURTURE_PYTHON, NURTURE_TEST_SES_URL and NURTURE_MOTO_PID
#   scripts/moto.sh stop "$NURTURE_MOTO_PID"
#
# `start` prints the exports on stdout and everything else on stderr, and fails, saying why,
# when moto cannot start: no provider test runs without its outside check.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=".venv-providers"
packages=("moto[server]==5.2.1" "boto3==1.43.11" "botocore==1.43.11" "cryptography==48.0.0")
check='import moto.server, boto3, botocore.auth, cryptography.x509'

python_with_packages() {
    local python="${PYTHON:-python3}"
    if "$python" -c "$check" 2>/dev/null; then command -v "$python"; return; fi
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$check" 2>/dev/null; then echo "$PWD/$venv/bin/python"; return; fi
    echo "moto.sh: installing ${packages[*]} into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --retries 3 --timeout 20 "${packages[@]}" >&2 \
        || { echo "moto.sh: could not install the provider checkers; the provider tests cannot run" >&2; exit 1; }
    echo "$PWD/$venv/bin/python"
}

start() {
    local python port log pid
    python=$(python_with_packages)
    port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    log=$(mktemp /tmp/nurture-moto.XXXXXX)
    "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        if "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
            echo "moto.sh: moto (SES v2) on 127.0.0.1:$port, pid $pid" >&2
            echo "export NURTURE_PYTHON='$python' NURTURE_TEST_SES_URL='http://127.0.0.1:$port' NURTURE_MOTO_PID='$pid'"
            return
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    cat "$log" >&2
    kill "$pid" 2>/dev/null || true
    echo "moto.sh: moto did not start; the SES tests cannot run" >&2
    exit 1
}

stop() {
    local pid=${1:-}
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: scripts/moto.sh start | stop PID" >&2; exit 2 ;;
esac
