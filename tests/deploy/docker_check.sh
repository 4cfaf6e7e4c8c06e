#!/usr/bin/env bash
# Build the README's Dockerfile (tests/deploy/Dockerfile) with a wheel of this tree, run the
# image, fetch a page from it, and stop it with `docker stop`, which must be graceful (the
# container exits by itself on SIGTERM, with status 0, well before docker's SIGKILL).
#
# Needs a running Docker engine and the image debian:bookworm-slim (pulled, or imported from a
# debootstrap of bookworm where no registry is reachable). Usage: tests/deploy/docker_check.sh WHEEL
set -euo pipefail
wheel=${1:?usage: docker_check.sh path/to/wirespeed-*.whl}
here=$(cd "$(dirname "$0")" && pwd)
context=$(mktemp -d)
port=${DOCKER_CHECK_PORT:-18000}
name=wirespeed-docker-check-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$here/app.py" "$wheel" "$context/"
docker build --network host -q -t wirespeed-docker-check "$context"
# Host networking: the container's port 8000 is the host's (no bridge is needed for the check).
docker run -d --name "$name" --network host wirespeed-docker-check \
    wirespeed app:app --host 127.0.0.1 --port "$port" --workers 2 --shutdown-timeout 8 >/dev/null
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.2
done
echo "GET / -> $(curl -fsS "http://127.0.0.1:$port/")"
docker exec "$name" id
start=$(date +%s.%N)
docker stop -t 10 "$name" >/dev/null
took=$(echo "$(date +%s.%N) - $start" | bc)
status=$(docker inspect -f '{{.State.ExitCode}}' "$name")
echo "docker stop took ${took} s; exit status ${status}"
docker logs "$name" 2>&1 | tail -n 8
test "$status" = 0
