"""The ASGI mode's Rust helpers against their Python twins: same scope, same head, same refusal.

Strategy: `wirespeed._parser.asgi_scope` and `read_start` do, in one call each, what
`Exchange.scope_py` and `head.read_start_py` do in Python (the server uses the Python ones
when the extension is not built). Both are fed the same requests (from both parser backends)
and the same start messages, from tables and from generated inputs, and must agree exactly:
every key of the scope, every byte of the head, and the message of every refusal.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import HAVE_RUST
from hypothesis import given, settings
from hypothesis import strategies as st
from mock_transport import connect
from wirespeed import Config
from wirespeed.asgi import serving_app
from wirespeed.asgi.exchange import EXTENSIONS, Exchange
from wirespeed.asgi.head import InvalidHead, read_start, read_start_py

pytestmark = pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built (run make test)")

TARGETS = [
    "/",
    "/a/b?x=1&y",
    "/a?",
    "/a#frag",
    "/a?q=1#frag?x",
    "/caf%C3%A9/a%2Fb",
    "/%zz/%4/%",
    "/%C3%28/%FF%FE",  # invalid UTF-8 after decoding: replaced
    "/%E2%82",  # a cut-off sequence
    "/%F0%9F%98%80?q=%20",
    "http://h.example/p/q?z=1",
    "http://h.example",
    "http://h.example?x",
    "https://h.example:8443/p%41",
]


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    return None


def scopes(target: str, backend: str, version: str = "1.1", root_path: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The scope the Rust helper and the Python twin make for one request."""

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        config = Config(parser=backend, lifespan="off", root_path=root_path)  # type: ignore[arg-type]
        adapter = serving_app(_noop, config)
        protocol, _ = connect(adapter, config)  # type: ignore[arg-type]
        head = f"GET {target} HTTP/{version}\r\nHost: h.example\r\nX-A: 1\r\nx-a: 2\r\n\r\n".encode()
        (request,) = protocol.parser.feed(head)
        exchange = Exchange(adapter, request)  # type: ignore[arg-type]
        adapter.state["k"] = "v"  # type: ignore[union-attr]
        native = exchange.scope()
        base = protocol.scope_base
        assert base is not None
        return native, exchange.scope_py(base)

    return asyncio.run(main())


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("root_path", ["", "/mount"])
def test_the_scope_is_the_same(backend: str, target: str, root_path: str) -> None:
    native, python = scopes(target, backend, root_path=root_path)
    assert native == python
    assert list(native) == list(python)  # the same keys in the same order
    assert native["state"] is not python["state"] and native["extensions"] == EXTENSIONS


def test_http10(backend: str) -> None:
    native, python = scopes("/old", backend, version="1.0")
    assert native == python and native["http_version"] == "1.0"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="/?#%&=+abcAZ09-._~!$'()*,;:@2F8", min_size=0, max_size=30))
def test_generated_targets_give_the_same_scope(tail: str) -> None:
    native, python = scopes("/" + tail, "rust")
    assert native == python


START_MESSAGES: list[dict[str, Any]] = [
    {"type": "http.response.start", "status": 200},
    {"type": "http.response.start", "status": 200, "headers": []},
    {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]},
    {"type": "http.response.start", "status": 200, "headers": [[b"x-list", b"pair"]]},
    {"type": "http.response.start", "status": 200, "headers": ((b"x-tuple", b"of tuples"),)},
    {"type": "http.response.start", "status": 201, "headers": [(b"Content-Length", b"5"), (b"content-length", b"5")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"connection", b"keep-alive, close")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"Connection", b"closed")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"chunked")]},
    {"type": "http.response.start", "status": 200, "trailers": True},
    {"type": "http.response.start", "status": 200, "trailers": 1},
    {"type": "http.response.start", "status": 599, "headers": [(b"x", b"obs-text \xff\x80 and tab\t")]},
    # refused: each message must be the same
    {"type": "http.response.start", "status": 199},
    {"type": "http.response.start", "status": 600},
    {"type": "http.response.start", "status": True},
    {"type": "http.response.start", "status": "200"},
    {"type": "http.response.start", "status": 200, "headers": [(b"x a", b"1")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"", b"1")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"x'y\r", b"1")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\r\nb")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\0b")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"-1")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1"), (b"content-length", b"2")]},
    {"type": "http.response.start", "status": 200, "headers": [("x", b"str name")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"x", "str value")]},
    {"type": "http.response.start", "status": 200, "headers": [(b"x", bytearray(b"bytearray"))]},
]


def outcome(read: Any, message: dict[str, Any]) -> Any:
    try:
        return read(message)
    except (InvalidHead, TypeError) as error:
        return type(error).__name__, str(error)


@pytest.mark.parametrize("message", START_MESSAGES, ids=range(len(START_MESSAGES)))
def test_the_head_is_the_same(message: dict[str, Any]) -> None:
    assert outcome(read_start, message) == outcome(read_start_py, message)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=12) | st.sampled_from([b"content-length", b"Connection", b"transfer-encoding", b"x-a"]),
            st.binary(max_size=12) | st.sampled_from([b"12", b"close", b"a\r\nb"]),
        ),
        max_size=5,
    ),
    st.integers(min_value=150, max_value=650),
)
def test_generated_heads_are_the_same(headers: list[tuple[bytes, bytes]], status: int) -> None:
    message = {"type": "http.response.start", "status": status, "headers": headers}
    assert outcome(read_start, message) == outcome(read_start_py, message)
