#!/usr/bin/env bash
# The main job for a newcomer: install what is missing, build, check the shipped campaigns, and
# play the welcome series for a demo lead on a virtual clock so you can see what it would send.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "==> building (the first build takes a few minutes)"
swift build -c release --product nurture
nurture=.build/release/nurture

echo "==> nurture validate"
"$nurture" validate

echo
echo "==> nurture campaigns show welcome"
"$nurture" campaigns show welcome

echo
echo "==> nurture simulate welcome --lead Demo/ana.json --days 30"
"$nurture" simulate welcome --lead Demo/ana.json --days 30 --start 2026-11-23T09:00 \
  --events "2d2h:email.opened step=welcome-1,6d:page.viewed path=/pricing,7d:resource.downloaded"

echo
echo "==> nurture simulate invoice-follow-up --lead Demo/invoice.json --days 40 (paid on day 17)"
"$nurture" simulate invoice-follow-up --lead Demo/invoice.json --days 40 --start 2026-11-23T10:00 \
  --events "17d3h:invoice.paid invoice_number=INV-2026-0412"
