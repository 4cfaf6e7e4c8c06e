"""Reference for the ws-* workloads: a uvloop TCP echo, no WebSocket, no HTTP.

Every byte received is written back as it came, in the read it came in (uvloop reads up to
256 KiB at a time). benches/ws_load.py --raw drives it with the very client frames it sends a
WebSocket server, and checks that they come back: the bytes cross the loopback twice and are
copied into and out of this process, as through an echoing WebSocket server, but with no
handshake, no frame parsing, no unmasking and no Python per message. That is the limit the
ws-1m workload is held against, and what the client reaches with the least work from a server.

    python tcp_echo_limit.py PORT
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, "127.0.0.1", port, backlog=4096)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    await stop
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
