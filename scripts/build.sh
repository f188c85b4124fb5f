#!/usr/bin/env bash
# The edit loop in one step: rebuild `nurture` with the Campaigns/ on disk and validate what was
# built, saying how long it took. Campaigns are Swift compiled into the binary; templates are
# read from disk whenever nurture starts, so a template edit needs no rebuild (validate checks it).
#
#   scripts/build.sh                       # release build, as scripts/run.sh uses
#   BUILD_CONFIGURATION=debug scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=${BUILD_CONFIGURATION:-release}
started=$(date +%s.%N)
swift build -c "$configuration" --product nurture
"$(swift build -c "$configuration" --show-bin-path)/nurture" validate
awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "built and validated in %.1f s\n", e - s }'
echo "next: nurture plan (what deploying it does to the leads in flight), then nurture deploy"
