"""File bodies on a socket with sendfile(2): the system-call side of sending a file response.

Strategy: this module owns what happens between an open file and a socket descriptor: calling
`os.sendfile` until the kernel's send buffer is full (with the bytes a body has between parts
of the file, a multipart/byteranges body's, written straight to the socket in their turn),
telling a full buffer from a client that left, from a file that ended early and from a pair of
descriptors sendfile cannot join; and corking a TCP socket so a head and the start of its body
leave in full segments. The event loop, the transport and the waiting belong to senders.py,
which keeps a `FileBody` for a body it could not send at once. Where there is no sendfile(2)
(Windows), SENDFILE_AVAILABLE is False and senders.py copies every file through the transport.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Sequence
from typing import Any, BinaryIO

# At most this much per sendfile(2) call before other connections get a turn (as nginx's
# sendfile_max_chunk), and the piece size where sendfile cannot be used.
SENDFILE_PIECE = 2 * 1024 * 1024
COPY_PIECE = 256 * 1024
# sendfile(2) refusing the pair of descriptors: a file system without it, a non-socket.
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSOCK})
_TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)
# os.sendfile, and writing to a socket's descriptor with os.write, are Unix's: elsewhere
# (Windows) every file body is copied through the transport (senders.py).
SENDFILE_AVAILABLE = hasattr(os, "sendfile") and os.name == "posix"
TCP_FAMILIES = frozenset({socket.AF_INET, socket.AF_INET6})


class ClientGone(Exception):
    """The client closed the connection while a response body was being sent to it."""


class FileEnded(OSError):
    """The file has fewer bytes than the response announced (it shrank while being sent)."""


class SendfileUnsupported(Exception):
    """sendfile(2) cannot send this file to this descriptor; the bytes must be copied."""


class FileBody:
    """What is left of a file body: the open file and its (bytes, offset, length) pieces, as
    in `FileResponse.pieces`; of the piece being sent, the bytes still to go, the next offset
    and the end. The sender closes the file (and pulls the cork) when it is done, whether it
    finished or failed."""

    __slots__ = ("file", "pieces", "next_piece", "data", "offset", "end", "sock", "corked", "logged")

    def __init__(self, file: BinaryIO, pieces: Sequence[tuple[bytes, int, int]], sock: Any, corked: bool) -> None:
        self.file = file
        self.pieces = pieces
        self.next_piece = 1  # the index of the piece after this one
        data, offset, length = pieces[0]
        self.data = data
        self.offset = offset
        self.end = offset + length
        self.sock = sock  # the transport's socket, or None to copy through the transport
        self.corked = corked
        # For the access log, when it is on: (request, status, head bytes), logged at the end.
        self.logged: tuple[Any, int, int] | None = None

    def pending(self) -> bool:
        """Whether bytes are left to send; moves on to the next piece when one is out."""
        while not self.data and self.offset >= self.end:
            if self.next_piece == len(self.pieces):
                return False
            self.data, self.offset, length = self.pieces[self.next_piece]
            self.end = self.offset + length
            self.next_piece += 1
        return True

    def remaining(self) -> int:
        """Bytes of the body not sent yet."""
        left = len(self.data) + max(self.end - self.offset, 0)
        for data, _, length in self.pieces[self.next_piece :]:
            left += len(data) + length
        return left

    def close(self, uncork: bool) -> None:
        if self.corked and uncork:
            cork(self.sock, False)
        self.file.close()


def cork(sock: Any, on: bool) -> bool:
    """Set or clear TCP_CORK on a TCP socket (Linux); False where there is no such thing."""
    if _TCP_CORK is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1 if on else 0)
    except OSError:
        return False
    return True


def send_some(sink: int, body: FileBody) -> bool:
    """Send what is left of `body` until it is out, the socket's buffer is full, or one
    SENDFILE_PIECE went out whole (a fast reader; the caller lets other work run). Advances
    `body`; returns True when the socket's buffer is full (wait for it)."""
    source = body.file.fileno()
    while body.pending():
        if body.data:
            try:
                written = os.write(sink, body.data)
            except BlockingIOError:
                return True
            except (BrokenPipeError, ConnectionResetError) as error:
                raise ClientGone(str(error)) from None
            body.data = body.data[written:]
            if body.data:
                return True  # only part of it was taken: the buffer is full
            continue
        piece = min(body.end - body.offset, SENDFILE_PIECE)
        try:
            sent = os.sendfile(sink, source, body.offset, piece)
        except BlockingIOError:
            return True
        except (BrokenPipeError, ConnectionResetError) as error:
            raise ClientGone(str(error)) from None
        except OSError as error:
            if error.errno in _UNSUPPORTED:
                raise SendfileUnsupported(str(error)) from None
            raise
        if sent == 0:
            raise FileEnded(
                f"file {body.file.name!r} ended {body.end - body.offset} bytes short of its announced length"
            )
        body.offset += sent
        if sent == SENDFILE_PIECE:
            return False
    return False


def read_piece(body: FileBody) -> bytes:
    """The next piece of `body` in memory, for the copying way (its own bytes, or bytes read
    from the file); advances it. Only while `body.pending()`."""
    if body.data:
        data, body.data = body.data, b""
        return data
    body.file.seek(body.offset)
    piece = body.file.read(min(body.end - body.offset, COPY_PIECE))
    if not piece:
        raise FileEnded(f"file {body.file.name!r} ended {body.end - body.offset} bytes short of its announced length")
    body.offset += len(piece)
    return piece
