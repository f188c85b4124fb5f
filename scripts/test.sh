#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, a PostgreSQL server of its own
# (scripts/postgres.sh, stopped at the end even when a test fails), headless Chromium and its
# WebDriver for the dashboard's browser tests, moto (an Amazon SES emulator) with the Python
# checkers the provider tests sign with (scripts/moto.sh), a build, then every test
# target (unit, engine, both storage backends, and end-to-end tests that run the real `nurture`
# binary), then the API contract checked from outside by schemathesis against the same binary
# (scripts/schemathesis.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --browser
postgres=$(scripts/postgres.sh start) || { echo "test.sh: PostgreSQL did not start, so its tests cannot run" >&2; exit 1; }
eval "$postgres"
trap 'scripts/postgres.sh stop "$NURTURE_POSTGRES_DIR"' EXIT
moto=$(scripts/moto.sh start) || { echo "test.sh: moto (the SES emulator) did not start, so the provider tests cannot run" >&2; exit 1; }
eval "$moto"
trap 'scripts/moto.sh stop "$NURTURE_MOTO_PID"; scripts/postgres.sh stop "$NURTURE_POSTGRES_DIR"' EXIT
swift test "$@"
scripts/schemathesis.sh
