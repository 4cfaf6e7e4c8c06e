"""The WebSocket load generator of benches/run.py: echoes over many connections, timed.

This module owns the client side of the ws-* workloads: it opens CONNECTIONS WebSockets (the
HTTP/1.1 upgrade done by hand, no WebSocket library), keeps WINDOW messages in flight on each
(the window written in one write; each echoed message lets one more go), and checks every echo
byte for byte. After --warmup seconds it counts echoed messages for --duration seconds and
prints one JSON object: messages/s, MiB/s of payload echoed, its own CPU use (and, given
--server-pgid, the server's and every other process's), and errors.

The hot path does no per-message Python work beyond a slice: the client frames are masked once
with one fixed mask and cycled through (a cycle of distinct messages, so a server that repeats
or reorders one is caught), and the bytes received are compared with the expected server frames
(unmasked, 2-, 4- or 10-byte headers) with one memcmp per receive. Anything else (a fragmented
message, a ping, a close) goes through a plain frame parser that checks the same payloads.

With --raw there is no WebSocket: no handshake, and the server (benches/servers/tcp_echo_limit.py)
sends back the very bytes it gets, the masked client frames. That is the reference the ws-*
workloads are held against: the same client and bytes, no framing, no Python per message.

    python ws_load.py --port PORT [--path /ws] [--connections 64] [--window 16] [--size 32]
                      [--binary] [--raw] [--warmup 1] [--duration 10] [--server-pgid PGID]
    python ws_load.py --port PORT --check [--size N] [--binary] [--raw]   (one connection, two echoes)

Exit status 0 when the run completed (its errors are in the JSON), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MASK = b"\x37\xfa\x21\x3d"  # one fixed mask for every client frame (RFC 6455 5.3 wants a fresh one)
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MIN_FREE = 64 * 1024  # the least room get_buffer offers
TEXT_FILL = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


class Unsupported(Exception):
    """The server answered the opening handshake with something other than 101."""


class ProtocolError(Exception):
    """The server broke the protocol or echoed the wrong bytes."""


# --- frames ----------------------------------------------------------------------------------------------


def frame_header(opcode: int, length: int, masked: bool, fin: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    bit = 0x80 if masked else 0
    if length <= 125:
        return bytes((first, bit | length))
    if length <= 0xFFFF:
        return bytes((first, bit | 126)) + length.to_bytes(2, "big")
    return bytes((first, bit | 127)) + length.to_bytes(8, "big")


def apply_mask(data: bytes, mask: bytes = MASK) -> bytes:
    if not data:
        return b""
    repeated = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def client_frame(opcode: int, payload: bytes) -> bytes:
    return frame_header(opcode, len(payload), True) + MASK + apply_mask(payload)


def server_frame(opcode: int, payload: bytes) -> bytes:
    return frame_header(opcode, len(payload), False) + payload


def message_payloads(count: int, size: int, binary: bool) -> list[bytes]:
    """`count` distinct payloads of `size` bytes: a fixed filler led by the message's number
    (ASCII for text messages)."""
    if binary:
        filler = hashlib.shake_256(b"wirespeed ws bench").digest(size)
    else:
        filler = (TEXT_FILL * (size // len(TEXT_FILL) + 1))[:size]
    payloads = []
    for index in range(count):
        tag = (index.to_bytes(8, "big") if binary else f"{index:06d} ".encode())[:size]
        payloads.append(tag + filler[len(tag) :])
    return payloads


def parse_frame(data: bytes | bytearray, start: int, end: int) -> tuple[int, bool, int, int] | None:
    """(opcode, fin, payload start, payload end) of the unmasked frame at data[start:end], or None
    while its header or payload is incomplete."""
    if end - start < 2:
        return None
    first, second = data[start], data[start + 1]
    if first & 0x70:
        raise ProtocolError(f"frame with RSV bits set ({first:#04x}): no extension was negotiated")
    if second & 0x80:
        raise ProtocolError("masked frame from the server")
    length = second & 0x7F
    head = 2
    if length == 126:
        head = 4
        if end - start < head:
            return None
        length = int.from_bytes(data[start + 2 : start + 4], "big")
    elif length == 127:
        head = 10
        if end - start < head:
            return None
        length = int.from_bytes(data[start + 2 : start + 10], "big")
    if end - start < head + length:
        return None
    return first & 0x0F, bool(first & 0x80), start + head, start + head + length


def handshake_request(host: str, port: int, path: str) -> tuple[bytes, bytes]:
    """The upgrade request and the Sec-WebSocket-Accept value it must get back."""
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    return request, accept


def check_handshake_response(head: bytes, accept: bytes) -> None:
    """Raise Unsupported for a non-101 status, ProtocolError for a bad 101."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0]!r}")
    if parts[1] != "101":
        raise Unsupported(f"the opening handshake got {lines[0].strip()!r}, not 101")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise ProtocolError(f"101 without Upgrade: websocket (got {headers.get('upgrade')!r})")
    if "upgrade" not in headers.get("connection", "").lower():
        raise ProtocolError(f"101 without Connection: upgrade (got {headers.get('connection')!r})")
    if headers.get("sec-websocket-accept", "").encode() != accept:
        raise ProtocolError(f"wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
    if "sec-websocket-extensions" in headers:
        raise ProtocolError(f"an extension none was offered: {headers['sec-websocket-extensions']!r}")


# --- the answer check (blocking, one connection) ----------------------------------------------------


def check_echo(host: str, port: int, path: str, size: int, binary: bool, timeout: float = 10.0) -> None:
    """Handshake, two messages in one write, their exact echoes, and a closing handshake.

    Raises Unsupported when the handshake is refused, ProtocolError for anything else wrong.
    """
    deadline = time.monotonic() + timeout
    opcode = OP_BINARY if binary else OP_TEXT
    payloads = message_payloads(2, size, binary)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        buf = bytearray()

        def fill() -> None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("timed out waiting for the server")
            sock.settimeout(left)
            data = sock.recv(1 << 20)
            if not data:
                raise ProtocolError("the server closed the connection")
            buf.extend(data)

        request, accept = handshake_request(host, port, path)
        sock.sendall(request)
        while b"\r\n\r\n" not in buf:
            if len(buf) > 65536:
                raise ProtocolError("handshake response head over 64 KiB")
            fill()
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        check_handshake_response(head, accept)
        buf[:] = rest
        sock.sendall(b"".join(client_frame(opcode, p) for p in payloads))
        received: list[tuple[int, bytes]] = []
        pending_op, pending = 0, bytearray()
        while len(received) < len(payloads):
            frame = parse_frame(buf, 0, len(buf))
            if frame is None:
                fill()
                continue
            op, fin, begin, end = frame
            data = bytes(buf[begin:end])
            del buf[:end]
            if op == OP_PING:
                sock.sendall(client_frame(OP_PONG, data))
            elif op == OP_PONG:
                continue
            elif op == OP_CLOSE:
                raise ProtocolError(f"the server closed the WebSocket ({data[:2].hex()} {data[2:80]!r})")
            elif op in (OP_TEXT, OP_BINARY, OP_CONT):
                if (op == OP_CONT) != bool(pending_op):
                    raise ProtocolError("continuation frame out of place")
                pending_op = pending_op or op
                pending += data
                if fin:
                    received.append((pending_op, bytes(pending)))
                    pending_op, pending = 0, bytearray()
            else:
                raise ProtocolError(f"unknown opcode {op:#x}")
        for number, (payload, (op, data)) in enumerate(zip(payloads, received, strict=True), 1):
            kind = "binary" if binary else "text"
            if op != opcode:
                raise ProtocolError(f"message {number}: sent {kind}, echoed with opcode {op:#x}")
            if data != payload:
                raise ProtocolError(
                    f"message {number}: the {len(payload)}-byte {kind} echo differs ({len(data)} bytes back)"
                )
        sock.sendall(client_frame(OP_CLOSE, (1000).to_bytes(2, "big")))
        while True:
            frame = parse_frame(buf, 0, len(buf))
            if frame is None:
                fill()
                continue
            op, _, begin, end = frame
            del buf[:end]
            if op == OP_CLOSE:
                return


def check_raw_echo(host: str, port: int, size: int, binary: bool, timeout: float = 10.0) -> None:
    """--raw's check: two client frames come back byte for byte from a plain TCP echo."""
    deadline = time.monotonic() + timeout
    opcode = OP_BINARY if binary else OP_TEXT
    sent = b"".join(client_frame(opcode, p) for p in message_payloads(2, size, binary))
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(sent)
        back = bytearray()
        while len(back) < len(sent):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("timed out waiting for the echo")
            sock.settimeout(left)
            data = sock.recv(1 << 20)
            if not data:
                raise ProtocolError(f"the server closed the connection after {len(back)} of {len(sent)} bytes")
            back += data
        if back != sent:
            raise ProtocolError("the echoed bytes differ from those sent")


# --- the load --------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What every connection sends and expects, shared (read-only) by all of them."""

    raw: bool
    window: int
    cycle: int  # distinct messages, sent in turn
    send_frame: int  # bytes of one client frame
    recv_frame: int  # bytes of one expected frame from the server
    send_view: memoryview  # cycle + window client frames back to back
    recv_view: memoryview  # cycle + window expected frames back to back
    payloads: list[bytes]
    opcode: int

    @classmethod
    def make(cls, size: int, binary: bool, window: int, raw: bool) -> Plan:
        cycle = window + 1 if size <= 65536 else 2
        payloads = message_payloads(cycle, size, binary)
        opcode = OP_BINARY if binary else OP_TEXT
        sent = [client_frame(opcode, p) for p in payloads]
        expected = sent if raw else [server_frame(opcode, p) for p in payloads]
        order = [i % cycle for i in range(cycle + window)]
        return cls(
            raw,
            window,
            cycle,
            len(sent[0]),
            len(expected[0]),
            memoryview(b"".join(sent[i] for i in order)),
            memoryview(b"".join(expected[i] for i in order)),
            payloads,
            opcode,
        )


@dataclass
class Tally:
    messages: int = 0
    running: bool = True  # refill the windows
    errors: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    slow_frames: int = 0  # frames that missed the memcmp path (fragments, pings, split reads)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if self.first_error is None:
            self.first_error = f"{kind}: {detail}"


class Connection(asyncio.BufferedProtocol):
    def __init__(self, plan: Plan, tally: Tally, request: bytes | None, accept: bytes) -> None:
        self.plan = plan
        self.tally = tally
        self.request = request
        self.accept = accept
        capacity = max(4 * MIN_FREE, plan.recv_frame + MIN_FREE)
        self.buf = bytearray(capacity)
        self.view = memoryview(self.buf)
        self.start = self.end = 0
        self.recv_pos = 0  # cycle index of the next message expected back
        self.send_pos = 0  # cycle index of the next message to send
        self.pending_op = 0  # a fragmented message being put together
        self.pending = bytearray()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closing = False

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.request is None:
            self.ready.set_result(None)
        else:
            self.transport.write(self.request)  # type: ignore[union-attr]

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.buf) - self.end < MIN_FREE:
            kept = self.end - self.start
            if self.start and kept <= self.start:
                self.buf[:kept] = self.view[self.start : self.end]
            else:  # no room to slide the kept bytes down: a larger buffer
                self.buf = self.buf[self.start : self.end] + bytearray(max(len(self.buf), kept + MIN_FREE))
                self.view = memoryview(self.buf)
            self.start, self.end = 0, kept
        return self.view[self.end :]

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        try:
            if not self.ready.done():
                self.handshake()
            else:
                done = self.consume()
                if done:
                    self.tally.messages += done
                    if self.tally.running and not self.closing:
                        self.send(done)
        except ProtocolError as error:
            self.fail("protocol", str(error))
        except Unsupported as error:
            self.fail("handshake", str(error))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ProtocolError(f"connection lost during the handshake ({exc})"))
        elif not self.closing:
            self.tally.error("lost", f"the server ended the connection ({exc})")
        if not self.lost.done():
            self.lost.set_result(None)

    # the work

    def handshake(self) -> None:
        data = self.buf[self.start : self.end]
        at = data.find(b"\r\n\r\n")
        if at < 0:
            if len(data) > 65536:
                raise ProtocolError("handshake response head over 64 KiB")
            return
        check_handshake_response(bytes(data[:at]), self.accept)
        self.start += at + 4
        self.ready.set_result(None)
        # A server may not send frames before it hears from us, but if it did, they wait here.

    def send(self, count: int) -> None:
        plan = self.plan
        at = self.send_pos
        assert self.transport is not None
        self.transport.write(plan.send_view[at * plan.send_frame : (at + count) * plan.send_frame])
        self.send_pos = (at + count) % plan.cycle

    def consume(self) -> int:
        """Messages completed by the bytes at buf[start:end], each checked."""
        plan = self.plan
        size = plan.recv_frame
        done = 0
        while True:
            whole = min((self.end - self.start) // size, plan.window)
            if whole:
                at = self.recv_pos
                if self.buf.startswith(plan.recv_view[at * size : (at + whole) * size], self.start):
                    self.start += whole * size
                    self.recv_pos = (at + whole) % plan.cycle
                    done += whole
                    continue
            if plan.raw:
                if whole:
                    raise ProtocolError("the echoed bytes differ from those sent")
                return done
            frame = parse_frame(self.buf, self.start, self.end)
            if frame is None:
                return done
            self.tally.slow_frames += 1
            done += self.frame(*frame)

    def frame(self, opcode: int, fin: bool, begin: int, end: int) -> int:
        """Handle one frame the memcmp path could not; 1 when it completed a message."""
        data = bytes(self.buf[begin:end])
        self.start = end
        if opcode == OP_PING:
            if not self.closing and self.transport is not None:
                self.transport.write(client_frame(OP_PONG, data))
            return 0
        if opcode == OP_PONG:
            return 0
        if opcode == OP_CLOSE:
            if not self.closing:
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                raise ProtocolError(f"the server closed the WebSocket (code {code}, {data[2:80]!r})")
            if self.transport is not None:
                self.transport.close()
            return 0
        if opcode not in (OP_TEXT, OP_BINARY, OP_CONT):
            raise ProtocolError(f"unknown opcode {opcode:#x}")
        if (opcode == OP_CONT) != bool(self.pending_op):
            raise ProtocolError("continuation frame out of place")
        self.pending_op = self.pending_op or opcode
        self.pending += data
        if not fin:
            return 0
        message, op = bytes(self.pending), self.pending_op
        self.pending_op, self.pending = 0, bytearray()
        if op != self.plan.opcode:
            raise ProtocolError(f"echo with opcode {op:#x}, sent {self.plan.opcode:#x}")
        if message != self.plan.payloads[self.recv_pos]:
            raise ProtocolError(f"echo of message {self.recv_pos} of the cycle differs ({len(message)} bytes)")
        self.recv_pos = (self.recv_pos + 1) % self.plan.cycle
        return 1

    def fail(self, kind: str, detail: str) -> None:
        self.tally.error(kind, detail)
        if not self.ready.done():
            self.ready.set_exception(ProtocolError(detail) if kind != "handshake" else Unsupported(detail))
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        """Start the closing handshake (or just close, in raw mode)."""
        self.closing = True
        if self.transport is None or self.transport.is_closing():
            return
        if self.plan.raw:
            self.transport.close()
        else:
            self.transport.write(client_frame(OP_CLOSE, (1000).to_bytes(2, "big")))


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def other_cpu_snapshot() -> Any:
    """process_cpu() of benches/harness.py (imported late: --check needs none of it)."""
    from harness import process_cpu

    return process_cpu()


async def run_load(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    plan = Plan.make(args.size, args.binary, args.window, args.raw)
    tally = Tally()
    connections: list[Connection] = []

    async def connect() -> Connection:
        request, accept = (None, b"") if args.raw else handshake_request(args.host, args.port, args.path)
        _, conn = await loop.create_connection(lambda: Connection(plan, tally, request, accept), args.host, args.port)
        connections.append(conn)
        await conn.ready
        return conn

    opened = time.monotonic()
    results = await asyncio.wait_for(
        asyncio.gather(*(connect() for _ in range(args.connections)), return_exceptions=True), args.connect_timeout
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        tally.error("connect", f"{type(failure).__name__}: {failure}")
    live = [r for r in results if isinstance(r, Connection)]
    if not live:
        raise ProtocolError(f"no connection opened: {tally.first_error}")
    connect_s = time.monotonic() - opened
    for conn in live:
        conn.send(plan.window)

    await asyncio.sleep(args.warmup)
    warm_messages = tally.messages
    server_before = other_cpu_snapshot() if args.server_pgid else None
    cpu0, t0, count0 = cpu_seconds(), time.monotonic(), tally.messages
    await asyncio.sleep(args.duration)
    cpu1, t1, count1 = cpu_seconds(), time.monotonic(), tally.messages
    server_after = other_cpu_snapshot() if args.server_pgid else None
    tally.running = False

    for conn in live:
        conn.close()
    lost = [conn.lost for conn in connections]
    _, still_open = await asyncio.wait(lost, timeout=args.close_timeout) if lost else (set(), set())
    unclosed = len(still_open)
    for conn in connections:
        if conn.transport is not None and not conn.lost.done():
            conn.transport.abort()

    seconds = t1 - t0
    messages = count1 - count0
    report: dict[str, Any] = {
        "mode": "raw TCP echo" if args.raw else "websocket",
        "connections": len(live),
        "window": plan.window,
        "size": args.size,
        "kind": "binary" if args.binary else "text",
        "client_frame_bytes": plan.send_frame,
        "server_frame_bytes": plan.recv_frame,
        "connect_s": round(connect_s, 3),
        "warmup_messages": warm_messages,
        "messages": messages,
        "seconds": seconds,
        "messages_per_s": messages / seconds,
        "mib_per_s": messages * args.size / seconds / (1 << 20),
        # CPU seconds per second of this process (1.0: one core), and the part of it in the kernel
        "client_cpu": (cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]) / seconds,
        "client_cpu_system": (cpu1[1] - cpu0[1]) / seconds,
        "errors": tally.errors,
        "error_count": sum(tally.errors.values()),
        "first_error": tally.first_error,
        "slow_frames": tally.slow_frames,
        "unclosed": unclosed,
    }
    if server_before is not None and server_after is not None:
        from harness import cpu_use

        use = cpu_use(server_before, server_after, args.server_pgid, seconds)
        report["server_cpu"], report["other_cpu"] = use.server, use.other
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--window", type=int, default=16, help="messages in flight per connection")
    parser.add_argument("--size", type=int, default=32, help="payload bytes per message")
    parser.add_argument("--binary", action="store_true", help="binary messages (default: text)")
    parser.add_argument("--raw", action="store_true", help="no WebSocket: a raw TCP echo of the same client frames")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connect-timeout", type=float, default=15.0)
    parser.add_argument("--close-timeout", type=float, default=3.0)
    parser.add_argument("--server-pgid", type=int, help="also report this process group's CPU use")
    parser.add_argument("--check", action="store_true", help="only check the echo on one connection")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        try:
            if args.raw:
                check_raw_echo(args.host, args.port, args.size, args.binary)
            else:
                check_echo(args.host, args.port, args.path, args.size, args.binary)
        except (Unsupported, ProtocolError, OSError) as error:
            print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
            return 1
        print(json.dumps({"ok": True}))
        return 0
    if not (1 <= args.connections <= 10000 and 1 <= args.window <= 4096 and 1 <= args.size <= 64 << 20):
        parser.error("--connections, --window or --size out of range")
    if not (0 <= args.warmup <= 600 and 0 < args.duration <= 600):
        parser.error("--warmup and --duration must be within 0..600 s")
    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            pass
    try:
        report = runner(run_load(args))
    except (ProtocolError, Unsupported, OSError, asyncio.TimeoutError) as error:
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        return 1
    report["ok"] = True
    report["loop"] = "asyncio" if runner is asyncio.run else "uvloop"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
