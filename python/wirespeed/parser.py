"""Parser backend selection, and the contract both backends honour.

Strategy: this module owns the choice between the Rust extension (`wirespeed._parser`) and the
httptools twin (`wirespeed.parser_httptools`), by name in one table. It does no parsing.

The contract. `RequestParser(config, request_type=None, owner=None)` takes a `Config` and reads
`max_head_size`, `max_headers`, `max_target_length`, `max_body_size` and `inline_body_size`
from it. With `request_type` (a subclass of tuple, in practice `wirespeed.request.Request`)
each request is made as an instance of it holding the six fields below and then `owner` (the
connection), so the server gets its request objects with no Python call per request.
`parser.feed(data: bytes) -> list` is called once per received buffer and returns, in order,
every event that buffer completes:

* `tuple` -- a request: `(method: str, target: str, version: int, headers:
  Sequence[tuple[bytes, bytes]], keep_alive: bool, body: bytes | None)`. `target` is the raw
  request-target (path and query, ASCII; or absolute-form `http://host/path`, asterisk-form `*`
  for OPTIONS, authority-form `host:port` for CONNECT, RFC 9112 §3.2). `version` is the minor
  version: 1 for HTTP/1.1, 0 for HTTP/1.0. `headers` holds one `(name, value)` tuple per field
  line, in the order received; names are lowercased, values have surrounding whitespace
  removed. The httptools twin gives a list; the Rust parser an immutable
  `wirespeed._parser.RawHeaders` (a registered `collections.abc.Sequence`, equal to the list of
  the same tuples) that keeps the field lines as one `bytes` and makes the tuples only when it
  is first iterated or indexed. Either way it stays valid after later `feed` calls, and nothing
  else may be assumed of it (no mutation). `body` is the whole body when it has a
  Content-Length no larger than `inline_body_size` (b"" when there is none); it is None when the
  body follows as events: a larger or chunked body, and any non-empty body of an HTTP/1.1
  request whose Expect field lists `100-continue` (RFC 9110 §10.1.1), whatever its size and
  however its bytes arrive, since such a client waits for `100 Continue` (sent when the handler
  first reads) before it sends the body. Any other expectation in HTTP/1.1 is an error (417);
  HTTP/1.0 expectations are ignored.
* `bytes` (never empty) -- the next piece of the body of the last request whose body was None.
* `None` -- that body is complete (for chunked bodies, after the trailers, which are dropped).
* a `wirespeed.errors.ParseError` -- the input is malformed, over a limit, or expects what
  the server cannot meet. It is always the last event; the parser then ignores all further
  input, and the connection must be closed after answering with `error.status`.

Partial input is never an error: it yields no event until more arrives. After a request that
is not keep-alive (and its body), the parser stops: later bytes are never requests.
The request that reaches `max_requests_per_connection` (when the config has it, and it is not
0) is reported with `keep_alive` False, so the connection ends after it. `parser.requests`
counts the requests reported. `parser.holding` is True while bytes of a request not yet reported are held (an unfinished
head, or a head waiting for its inline body); the server's header timeout applies to them.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

from .config import Config

EventList = list[Any]


class RequestParser(Protocol):
    def feed(self, data: bytes) -> EventList: ...

    @property
    def holding(self) -> bool: ...

    @property
    def requests(self) -> int: ...


# name -> (module, class). "auto" tries them in this order.
BACKENDS: dict[str, tuple[str, str]] = {
    "rust": ("wirespeed._parser", "RequestParser"),
    "httptools": ("wirespeed.parser_httptools", "RequestParser"),
}


def resolve_backend(name: str = "auto") -> str:
    """The backend that `name` selects: an explicit name, or the best importable one.

    `WIRESPEED_PARSER` in the environment decides when `name` is "auto".
    """
    if name == "auto":
        name = os.environ.get("WIRESPEED_PARSER", "auto") or "auto"
    if name != "auto":
        if name not in BACKENDS:
            raise ValueError(f"unknown parser {name!r}: use one of {', '.join(BACKENDS)}")
        _load(name)  # fail now, with the import error, rather than on the first connection
        return name
    for candidate in BACKENDS:
        try:
            _load(candidate)
        except ImportError:
            continue
        return candidate
    raise ImportError("no parser backend: build the Rust extension or install httptools")


def parser_factory(config: Config) -> type:
    """The parser class for `config.parser`; call it with the config for each connection."""
    return _load(resolve_backend(config.parser))


def _load(name: str) -> type:
    module_name, class_name = BACKENDS[name]
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]
