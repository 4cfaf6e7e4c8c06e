"""Parser microbenchmark: nanoseconds per request for each parser, Python objects included.

Feeds a realistic 438-byte browser request with 8 header fields, once per call and as a batch
of 16 pipelined copies, and a third time as 64 variants of it in turn whose header values all
differ (so no parser can reuse what it built for the previous request), to:
  * the Rust parser (`wirespeed._parser`),
  * the httptools twin (`wirespeed.parser_httptools`),
  * raw `httptools.HttpRequestParser` with the callbacks a server typically sets (URL, each
    header into a list, headers-complete, message-complete), which is the reference.
Each figure is the median of several rounds; a round times many feeds of one parser kept
alive across requests, as on a real keep-alive connection. A round that does not end with every
request it fed parsed (a parser that stopped, for example at a request cap) ends the run with
an error instead of a figure.

    python benches/bench_parser.py [--rounds 7] [--seconds 0.4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Protocol

import httptools

from wirespeed.config import Config

REQUEST = (
    b"GET /wp-content/uploads/2010/03/hello-kitty-red.jpg HTTP/1.1\r\n"
    b"Host: www.kittyhell.com\r\n"
    b"User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) "
    b"Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    b"Accept-Encoding: gzip, zstd\r\n"
    b"Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    b"DNT: 1\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)
PIPELINED = 16


class RawHttptools:
    """httptools with the usual server callbacks; the reference the targets are set against."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done = 0
        self.parser = httptools.HttpRequestParser(self)

    def on_message_begin(self) -> None:
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.method = self.parser.get_method()
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.done += 1

    def feed(self, data: bytes) -> int:
        self.parser.feed_data(data)
        return self.done

    @property
    def requests(self) -> int:
        return self.done


def variants(count: int) -> list[bytes]:
    """`count` copies of REQUEST, same length, with every header value and the target changed."""
    result = []
    for i in range(count):
        lines = REQUEST.split(b"\r\n")
        tag = b"%02d" % i
        lines[0] = lines[0].replace(b"red.jpg", b"r" + tag[:1] + b".jpg").replace(b"10/03", b"10/" + tag)
        for n in range(1, 9):
            name, _, value = lines[n].partition(b": ")
            lines[n] = name + b": " + tag + value[2:]
        variant = b"\r\n".join(lines)
        assert len(variant) == len(REQUEST), (len(variant), len(REQUEST))
        result.append(variant)
    return result


class Parser(Protocol):
    def feed(self, data: bytes) -> object: ...

    @property
    def requests(self) -> int: ...


def time_per_request(name: str, parser: Parser, inputs: list[bytes], requests_per_feed: int, seconds: float) -> float:
    """Nanoseconds per request, feeding `inputs` in turn for about `seconds`; exits when the
    parser did not report every request it was fed."""
    feed = parser.feed
    batch = inputs * max(1, 1000 // len(inputs))
    before = parser.requests
    start = time.perf_counter_ns()
    count = 0
    deadline = start + int(seconds * 1e9)
    now = start
    while now < deadline:
        for data in batch:
            feed(data)
        count += len(batch)
        now = time.perf_counter_ns()
    parsed = parser.requests - before
    if parsed != count * requests_per_feed:
        raise SystemExit(f"{name}: parsed {parsed} of the {count * requests_per_feed} requests of a round")
    return (now - start) / (count * requests_per_feed)


def check(name: str, parser: Parser, data: bytes, expected: int) -> None:
    result = parser.feed(data)
    if isinstance(result, list):
        requests = [event for event in result if type(event) is tuple]
        if len(requests) != expected:
            raise SystemExit(f"{name}: expected {expected} requests, got {result!r}")


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--rounds", type=int, default=7)
    options.add_argument("--seconds", type=float, default=0.4, help="time per round and parser")
    options.add_argument("--json", help="also write the figures to this file")
    args = options.parse_args()

    # No per-connection request cap: a round feeds one parser far more than the default
    # max_requests_per_connection, after which a parser (rightly) stops parsing.
    config = Config(max_requests_per_connection=0)
    parsers: dict[str, Callable[[], Parser]] = {
        "httptools (raw, callbacks)": RawHttptools,
        "wirespeed httptools twin": lambda: __import__(
            "wirespeed.parser_httptools", fromlist=["RequestParser"]
        ).RequestParser(config),
    }
    try:
        from wirespeed._parser import RequestParser as RustParser
    except ImportError:
        print("the Rust extension is not built: run `make build` first", file=sys.stderr)
        return 1
    parsers = {"wirespeed Rust parser": lambda: RustParser(config), **parsers}

    workloads = {
        "1 request per feed, same request repeated": ([REQUEST], 1),
        f"{PIPELINED} pipelined per feed": ([REQUEST * PIPELINED], PIPELINED),
        "1 request per feed, every header value new": (variants(64), 1),
    }
    results: dict[str, dict[str, float]] = {}
    print(f"request: {len(REQUEST)} bytes, 8 header fields; Python {platform.python_version()}")
    for workload, (inputs, per_feed) in workloads.items():
        rounds: dict[str, list[float]] = {name: [] for name in parsers}
        for name, make in parsers.items():
            for data in inputs:
                check(name, make(), data, per_feed)
        for _ in range(args.rounds):  # interleave parsers across rounds
            for name, make in parsers.items():
                rounds[name].append(time_per_request(name, make(), inputs, per_feed, args.seconds))
        results[workload] = {name: statistics.median(values) for name, values in rounds.items()}

    reference = "httptools (raw, callbacks)"
    for workload, figures in results.items():
        print(f"\n{workload}")
        print(f"  {'parser':<28} {'ns/request':>11} {'vs httptools':>13}")
        for name, ns in figures.items():
            print(f"  {name:<28} {ns:>11.0f} {ns / figures[reference]:>12.2f}x")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"request_bytes": len(REQUEST), "ns_per_request": results}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
