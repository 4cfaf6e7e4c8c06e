"""A hypothesis fuzz of the protocol layer: generated and mutated byte streams, in random
pieces, through `HttpProtocol` and a recording transport, on both parser backends.

Strategy: this module owns the property that, whatever bytes arrive and however they are cut,
the connection answers exactly what the parser saw: one well-formed response per complete
request, in order and carrying that request's method, target and body length; after an error,
one answer with its status and `Connection: close`, then nothing; after a request that does
not keep the connection alive, nothing; and never an exception or an internal error. The
parser's own events for the same bytes are the oracle. The number of examples is
WIRESPEED_FUZZ_EXAMPLES (`make fuzz` raises it; `make test` runs a short smoke of it).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attack_cases import ATTACKS
from mock_transport import connect
from parser_cases import CASES, Err, answers_for
from wirespeed import App, Config, Request
from wirespeed.parser import parser_factory

EXAMPLES = int(os.environ.get("WIRESPEED_FUZZ_EXAMPLES", "120"))
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO"]
SMALL = {"max_head_size": 200, "max_headers": 6, "max_target_length": 40, "max_body_size": 64, "inline_body_size": 8}


def fuzz_app() -> App:
    app = App()

    async def answer(request: Request, rest: str) -> str:
        body = await request.body()
        if rest.startswith("yield"):
            await asyncio.sleep(0)  # suspends: the requests behind it queue up
        return f"{request.method} {request.target} {len(body)}"

    app.add_route("/{rest:path}", answer, METHODS)
    return app


# -- inputs -------------------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request: valid most of the time, with the shapes that matter for framing."""
    method = draw(st.sampled_from(METHODS))
    target = "/" + draw(st.sampled_from(["", "a", "yield", "a/b?c=d", "yield/x", "%41"]))
    version = draw(st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0"]))
    fields = [b"Host: h"] if version == b"HTTP/1.1" or draw(st.booleans()) else []
    if draw(st.integers(0, 5)) == 0:
        fields.append(draw(st.sampled_from([b"Connection: close", b"Connection: keep-alive"])))
    if draw(st.integers(0, 7)) == 0:
        fields.append(b"Expect: 100-continue")
    fields += draw(st.lists(st.sampled_from([b"X-A: 1", b"accept: */*", b"X-Long: " + b"v" * 50]), max_size=3))
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    body = b""
    if framing == "length":
        data = draw(st.binary(max_size=40))
        fields.append(b"Content-Length: %d" % len(data))
        body = data
    elif framing == "chunked" and version == b"HTTP/1.1":
        fields.append(b"Transfer-Encoding: chunked")
        for size in draw(st.lists(st.integers(1, 20), max_size=3)):
            body += b"%x\r\n" % size + b"c" * size + b"\r\n"
        body += b"0\r\n" + draw(st.sampled_from([b"", b"T: 1\r\n"])) + b"\r\n"
    fields = draw(st.permutations(fields))
    head = method.encode() + b" " + target.encode() + b" " + version + b"\r\n"
    return head + b"".join(field + b"\r\n" for field in fields) + b"\r\n" + body


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(0, 2))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = bytes([draw(st.sampled_from([0, 9, 10, 13, 32, 44, 58, 59, 127, 200, 48, 97]))])
        if kind == "insert":
            data = data[:at] + byte + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1 :]
        else:
            data = data[:at] + byte + data[at + 1 :]
    return data


TABLE_INPUTS = [param.values[0].raw for param in CASES + ATTACKS if not param.values[0].config]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], dict[str, int]]:
    """A connection's bytes, cut into the pieces they arrive in, and the limits."""
    if draw(st.integers(0, 4)) == 0:
        data = draw(st.sampled_from(TABLE_INPUTS))
    else:
        data = b"".join(draw(st.lists(requests(), min_size=1, max_size=4)))
    if draw(st.booleans()):
        data = draw(mutated(data))
    cuts = sorted(set(draw(st.lists(st.integers(0, max(len(data), 1)), max_size=6))))
    bounds = [0, *cuts, len(data)]
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    limits = SMALL if draw(st.integers(0, 3)) == 0 else {}
    return pieces, limits


