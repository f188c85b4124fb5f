#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, a build, then every test target
# (unit, engine, and end-to-end tests that run the real `nurture` binary), then the API contract
# checked from outside by schemathesis against the same binary (scripts/schemathesis.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift test "$@"
scripts/schemathesis.sh
