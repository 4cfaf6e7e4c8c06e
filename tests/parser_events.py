"""Running a parser backend for the tests: load it, feed it, and compare its events.

Strategy: this module owns how tests turn what `RequestParser.feed` returns into comparable
values: consecutive body pieces are merged into one `bytes` (never empty), and an error
becomes `Err(status, detail)` after checking that its class goes with its status and that
its detail names the problem. Two backends agree when their lists are equal: status, class
and detail phrase, which is all a client's answer is made of.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import pytest

from parser_cases import Err
from wirespeed.config import Config
from wirespeed.errors import ParseError, parse_error

RUST_REASON = "the Rust extension wirespeed._parser is not built (maturin develop)"


def load_backend(name: str) -> type:
    """The RequestParser class of "rust" (skips the test when it is not built) or "httptools"."""
    if name == "rust":
        module = pytest.importorskip("wirespeed._parser", reason=RUST_REASON)
    else:
        module = importlib.import_module("wirespeed.parser_httptools")
    return module.RequestParser  # type: ignore[no-any-return]


def normalize(event: Any) -> Any:
    if isinstance(event, BaseException):
        assert isinstance(event, ParseError), f"error event of the wrong class: {event!r}"
        status = event.status
        expected_class = type(parse_error(status, ""))
        assert type(event) is expected_class, f"{type(event).__name__} for status {status}"
        assert event.detail, "an error must name the problem"
        return Err(status, event.detail)
    return event


def collect(parser: Any, chunks: Iterable[bytes]) -> list[Any]:
    """All events over `chunks`, with consecutive body pieces merged into one bytes."""
    events: list[Any] = []
    for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, bytes):
                assert event, "a body piece must never be empty"
                if events and isinstance(events[-1], bytes):
                    events[-1] += event
                    continue
            events.append(normalize(event))
    return events


def run(parser_class: type, config: Config, chunks: Iterable[bytes]) -> list[Any]:
    return collect(parser_class(config), chunks)