# -- the property ---------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def read_responses(data: bytes, methods: list[str]) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """Split `data` into (status, fields, body) responses; any malformed byte fails the test.
    `methods` are the methods of the requests answered, in order (HEAD has no body)."""
    responses = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        assert sep, f"unfinished response head {head[:80]!r}"
        status_line, *lines = head.split(b"\r\n")
        version, status, _reason = status_line.split(b" ", 2)
        assert version == b"HTTP/1.1"
        fields = {}
        for line in lines:
            name, colon, value = line.partition(b": ")
            assert colon and name and b"\r" not in value and b"\n" not in value, line
            fields[name.lower()] = value
        code = int(status)
        if code == 100:
            continue
        method = methods[len(responses)] if len(responses) < len(methods) else "GET"
        if b"content-length" in fields:
            size = int(fields[b"content-length"])
            body = b"" if method == "HEAD" else data[:size]
            data = data[len(body) :]
        else:
            assert code in (204, 304) or method == "HEAD", f"no Content-Length on {status_line!r}"
            body = b""
        responses.append((code, fields, body))
    return responses


def run_connection(backend: str, pieces: list[bytes], limits: dict[str, int]) -> None:
    config = Config(parser=backend, lingering_timeout=1.0, **limits)  # type: ignore[arg-type]
    oracle = parser_factory(config)(config)
    events: list[Any] = []
    for piece in pieces:
        events += [Err(e.status, e.detail) if isinstance(e, BaseException) else e for e in oracle.feed(piece)]
    answers, body_unfinished = answers_for(events)
    waiting = None
    if body_unfinished:
        # A routed request's handler is still waiting for its body; one that is not routed
        # has its answer (404, 405) already, and the rest of its body is being dropped.
        waiting = answers.pop()[0]

    loop = asyncio.new_event_loop()
    errors = ErrorRecords()
    logging.getLogger("wirespeed").addHandler(errors)
    try:
        protocol, transport = connect(fuzz_app(), config, loop)

        async def feed() -> None:
            for piece in pieces:
                protocol.data_received(piece)
                for _ in range(3):
                    await asyncio.sleep(0)
            for _ in range(5):
                await asyncio.sleep(0)

        loop.run_until_complete(feed())
        # The client goes away; handlers still waiting for a body are cancelled cleanly.
        protocol.connection_lost(None)
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        logging.getLogger("wirespeed").removeHandler(errors)
        loop.close()

    assert not errors.records, [r.getMessage() for r in errors.records]
    methods = [a[0] if isinstance(a, tuple) else "GET" for a, _ in answers]
    responses = read_responses(b"".join(transport.writes), methods)
    if waiting is not None and len(responses) == len(answers) + 1:
        assert responses[-1][0] in (404, 405), responses[-1]
        answers.append((waiting, b""))
    for index, (status, fields, _text) in enumerate(responses[: len(answers)]):
        request = answers[index][0]
        if fields.get(b"connection") == b"close" and isinstance(request, tuple) and request[4]:
            # The one early close of a keep-alive request: answered (not routed) without
            # reading a body the client holds back for 100 Continue (RFC 9110 §10.1.1).
            assert status != 200 and request[5] is None
            assert any(
                name == b"expect" and b"100-continue" in [m.strip(b" \t") for m in value.lower().split(b",")]
                for name, value in request[3]
            ), request[3]
            answers = answers[: index + 1]
            answers[-1] = ((*request[:4], False, *request[5:]), answers[-1][1])
            break
    assert len(responses) == len(answers), (responses, answers)
    for (expected, body), (status, fields, text) in zip(answers, responses, strict=True):
        if isinstance(expected, Err):
            if status in (204, 404, 405):
                # The error cut off the body of a request that was answered without reading
                # it (not routed): that answer stands, and the connection just ends.
                assert (status, fields, text) == responses[-1]
                assert transport.eof_written or transport.closed
                continue
            assert status == expected.status
            assert text.startswith(b"%d " % status) and text.endswith(expected.detail.encode())
            assert fields[b"connection"] == b"close"
            continue
        method, target = expected[0], expected[1]
        if status == 200:
            assert text == f"{method} {target} {len(body)}".encode()
        elif method == "CONNECT":  # the server is not a proxy (RFC 9110 §9.3.6)
            assert status == 501, (status, text)
        else:  # not routed: the server answers it itself, never with a 5xx
            assert status in (204, 404, 405), (status, text)
    last = answers[-1][0] if answers else None
    ends = isinstance(last, Err) or (isinstance(last, tuple) and not last[4])
    if ends:
        if isinstance(last, tuple) or responses[-1][0] == last.status:  # see above for the other
            assert responses[-1][1].get(b"connection") == b"close"
        assert transport.eof_written or transport.closed
    else:
        assert not transport.eof_written and not transport.closed


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(stream=streams())
def test_protocol_answers_what_the_parser_saw(backend: str, stream: tuple[list[bytes], dict[str, int]]) -> None:
    pieces, limits = stream
    run_connection(backend, pieces, limits)
