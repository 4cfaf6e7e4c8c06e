"""Bodies that do not go out in one write: streamed bodies, file bodies, and the waits between.

Strategy: this module owns sending a response body piece by piece on one connection, and the
waits that keep a slow reader from making the server buffer without bound: `drain` (the
transport's buffer is over its high-water mark), `drain_transport` (everything the transport
holds is written) and `until_writable` (the socket itself can take more bytes, for bodies the
transport never sees). A streamed body goes out as chunks as the app produces them; a file
body goes from the page cache to the socket with sendfile(2) (the system calls are in
sendfile.py; over TLS, which sendfile cannot encrypt, it is read and copied through the
transport instead), as much as the socket takes at once in the handler's own turn (`start_file`),
the rest from a Task (`send_file_body`). Heads come from the writer, the Connection line from
the protocol's one decision (`HttpProtocol.connection_line`); the order of answers and what a
failure means for the connection stay with the protocol. Any interface that sends a body in
pieces (a streaming handler today) uses these same functions.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from .connection_state import CLOSED, WRITE_PAUSED, without
from .response import FileResponse, StreamingResponse, internal_error_response
from .sendfile import (
    SENDFILE_AVAILABLE,
    TCP_FAMILIES,
    ClientGone,
    FileBody,
    SendfileUnsupported,
    cork,
    read_piece,
    send_some,
)
from .writer import LAST_CHUNK, NO_BODY_STATUSES, chunk

if TYPE_CHECKING:
    from .protocol import HttpProtocol
    from .request import Request

error_logger = logging.getLogger("wirespeed.error")


# -- waits
async def drain(connection: HttpProtocol) -> None:
    """Wait while the transport's write buffer is over its high-water mark. Raises
    ConnectionResetError once the client has gone. Several senders may wait at once (the
    tasks of a WebSocket app): they share one waiter, and one that is cancelled leaves it to
    the others."""
    if connection.flow & WRITE_PAUSED and connection.phase != CLOSED:
        waiter = connection.drain_waiter
        if waiter is None or waiter.done():
            waiter = connection.drain_waiter = connection.loop.create_future()
        await asyncio.shield(waiter)
    if connection.phase == CLOSED:
        raise ConnectionResetError("client disconnected")


async def drain_transport(connection: HttpProtocol) -> None:
    """Wait until the transport has written everything it holds. Its high-water mark is
    lowered to nothing meanwhile, so `resume_writing` says when that is."""
    transport = connection.transport
    if transport is None or not transport.get_write_buffer_size():
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0)  # over it now: pause_writing is called
    try:
        await drain(connection)
    finally:
        if connection.phase != CLOSED:
            transport.set_write_buffer_limits(high=high, low=low)


async def until_writable(connection: HttpProtocol, descriptor: int) -> None:
    """Wait until the socket (watched through `descriptor`, a duplicate of its own: the loop
    does not watch one that a transport owns) can take more bytes. Counts as paused writing
    for the write timeout, and holds back reading like it. Raises ClientGone once the client
    has gone."""
    loop = connection.loop
    waiter = connection.drain_waiter = loop.create_future()
    connection.pause_writing()
    loop.add_writer(descriptor, _set_done, waiter)
    try:
        await waiter
    finally:
        loop.remove_writer(descriptor)
        connection.drain_waiter = None
        connection.flow = without(connection.flow, WRITE_PAUSED)
    if connection.phase == CLOSED:
        raise ClientGone("client disconnected")


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# -- streamed bodies
async def send_stream(connection: HttpProtocol, request: Request, response: StreamingResponse) -> None:
    """A body as the app's iterator produces it: chunked to an HTTP/1.1 client, as it comes to
    an HTTP/1.0 one (the connection then ends with it). Waits for the client to read after each
    piece. An iterator that fails before any of the answer has gone out gets a 500 in its place
    and the connection goes on; after that, the failure is raised (only closing is left)."""
    chunked = request.version == 1
    head = connection.writer.stream_head(response, connection.connection_line(request, not chunked), chunked)
    out = connection.out
    out.append(head)
    iterator = response.iterator
    started = False
    body = 0  # bytes of the body, and of the answer, for the access log
    size = len(head)
    try:
        if request.method != "HEAD" and response.status not in NO_BODY_STATUSES:
            async for piece in iterator:
                if isinstance(piece, str):
                    piece = piece.encode(response.charset)
                if piece:
                    framed = chunk(piece) if chunked else piece
                    out.append(framed)
                    body += len(piece)
                    size += len(framed)
                    started = True
                    connection.write_now()
                    await drain(connection)
            if chunked:
                out.append(LAST_CHUNK)
                size += len(LAST_CHUNK)
    except Exception:
        if started or not out or out[-1] is not head:
            if connection.access is not None:
                connection.access.sent(connection, request, response.status, body, size)
            raise  # part of the answer is out: only closing the connection is left
        # Nothing of it has gone out: a plain 500 instead (the connection carries on).
        out.pop()
        error_logger.exception("streamed response to %s %s failed", request.method, request.target)
        connection.respond(request, internal_error_response())
    else:
        if connection.access is not None:
            connection.access.sent(connection, request, response.status, body, size)
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()


# -- file bodies
def start_file(connection: HttpProtocol, request: Request, response: FileResponse) -> FileBody | None:
    """Begin a file answer in the handler's own turn: its head, then as much of its body as the
    socket takes at once, straight from the page cache with sendfile(2) (no Task, no copy).
    What does not fit is returned, for `send_file_body` to send as the socket drains; None when
    all is out (or the connection failed, which is dealt with here)."""
    file = response.file
    if file is None:
        try:
            file = open(response.path, "rb", buffering=0)  # noqa: SIM115 - FileBody closes it
        except OSError:
            error_logger.exception("file for %s %s cannot be opened", request.method, request.target)
            connection.respond(request, internal_error_response())
            return None
    head = connection.writer.file_head(response, connection.connection_line(request))
    connection.out.append(head)
    access = connection.access
    if (
        request.method == "HEAD"
        or response.status in NO_BODY_STATUSES
        or not response.size
        or connection.phase == CLOSED
    ):
        file.close()
        if access is not None:
            access.sent(connection, request, response.status, 0, len(head))
        return None
    sock, tcp = _socket_of(connection)
    # Corked, the head and the start of the body leave in full segments rather than the head
    # alone (nginx's tcp_nopush); the cork is pulled once the body is out.
    corked = tcp and cork(sock, True)
    body = FileBody(file, response.pieces, sock, corked)
    if access is not None:
        body.logged = (request, response.status, len(head))
    connection.write_now()
    if sock is None or connection.transport.get_write_buffer_size():  # type: ignore[union-attr]
        return body  # the transport holds bytes still: the body must wait for them
    try:
        send_some(sock.fileno(), body)
    except SendfileUnsupported:
        body.sock = None  # copied through the transport instead (a /proc file, say)
        return body
    except (ClientGone, OSError) as error:  # an early end: the announced length is not met
        body.close(uncork=False)
        _log_file_body(connection, body)
        connection.sending_failed(request, error)
        return None
    if body.pending():
        return body
    body.close(uncork=True)
    _log_file_body(connection, body)
    return None


async def send_file_body(connection: HttpProtocol, body: FileBody) -> None:
    """The rest of a file body, as the socket takes it. The transport knows nothing of these
    bytes, so they go only once what it holds is written. A file that ends early ends the
    connection (raised)."""
    watched = -1
    try:
        if body.sock is not None:  # copied pieces queue behind the transport's bytes anyway
            await drain_transport(connection)
        while body.pending():
            if body.sock is None:
                connection.out.append(read_piece(body))
                connection.write_now()
                await drain(connection)
                continue
            try:
                full = send_some(body.sock.fileno(), body)
            except SendfileUnsupported:
                body.sock = None
                continue
            if full:
                if watched < 0:
                    watched = os.dup(body.sock.fileno())
                await until_writable(connection, watched)
            elif body.pending():
                await asyncio.sleep(0)  # a fast reader: let other connections have a turn
    finally:
        if watched >= 0:
            os.close(watched)
        body.close(uncork=connection.phase != CLOSED)
        _log_file_body(connection, body)


def _log_file_body(connection: HttpProtocol, body: FileBody) -> None:
    """The access log's line for a file answer, at its end: the bytes that did go."""
    logged = body.logged
    if logged is not None and connection.access is not None:
        body.logged = None
        request, status, head = logged
        sent = sum(len(data) + length for data, _, length in body.pieces) - body.remaining()
        connection.access.sent(connection, request, status, sent, head + sent)


def _socket_of(connection: HttpProtocol) -> tuple[Any, bool]:
    """The transport's socket (or None) and whether it is TCP (can be corked), looked up on
    the connection's first file body and kept. None (a file body is then read and copied
    through the transport) where there is no sendfile, and over TLS: the transport still names
    its raw socket, but bytes written there would bypass the encryption and break the stream
    (sendfile cannot encrypt)."""
    socket_info = connection.socket
    if socket_info is None:
        transport = connection.transport
        sock = transport.get_extra_info("socket") if transport is not None and SENDFILE_AVAILABLE else None
        if sock is not None and transport.get_extra_info("ssl_object") is not None:  # type: ignore[union-attr]
            sock = None
        socket_info = connection.socket = (sock, sock is not None and sock.family in TCP_FAMILIES)
    return socket_info


__all__ = ["drain", "drain_transport", "send_file_body", "send_stream", "start_file", "until_writable"]
