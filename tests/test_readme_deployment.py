"""The README's deployment recipes are the files that were tried for real.

The Dockerfile and the systemd units the README shows are kept in tests/deploy/, where
`make deploy-check` builds and runs them (the image under a Docker engine; the units under a
real systemd booted in a container, with socket activation); the nginx server block is the one
tests/test_behind_nginx.py runs in front of wirespeed (tests/nginx_proxy.conf). These tests
fail when the README and those files drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DEPLOY = ROOT / "tests" / "deploy"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_dockerfile_is_the_one_tried() -> None:
    (dockerfile,) = blocks("dockerfile")
    assert dockerfile == (DEPLOY / "Dockerfile").read_text()


@pytest.mark.parametrize("unit", ["myapp.socket", "myapp.service"])
def test_the_systemd_units_are_the_ones_tried(unit: str) -> None:
    shown = [block for block in blocks("ini") if block.startswith(f"# /etc/systemd/system/{unit}\n")]
    assert shown == [(DEPLOY / unit).read_text()]


def directives(text: str) -> list[str]:
    """The nginx directives of `text`, one per line, without comments and indentation."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_the_nginx_snippet_is_what_the_proxy_tests_run() -> None:
    (snippet,) = blocks("nginx")
    tested = set(directives((ROOT / "tests" / "nginx_proxy.conf").read_text()))
    shown = directives(snippet)
    # The addresses, the listen line and the certificate differ by nature; everything else of the
    # snippet (the maps, the upstream's keepalive, the whole location block) is in the test's.
    local = ("server 127.0.0.1:8080;", "listen 443 ssl;", "server {", "upstream wirespeed {")
    missing = [line for line in shown if line not in tested and line not in local]
    assert not missing
    assert "proxy_set_header Connection $connection_upgrade;" in shown
