"""A small, strict HTTP/1.1 response reader for raw-socket tests.

Tests send exact bytes with a plain socket and read the answers with this reader, which
parses status line, fields and a Content-Length, chunked or close-delimited body, and the
parts of a multipart/byteranges body.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class WireResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw_head: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class Connection:
    """A raw client connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise EOFError(f"connection closed before {marker!r}; have {self.buffer[:200]!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise EOFError(f"connection closed with {len(self.buffer)} of {size} body bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_response(self, method: str = "GET") -> WireResponse:
        head = self._read_until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status, reason = lines[0].decode("latin-1").split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        response = WireResponse(int(status), reason, raw_head=head)
        for line in lines[1:]:
            name, sep, value = line.decode("latin-1").partition(":")
            assert sep and name == name.strip(), f"malformed field line {line!r}"
            response.headers.append((name, value.strip()))
        if method == "HEAD" or response.status in (204, 304) or response.status < 200:
            return response
        length = response.header("content-length")
        if response.header("transfer-encoding") == "chunked":
            assert length is None, "both Content-Length and chunked"
            response.body = self._read_chunked()
        elif length is not None:
            response.body = self._read_exact(int(length))
        else:
            response.body = self.read_until_close()
        return response

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size_line = self._read_until(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                assert self._read_until(b"\r\n") == b"", "trailers are not expected"
                return body
            body += self._read_exact(size)
            assert self._read_exact(2) == b"\r\n"

    def read_until_close(self) -> bytes:
        while self._fill():
            pass
        data, self.buffer = self.buffer, b""
        return data

    def is_closed(self, timeout: float = 2.0) -> bool:
        """True when the server closed the connection (EOF or reset) with nothing left to read."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        if data:
            self.buffer += data
            return False
        return True


def exchange(port: int, data: bytes, count: int = 1, methods: list[str] | None = None) -> list[WireResponse]:
    """Send `data` on a new connection and read `count` responses."""
    with Connection(port) as connection:
        connection.send(data)
        return [connection.read_response((methods or ["GET"] * count)[i]) for i in range(count)]


def multipart_parts(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1)."""
    kind, _, boundary = content_type.partition("; boundary=")
    assert kind == "multipart/byteranges" and boundary, content_type
    delimiter = b"--" + boundary.encode()
    assert body.startswith(delimiter + b"\r\n") and body.endswith(b"\r\n" + delimiter + b"--\r\n"), body
    parts = []
    for chunk in body[len(delimiter) + 2 : -len(delimiter) - 6].split(b"\r\n" + delimiter + b"\r\n"):
        head, _, data = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n"))
        parts.append((fields, data))
    return parts
