#!/usr/bin/env bash
# Make the image debian:bookworm-slim locally, from Debian's own packages (debootstrap), for a
# Docker engine that cannot pull from a registry. Where the network's TLS is intercepted, give
# the CA bundle to trust as PIP_CA_BUNDLE: it is stored as /etc/pip-ca.pem with an /etc/pip.conf
# naming it, so `pip install` inside builds from this image can reach PyPI.
set -euo pipefail
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
if [ -n "${PIP_CA_BUNDLE:-}" ]; then
    cp "$PIP_CA_BUNDLE" "$rootfs/etc/pip-ca.pem"
    printf '[global]\ncert = /etc/pip-ca.pem\n' >"$rootfs/etc/pip.conf"
fi
tar -C "$rootfs" -c . | docker import - debian:bookworm-slim
