#!/usr/bin/env bash
# Try the README's systemd units (tests/deploy/wirespeed.socket and .service) under a real
# systemd, booted in a container: enable the socket, let the first request start the service
# through socket activation, check the supervisor and its two workers run as the unprivileged
# user, then stop the service and check it stopped cleanly (no SIGKILL, result success).
#
# Needs a running Docker engine and debian:bookworm-slim (see debian_base.sh).
# Usage: tests/deploy/systemd_check.sh WHEEL
set -euo pipefail
wheel=${1:?usage: systemd_check.sh path/to/wirespeed-*.whl}
here=$(cd "$(dirname "$0")" && pwd)
context=$(mktemp -d)
name=wirespeed-systemd-check-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$context"' EXIT
cp "$here/Dockerfile.systemd" "$here/app.py" "$here/wirespeed.socket" "$here/wirespeed.service" "$wheel" "$context/"
docker build --network host -q -f "$context/Dockerfile.systemd" -t wirespeed-systemd-check "$context" >/dev/null
docker run -d --name "$name" --network host --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /tmp wirespeed-systemd-check >/dev/null
inside() { docker exec "$name" "$@"; }
for _ in $(seq 50); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.2
done
echo "systemd: $state"
inside systemd-analyze verify /etc/systemd/system/wirespeed.socket /etc/systemd/system/wirespeed.service
inside systemctl enable --now wirespeed.socket
echo "before the first request: wirespeed.service is $(inside systemctl is-active wirespeed.service || true)"
echo "GET / -> $(inside curl -fsS http://127.0.0.1:8000/)"
echo "after it: wirespeed.service is $(inside systemctl is-active wirespeed.service)"
inside ps -o user=,pid=,ppid=,args= -C wirespeed
inside systemctl stop wirespeed.service
inside systemctl show wirespeed.service -p Result -p ExecMainStatus -p ActiveState
inside journalctl -u wirespeed.service --no-pager -o cat | tail -n 12
test "$(inside systemctl show wirespeed.service -p Result --value)" = success
