"""Instructions per request on the Python side of wirespeed, counted with callgrind.

Strategy: this script owns the repeatable cost measurement used in RESULTS.md. One
`HttpProtocol` is fed the same request N times through a transport that drops what it is
given (no sockets, no event-loop turns), once with N requests and once with none, each under
`valgrind --tool=callgrind`; the difference divided by N is the cost of one request: parsing,
dispatch, the handler, the answer's bytes. Instruction counts do not drift with the load of a
shared machine the way timings do. System calls are not counted (callgrind sees user space).

    .venv/bin/python benches/count_instructions.py                  # every workload
    .venv/bin/python benches/count_instructions.py static-4k -n 5000
    .venv/bin/python benches/count_instructions.py plaintext --access-log   # its lines included
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

HOST = b"Host: 127.0.0.1:8080\r\n"
WORKLOADS: dict[str, tuple[bytes, int]] = {
    # name: (the bytes fed at once, the requests they hold)
    "plaintext": (b"GET / HTTP/1.1\r\n" + HOST + b"\r\n", 1),
    "json": (b"GET /users/42 HTTP/1.1\r\n" + HOST + b"\r\n", 1),
    "pipelined": ((b"GET / HTTP/1.1\r\n" + HOST + b"\r\n") * 16, 16),
    "static-4k": (b"GET /static/4k.bin HTTP/1.1\r\n" + HOST + b"\r\n", 1),
    # The ASGI mode, serving benches/servers/asgi_app.py (the app's own cost included).
    "asgi-plaintext": (b"GET / HTTP/1.1\r\n" + HOST + b"\r\n", 1),
    "asgi-pipelined": ((b"GET / HTTP/1.1\r\n" + HOST + b"\r\n") * 16, 16),
}
WARM_UP = 2000


class DroppingTransport(asyncio.Transport):
    """A transport that takes every write and keeps nothing."""

    def write(self, data: Any) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False


# With --access-log: how many buffers between the writes of the access log's lines (its timer
# in a running server; at 100k requests a second, 100 ms is 10,000 of them).
ACCESS_LOG_BATCH = 1000


def feed(workload: str, count: int, parser: str, access_log: bool = False) -> None:
    """The measured program: build the app, feed one protocol WARM_UP + `count` times. With
    `access_log`, the access log is on and written to a file, as a production server's is."""
    from wirespeed import App, Config, Request
    from wirespeed.protocol import HttpProtocol
    from wirespeed.server import ServerState

    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "Hello, World!"

    @app.get("/users/{user_id}")
    def user(request: Request, user_id: str) -> dict[str, str]:
        return {"user_id": user_id}

    root = tempfile.mkdtemp(prefix="wirespeed-count-")
    with open(os.path.join(root, "4k.bin"), "wb") as file:
        file.write(os.urandom(4096))
    app.static("/static", root)
    data = WORKLOADS[workload][0]

    served: Any = app
    if workload.startswith("asgi"):
        from wirespeed.asgi import serving_app

        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers"))
        from asgi_app import app as asgi_app

        served = serving_app(asgi_app, Config(lifespan="off"))

    if access_log:
        import logging

        handler = logging.FileHandler(os.path.join(root, "access.log"))
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("wirespeed.access")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    async def run() -> None:
        config = Config(parser=parser, max_requests_per_connection=0, access_log=access_log)  # type: ignore[arg-type]
        state = ServerState(served, config, asyncio.get_running_loop())
        assert (state.access_log is not None) == access_log
        protocol = HttpProtocol(state)
        protocol.connection_made(DroppingTransport())
        if state.access_log is None:
            for _ in range(WARM_UP + count):
                protocol.data_received(data)
            return
        for turn in range(WARM_UP + count):
            protocol.data_received(data)
            if turn % ACCESS_LOG_BATCH == 0:
                state.access_log.write()
        state.access_log.write()

    asyncio.run(run())


def callgrind_total(script: str, arguments: list[str]) -> int:
    """Instructions callgrind counts for the whole program `python script arguments...`.

    String hashes are seeded with 0 (unless PYTHONHASHSEED says otherwise): with a random
    seed, dict lookups collide differently from run to run, and the same code measured twice
    differed by up to about 150 instructions per request."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script, *arguments]
    environment = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"no callgrind total for {' '.join(arguments)}:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def collected(workload: str, count: int, parser: str, access_log: bool = False) -> int:
    """Instructions callgrind counts for the whole program fed `count` requests."""
    flags = ["--access-log"] if access_log else []
    return callgrind_total(__file__, ["--feed", workload, "-n", str(count), "--parser", parser, *flags])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("-n", type=int, default=5000, help="requests counted (default 5000)")
    parser.add_argument("--parser", default="rust", choices=("rust", "httptools"))
    parser.add_argument(
        "--access-log", action="store_true", help="with the access log on, its lines written to a file"
    )
    parser.add_argument("--feed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feed:
        feed(args.feed, args.n, args.parser, args.access_log)
        return 0
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}: choose from {', '.join(WORKLOADS)}")
    for workload in args.workloads or WORKLOADS:
        requests = args.n * WORKLOADS[workload][1]
        per_request = (
            collected(workload, args.n, args.parser, args.access_log)
            - collected(workload, 0, args.parser, args.access_log)
        ) / requests
        shown = ", access log on" if args.access_log else ""
        print(f"{workload:<14} {per_request:>8,.0f} instructions per request ({args.parser} parser, n={args.n}{shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
