#!/usr/bin/env bash
# The main job for a newcomer: install what is missing, build, check the shipped campaigns, then
# run the real durable engine over the demo leads on a fast virtual clock, with every message
# going to the local preview outbox (nothing leaves the machine), and show what was sent.
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
echo "==> nurture demo: 10 demo leads, 21 virtual days, real engine, preview outbox"
"$nurture" demo

echo
echo "==> nurture outbox --database nurture-demo.sqlite --limit 2"
"$nurture" outbox --database nurture-demo.sqlite --limit 2

echo
echo "==> nurture leads top: the demo's prospects ranked at the end of the run, with their reasons"
"$nurture" leads top --database nurture-demo.sqlite --now 2026-12-14T08:00:00Z --limit 5

echo
echo "==> nurture leads show ana.costa@fernhill.example: why she is sales-ready, and the alerts sales got"
"$nurture" leads show ana.costa@fernhill.example --database nurture-demo.sqlite --now 2026-12-14T08:00:00Z --limit 8

echo
echo "==> nurture stats --campaign welcome (how the welcome series did: funnel, steps, the A/B split)"
"$nurture" stats --campaign welcome --database nurture-demo.sqlite

echo
echo "==> nurture simulate welcome --lead Demo/ana.json (one lead, every decision explained)"
"$nurture" simulate welcome --lead Demo/ana.json --days 30 --start 2026-11-23T09:00 \
  --events "2d2h:email.opened step=welcome-1,6d:page.viewed path=/pricing,7d:resource.downloaded"

echo
echo "==> Next, the HTTP side (API, tracked links, one-click unsubscribe, inbound webhooks):"
echo "    NURTURE_API_KEYS=dev-key $nurture serve --database nurture-demo.sqlite"
echo "    then the curl examples in README.md, section \"The HTTP side\"."
