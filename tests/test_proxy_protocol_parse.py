"""The two parsers of the PROXY header, the Rust one (`wirespeed._parser.parse_proxy_header`) and
its Python twin (`wirespeed.proxy_protocol`): the case table on both, every prefix of every row
on both, and a differential test under hypothesis (whole inputs and every split of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HAVE_RUST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_cases import ALL, INVALID, VALID, ProxyCase, inet, tlv, v2, with_crc32c
from wirespeed import proxy_protocol

Parse = Callable[[bytes], Any]

PARSERS: list[Any] = [
    pytest.param("rust", marks=pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built")),
    "python",
]


def load(name: str) -> Parse:
    if name == "rust":
        from wirespeed._parser import parse_proxy_header

        return parse_proxy_header  # type: ignore[no-any-return]
    return proxy_protocol.parse_proxy_header


@pytest.fixture(params=PARSERS)
def parse(request: pytest.FixtureRequest) -> Parse:
    return load(request.param)


@pytest.mark.parametrize("case", ALL, ids=lambda case: case.id)
def test_case_table(parse: Parse, case: ProxyCase) -> None:
    assert parse(case.data) == case.verdict


@pytest.mark.parametrize("case", VALID + INVALID, ids=lambda case: case.id)
def test_every_prefix_waits_or_is_refused_early(parse: Parse, case: ProxyCase) -> None:
    """A prefix of a valid header always asks for more, and never for more than the header;
    a prefix of an invalid one asks for more or is refused for the same reason."""
    valid = isinstance(case.verdict, tuple)
    end = case.verdict[0] if valid else len(case.data)
    for cut in range(end):
        verdict = parse(case.data[:cut])
        if isinstance(verdict, int):
            assert cut < verdict and (verdict <= end or not valid), (cut, verdict)
        else:
            assert isinstance(case.verdict, str) and verdict == case.verdict, (cut, verdict)


def test_bytes_after_the_header_are_not_read(parse: Parse) -> None:
    for case in VALID:
        assert parse(case.data + b"GET / HTTP/1.1\r\n\r\n") == case.verdict


def test_crc32c_check_value() -> None:
    assert proxy_protocol.crc32c(b"123456789") == 0xE3069283


def test_rust_refuses_what_is_not_bytes() -> None:
    if not HAVE_RUST:
        pytest.skip("the Rust extension is not built")
    with pytest.raises(TypeError):
        load("rust")(bytearray(b"PROXY "))  # type: ignore[arg-type]


# -- differential: the Rust parser and the twin agree on every input, whole and split


def _near_headers() -> st.SearchStrategy[bytes]:
    """Valid headers, headers mutated a little, and headers built from random parts."""
    octet = st.integers(0, 255).map(str)
    port = st.integers(0, 65535).map(str)
    ipv4 = st.tuples(octet, octet, octet, octet).map(".".join)
    group = st.integers(0, 0xFFFF).map(lambda value: f"{value:x}")
    ipv6 = st.one_of(
        st.lists(group, min_size=8, max_size=8).map(":".join),
        st.tuples(st.lists(group, max_size=3), st.lists(group, max_size=3)).map(
            lambda parts: ":".join(parts[0]) + "::" + ":".join(parts[1])
        ),
        st.tuples(st.lists(group, max_size=2), ipv4).map(lambda parts: "::" + ":".join([*parts[0], parts[1]])),
    )
    noise = st.text(alphabet="0123456789abcdefABCDEF.: %x-+\t", max_size=12)
    field = st.one_of(ipv4, ipv6, port, noise)
    v1 = st.tuples(
        st.sampled_from(["TCP4", "TCP6", "UNKNOWN", "TCP5", ""]),
        st.lists(field, min_size=0, max_size=6),
        st.sampled_from(["\r\n", "\n", "\r", "", "\r\nGET / HTTP/1.1\r\n\r\n"]),
    ).map(lambda parts: ("PROXY " + " ".join([parts[0], *parts[1]]) + parts[2]).encode())
    tlvs = st.lists(
        st.tuples(st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30, 0xE0]), st.binary(max_size=140)).map(
            lambda parts: tlv(*parts)
        ),
        max_size=3,
    ).map(b"".join)
    v2_built = st.tuples(
        st.sampled_from([0x20, 0x21, 0x22, 0x11, 0x2F]),
        st.sampled_from([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0x13, 0x41, 0x10, 0x01]),
        st.binary(max_size=240),
        tlvs,
    ).map(lambda parts: v2(parts[0], parts[1], parts[2] + parts[3]))
    v2_crc = tlvs.map(lambda extra: with_crc32c(inet(extra)))
    valid = st.sampled_from([case.data for case in VALID])
    mutated = st.tuples(valid, st.integers(0, 300), st.integers(0, 255)).map(
        lambda parts: parts[0][: parts[1]] + bytes([parts[2]]) + parts[0][parts[1] + 1 :]
    )
    cut = st.tuples(valid, st.integers(0, 300)).map(lambda parts: parts[0][: parts[1]])
    return st.one_of(v1, v2_built, v2_crc, valid, mutated, cut, st.binary(max_size=64))


@pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_near_headers())
def test_rust_and_twin_agree_whole_and_split(data: bytes) -> None:
    rust, twin = load("rust"), load("python")
    whole = rust(data)
    assert twin(data) == whole
    # Split at every point: the verdict on each prefix is the same from both, and once one
    # is final, every longer prefix gives the same final verdict.
    final = None
    for cut in range(len(data) + 1):
        verdict = rust(data[:cut])
        assert twin(data[:cut]) == verdict, cut
        if final is not None:
            assert verdict == final, cut
        elif not isinstance(verdict, int):
            final = verdict
        else:
            assert verdict > cut
