#!/usr/bin/env bash
# What the timeout and connection-limit machinery costs: wirespeed's plaintext throughput with
# it on (the defaults) and off (every timeout and limit 0), in interleaved rounds, the server on
# CPU 0 and wrk on CPU 1. Prints one line per round and variant: "<round> <on|off> <req/s>".
# Usage (after make bench-setup): bash benches/timeouts_ab.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/servers"
ROUNDS=${1:-4}
SECONDS_PER_RUN=${2:-8}
PY=../../.venv/bin/python
OFF="--header-timeout 0 --body-timeout 0 --keep-alive-timeout 0 --write-timeout 0
     --max-requests-per-connection 0 --max-connections 0"
for round in $(seq 1 "$ROUNDS"); do
  for variant in on off; do
    port=$(( 18300 + round * 2 + ( variant == off ? 1 : 0 ) ))
    flags=""
    if [ "$variant" = off ]; then flags=$OFF; fi
    # shellcheck disable=SC2086
    taskset -c 0 "$PY" -m wirespeed wirespeed_app:app --host 127.0.0.1 --port "$port" \
      --log-level warning $flags &
    pid=$!
    sleep 1.5
    taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1
    rps=$(taskset -c 1 wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$port/" | awk '/Requests\/sec/ {print $2}')
    echo "$round $variant $rps"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
