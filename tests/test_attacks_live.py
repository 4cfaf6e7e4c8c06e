"""Every row of the attack table and of the parser table, end to end against a live server.

Strategy: this module owns the proof that what the parser decides is what a client gets. Each
row's raw bytes go to a real wirespeed server (both backends, the row's limits) over a raw
socket. The row's expected events say what must come back:
- each accepted request is answered by an echo handler with exactly the method, target,
  version, fields, host and body the row expects (the host of an absolute-form target is its
  authority, RFC 9112 §3.2.2), after a `100 Continue` when it expects one; the targets without
  a path are answered by the server: `OPTIONS *` with 204 and the methods it serves, CONNECT
  with 501 (it is not a proxy);
- a rejection is answered once, with the row's status, `Connection: close` and the plain-text
  body `<status> <reason>: <detail>`, and then the connection ends: nothing sent after the bad
  bytes (every error row ends with, or is followed by, a good request) is ever answered;
- a request that does not keep the connection alive is the last one answered;
- a connection still open after the row answers one more request, so no stray byte of the row
  was taken for the start of a request;
- input that stops inside a request gets no answer for it.
After each row a fresh connection is served, so a hostile client never disturbs anyone else.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from attack_cases import ATTACKS
from conftest import BACKENDS, LiveServers
from http_wire import Connection, WireResponse, exchange
from parser_cases import CASES, Case, Err, answers_for
from wirespeed import App, Request
from wirespeed.parser import parser_factory
from wirespeed.status import reason_phrase

TABLE = ATTACKS + CASES
PROBE = b"GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n"
GOOD_AFTER = b"GET /after-the-error HTTP/1.1\r\nHost: a\r\n\r\n"


def _methods() -> set[str]:
    """Every method of the table's requests, but CONNECT: it has no path to route."""
    methods = {"GET", "POST"}
    for param in TABLE:
        methods.update(event[0] for event in param.values[0].expected if isinstance(event, tuple))
    return methods - {"CONNECT"}


def echo_app() -> App:
    """Answers every method on every origin path with what it was sent, as JSON."""
    app = App()

    async def echo(request: Request, rest: str) -> dict[str, Any]:
        body = await request.body()
        return {
            "method": request.method,
            "target": request.target,
            "version": request.version,
            "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in request.raw_headers],
            "host": request.host,
            "body": body.decode("latin-1"),
        }

    app.add_route("/{rest:path}", echo, _methods())
    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[LiveServers]:
    running = LiveServers(lambda kind: echo_app())
    yield running
    running.stop()


def _parser_detail(backend: str, case: Case) -> str:
    """The detail the backend's own parser gives for the row's error."""
    config = case.make_config().replace(parser=backend)
    parser = parser_factory(config)(config)
    events = parser.feed(case.raw)
    errors = [event for event in events if isinstance(event, BaseException)]
    assert errors, "the row expects an error the parser does not give"
    return str(errors[-1].detail)


def _probe_status(case: Case) -> int:
    """200, or the status the row's limits give PROBE."""
    config = case.make_config()
    events = parser_factory(config)(config).feed(PROBE)
    return int(events[0].status) if isinstance(events[0], BaseException) else 200


def _expects_continue(request: tuple[Any, ...]) -> bool:
    """An HTTP/1.1 request whose body it holds back for 100 Continue (RFC 9110 §10.1.1)."""
    fields = [value.lower() for name, value in request[3] if name == b"expect"]
    return request[2] == 1 and request[5] is None and any(b"100-continue" in value for value in fields)


def _expected_host(target: str, headers: list[tuple[bytes, bytes]]) -> str:
    """RFC 9112 §3.2.2: the authority of an absolute-form target, else the Host field."""
    if "://" in target:
        return re.split(r"[/?#]", target.split("://", 1)[1])[0]
    return next((value.decode() for name, value in headers if name == b"host"), "")


def _check_echo(response: WireResponse, request: tuple[Any, ...], body: bytes) -> None:
    method, target, version, headers, _keep_alive, _inline = request[:6]
    if method == "CONNECT":  # RFC 9110 §9.3.6: no tunnels here, for any target
        assert response.status == 501, response
        assert response.body == b"501 Not Implemented: CONNECT is not supported: this server is not a proxy"
        return
    if target == "*":  # RFC 9112 §3.2.4: the server answers for itself, with what it serves
        assert response.status == 204, response
        assert response.header("allow") == ", ".join(sorted(_methods() | {"HEAD", "OPTIONS"}))
        return
    assert response.status == 200, (response.status, response.body[:200])
    echoed = json.loads(response.body)
    assert echoed == {
        "method": method,
        "target": target,
        "version": version,
        "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers],
        "host": _expected_host(target, headers),
        "body": body.decode("latin-1"),
    }


def _check_error(response: WireResponse, error: Err, detail: str) -> None:
    reason = reason_phrase(error.status)
    assert (response.status, response.reason) == (error.status, reason)
    assert response.header("connection") == "close"
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert response.body == f"{error.status} {reason}: {detail}".encode()


def _ends_with_error(case: Case) -> bool:
    return bool(case.expected) and isinstance(case.expected[-1], Err)


def _last_keeps_alive(case: Case) -> bool:
    requests = [event for event in case.expected if isinstance(event, tuple)]
    return not requests or bool(requests[-1][4])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", TABLE)
def test_row_end_to_end(servers: LiveServers, backend: str, case: Case) -> None:
    server = servers.get(backend, case.config)
    exchanges, body_unfinished = answers_for(case.expected)
    open_at_end = not _ends_with_error(case) and _last_keeps_alive(case)
    # After an error, a good request must go unanswered; it is sent in the same write.
    data = case.raw + (GOOD_AFTER if _ends_with_error(case) else b"")
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(data)
        for index, (expected, body) in enumerate(exchanges):
            method = expected[0] if isinstance(expected, tuple) else "GET"
            if isinstance(expected, tuple) and _expects_continue(expected):
                # The echo handler reads the body, and so asks for it first.
                interim = connection.read_response()
                assert (interim.status, interim.reason) == (100, "Continue")
            if body_unfinished and index == len(exchanges) - 1:
                break  # its body is still arriving: no answer yet
            response = connection.read_response(method)
            if isinstance(expected, Err):
                _check_error(response, expected, expected.detail or _parser_detail(backend, case))
            else:
                _check_echo(response, expected, body)
                if not expected[4]:
                    assert response.header("connection") == "close"
        if not open_at_end:
            assert connection.read_until_close() == b"", "bytes after the last answer"
        elif case.open_end:
            # An unfinished request: the server waits for the rest and says nothing.
            assert not connection.is_closed(timeout=0.05)
            assert connection.buffer == b""
        elif _probe_status(case) == 200:
            connection.send(PROBE)
            probe = connection.read_response()
            assert probe.status == 200 and json.loads(probe.body)["target"] == "/probe"
    # Everyone else is still served (as the row's limits allow).
    (after,) = exchange(server.port, PROBE)
    assert after.status == _probe_status(case)


@pytest.mark.parametrize("backend", BACKENDS)
def test_error_after_half_close_is_still_answered(servers: LiveServers, backend: str) -> None:
    """A client that sends a bad request and shuts its side gets the answer before the close."""
    server = servers.get(backend, {})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert received.endswith(b"\r\n\r\n400 Bad Request: conflicting Content-Length")
