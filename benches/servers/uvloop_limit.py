"""Upper-bound reference: a uvloop protocol that answers one fixed response per request.

It parses nothing: it counts b"\r\n\r\n" in each received buffer and writes that many copies of
a fixed response in one write. No server that parses, routes and builds its answers can beat
it on the same loop, so it marks the limit of Python on uvloop. It cannot echo a body.

    python uvloop_limit.py PORT [--json] [--count-file PATH]

--json answers `{"user_id":"12345"}` (the id the JSON workload asks for) instead of the
plaintext body. --count-file writes the number of requests answered to PATH on SIGTERM; the
harness uses it to check that wrk counts every pipelined response.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop


def fixed_response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nServer: limit\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


class LimitProtocol(asyncio.Protocol):
    response = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        if n:
            self.transport.write(self.response * n)


class CountingProtocol(LimitProtocol):
    answered = 0

    def data_received(self, data: bytes) -> None:
        n = data.count(b"\r\n\r\n")
        if n:
            CountingProtocol.answered += n
            self.transport.write(self.response * n)


async def serve(args: argparse.Namespace) -> None:
    if args.json:
        response = fixed_response(b'{"user_id":"12345"}', b"application/json")
    else:
        response = fixed_response(b"Hello, World!", b"text/plain")
    protocol: type[LimitProtocol] = CountingProtocol if args.count_file else LimitProtocol
    protocol.response = response
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", args.port, backlog=4096)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    await stop
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--count-file")
    args = parser.parse_args()
    uvloop.run(serve(args))
    if args.count_file:
        with open(args.count_file, "w") as out:
            out.write(str(CountingProtocol.answered))


if __name__ == "__main__":
    main()
