"""Unit tests of how the protocol sends file bodies when there is no socket to sendfile(2) to
(a transport that is not a socket: the bytes are copied through it in pieces), and of what
happens when a file cannot keep the promise of its head; bodies of pieces (bytes of their own
between parts of the file) included. Driven through a recording transport on both parser
backends; the sendfile path itself is tested end to end in test_static.py."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from mock_transport import RecordingTransport
from mock_transport import connect as connect_app
from wirespeed import App, Config, FileResponse, Request
from wirespeed.protocol import HttpProtocol
from wirespeed.sendfile import COPY_PIECE


def connect(backend: str, app: App) -> tuple[HttpProtocol, RecordingTransport]:
    return connect_app(app, Config(parser=backend))  # type: ignore[arg-type]


def file_app(path: Path, **response: Any) -> App:
    app = App()

    @app.get("/file")
    def send(request: Request) -> FileResponse:
        return FileResponse(path, **response)

    @app.get("/after")
    def after(request: Request) -> str:
        return "after"

    return app


async def settle(protocol: HttpProtocol) -> None:
    for _ in range(200):
        if protocol._active is None:  # noqa: SLF001 - the Task that sends the rest
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the file body was never finished")


GET_FILE = b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n"
GET_AFTER = b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_file_is_copied_in_pieces_without_a_socket(backend: str, tmp_path: Path) -> None:
    data = os.urandom(COPY_PIECE * 2 + 123)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    protocol, transport = connect(backend, file_app(path))
    protocol.data_received(GET_FILE + GET_AFTER)
    await settle(protocol)
    sent = b"".join(transport.writes)
    head, _, rest = sent.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and f"Content-Length: {len(data)}".encode() in head
    assert rest[: len(data)] == data
    assert rest[len(data) :].startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"after"), "order kept"
    assert len(transport.writes) >= 3, "in pieces, not whole"
    assert not transport.closed


async def test_an_offset_and_size_send_that_slice(backend: str, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    protocol, transport = connect(backend, file_app(path, offset=100, size=50))
    protocol.data_received(GET_FILE)
    await settle(protocol)
    assert b"".join(transport.writes).partition(b"\r\n\r\n")[2] == data[100:150]


async def test_pieces_send_their_bytes_and_the_file_parts_in_order(backend: str, tmp_path: Path) -> None:
    """A multipart/byteranges-like body: each piece's own bytes, then its part of the file."""
    data = os.urandom(COPY_PIECE + 5000)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    pieces = [(b"--a\r\n", COPY_PIECE, 5000), (b"\r\n--b\r\n", 10, COPY_PIECE - 10), (b"", 0, 0), (b"\r\n--end", 0, 0)]
    protocol, transport = connect(backend, file_app(path, pieces=pieces))
    protocol.data_received(GET_FILE + GET_AFTER)
    await settle(protocol)
    head, _, rest = b"".join(transport.writes).partition(b"\r\n\r\n")
    expected = b"--a\r\n" + data[COPY_PIECE:] + b"\r\n--b\r\n" + data[10:COPY_PIECE] + b"\r\n--end"
    assert f"Content-Length: {len(expected)}".encode() in head
    assert rest[: len(expected)] == expected
    assert rest[len(expected) :].startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"after"), "order kept"


def test_pieces_exclude_an_offset_and_size(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="not both"):
        FileResponse(path, offset=1, pieces=[(b"", 0, 1)])
    with pytest.raises(ValueError, match="non-negative"):
        FileResponse(path, pieces=[(b"", 0, -1)])


async def test_a_file_shorter_than_announced_ends_the_connection(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "short.bin"
    path.write_bytes(b"x" * 1000)
    protocol, transport = connect(backend, file_app(path, size=5000))  # promises more than there is
    protocol.data_received(GET_FILE + GET_AFTER)
    await settle(protocol)
    sent = b"".join(transport.writes)
    assert b"Content-Length: 5000" in sent
    assert sent.partition(b"\r\n\r\n")[2] == b"x" * 1000
    assert transport.closed, "the promised length cannot be met: only closing is left"
    assert b"after" not in sent


async def test_head_sends_the_length_and_no_body(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"y" * 777)
    protocol, transport = connect(backend, file_app(path))
    protocol.data_received(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n" + GET_AFTER)
    await settle(protocol)
    sent = b"".join(transport.writes)
    head, _, rest = sent.partition(b"\r\n\r\n")
    assert b"Content-Length: 777" in head
    assert rest.startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"\r\n\r\nafter"), "no body after the head"


async def test_a_file_that_cannot_be_opened_is_a_500(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gone.bin"
    path.write_bytes(b"z")
    app = App()

    @app.get("/file")
    def send(request: Request) -> FileResponse:
        response = FileResponse(path)
        path.unlink()  # gone between the handler's answer and the sending
        return response

    protocol, transport = connect(backend, app)
    protocol.data_received(GET_FILE)
    await settle(protocol)
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 500 Internal Server Error")
    assert not transport.closed, "nothing was promised yet: the connection goes on"
    assert "cannot be opened" in caplog.text
