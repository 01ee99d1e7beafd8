#!/usr/bin/env bash
# `make run`: the demo city served, with live scans streaming through the scan API and a local
# receiver printing the alerts pushed to district HQs and communities. Ctrl-C stops all three.
set -euo pipefail
BIN=${BIN:-.venv/bin}
RATE=${RATE:-30}
LOGS=${PLACECODE_INSTANCE_DIR:-instance}
mkdir -p "$LOGS"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

"$BIN/placecode" receiver > $LOGS/receiver.log 2>&1 &
pids+=($!)
echo "alert pushes and SMS are received on http://127.0.0.1:8061/ (log: $LOGS/receiver.log)"
# a city build leaves its older scan days to load beside the server (placecode.demo.backfill)
nice "$BIN/placecode" demo --backfill --quiet > $LOGS/backfill.log 2>&1 &
pids+=($!)
echo "older scan days load in the background (log: $LOGS/backfill.log)"
if [ "$RATE" != "0" ]; then
  # the simulator retries until the server is up; RATE=0 turns it off
  "$BIN/placecode" simulate --rate "$RATE" --quiet > $LOGS/simulate.log 2>&1 &
  pids+=($!)
  echo "live scans: about $RATE/s at this hour's rhythm (log: $LOGS/simulate.log; RATE=0 stops)"
fi
# SMS notices go to the local receiver too, unless a real gateway is set
PLACECODE_SMS_URL=${PLACECODE_SMS_URL:-http://127.0.0.1:8061/sms} "$BIN/placecode" serve
