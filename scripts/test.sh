#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, a build, then every test target
# (unit, engine, and end-to-end tests that run the real `nurture` binary).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift test "$@"
