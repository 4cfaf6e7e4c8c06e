#!/usr/bin/env bash
# Try the README's systemd units (tests/deploy/myapp.socket and myapp.service) under a real
# systemd, booted in a container: enable the socket, let the first request start the service
# through socket activation, serve on every socket the unit lists (IPv4 and IPv6 on port 8080,
# and the Unix socket), check the supervisor and its workers run as the unprivileged user,
# then stop the service and check it stopped cleanly (result success, no SIGKILL).
#
# Needs a running Docker engine and debian:bookworm-slim (see debian_base.sh). The container
# shares the host's network, so port 8080 must be free. Usage: tests/deploy/systemd_check.sh WHEEL
set -euo pipefail
wheel=${1:?usage: systemd_check.sh path/to/wirespeed-*.whl}
here=$(cd "$(dirname "$0")" && pwd)
context=$(mktemp -d)
name=wirespeed-systemd-check-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$context"' EXIT
cp "$here/Dockerfile.systemd" "$here/myapp.py" "$here/myapp.socket" "$here/myapp.service" "$wheel" "$context/"
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
inside systemd-analyze verify /etc/systemd/system/myapp.socket /etc/systemd/system/myapp.service
inside systemctl enable --now myapp.socket
echo "before the first request: myapp.service is $(inside systemctl is-active myapp.service || true)"
echo "GET http://127.0.0.1:8080/ -> $(inside curl -fsS http://127.0.0.1:8080/)"
echo "after it: myapp.service is $(inside systemctl is-active myapp.service)"
echo "GET http://[::1]:8080/ -> $(inside curl -fsS 'http://[::1]:8080/')"
echo "GET unix:/run/myapp/http.sock -> $(inside curl -fsS --unix-socket /run/myapp/http.sock http://localhost/)"
inside ls -l /run/myapp/http.sock
inside ps -o user=,pid=,ppid=,args= -C wirespeed
inside systemctl stop myapp.service
inside systemctl show myapp.service -p Result -p ExecMainStatus -p ActiveState
inside journalctl -u myapp.service --no-pager -o cat | tail -n 14
test "$(inside systemctl show myapp.service -p Result --value)" = success
