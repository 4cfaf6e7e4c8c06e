"""The trust list of `forwarded_allow_ips` (trust.py): which peers may say who the client is."""

from __future__ import annotations

import pytest

from wirespeed import Config
from wirespeed.trust import TrustedPeers

# (list, peer host or None for a Unix-socket peer, trusted?)
CASES = [
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "127.0.0.2", False),
    ("127.0.0.1", "::1", False),
    ("127.0.0.1", "::ffff:127.0.0.1", True),  # an IPv4 peer on a dual-stack socket
    ("127.0.0.1", None, False),
    ("127.0.0.1", "localhost", False),  # names are never looked up
    ("10.0.0.0/8, 192.168.1.0/24", "10.200.3.4", True),
    ("10.0.0.0/8, 192.168.1.0/24", "192.168.2.1", False),
    ("10.0.0.1/8", "10.9.9.9", True),  # host bits in a network are tolerated, as nginx's set_real_ip_from does
    ("::1, fd00::/8", "::1", True),
    ("::1, fd00::/8", "fd12::5", True),
    ("::1, fd00::/8", "fe80::1%eth0", False),
    ("fe80::/10", "fe80::1%eth0", True),  # a zone index is not part of the address
    ("*", "203.0.113.9", True),
    ("*", None, True),
    ("*", "not-an-address", True),
    ("unix", None, True),
    ("unix", "127.0.0.1", False),
    ("", "127.0.0.1", False),
    (" 127.0.0.1 ,, 10.0.0.0/8 ", "10.0.0.1", True),
]


@pytest.mark.parametrize(("spec", "host", "trusted"), CASES)
def test_trust_list(spec: str, host: str | None, trusted: bool) -> None:
    peers = TrustedPeers(spec)
    assert peers.trusts(host) is trusted
    assert peers.trusts(host) is trusted  # the remembered answer is the same


@pytest.mark.parametrize("spec", ["127.0.0.x", "10.0.0.0/33", "localhost", "127.0.0.1;10.0.0.1", "**"])
def test_a_bad_list_is_refused_by_the_config(spec: str) -> None:
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        Config(forwarded_allow_ips=spec)
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        TrustedPeers(spec)


def test_memory_is_bounded() -> None:
    peers = TrustedPeers("10.0.0.0/8")
    for index in range(10_000):
        peers.trusts(f"10.{index // 256 % 256}.{index % 256}.1")
    assert len(peers._memory) <= 4096
