#!/usr/bin/env bash
# Installs the system packages Nurture builds against, only when one is missing, so a clean
# Debian machine with just the Swift toolchain is enough.
set -euo pipefail

# sqlite3: the tests hold a real lock from another process, as an operator's shell would.
# tzdata: local times, and the zone and country tables (zone.tab) imports read.
packages=(libsqlite3-dev libcurl4-openssl-dev sqlite3 tzdata)
# --browser (scripts/test.sh): the dashboard's tests drive a real headless Chromium over WebDriver.
if [ "${1:-}" = "--browser" ]; then packages+=(chromium chromium-driver); fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" </dev/null
fi
