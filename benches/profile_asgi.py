"""Where an ASGI request's time goes: the server or the app, sampled with py-spy under load.

This module owns one measurement: a server of benches/serverdefs.py (wirespeed-asgi by
default) serving one ASGI workload (fastapi-json by default) is loaded by wrk exactly as
`make bench` loads it (server on CPU 0, `wrk -t1 -c64` on CPU 1): first for --timed seconds
alone, which gives the server's CPU time per request, then for --duration seconds while
`py-spy record` samples its Python stacks. Each sample is given to the innermost frame that
belongs to a known party:

    app         fastapi, starlette, pydantic, pydantic_core, anyio, the app module
    server      wirespeed, uvicorn, httptools, h11 (the server's Python code, and the C or Rust
                code it calls: the parser, the transport's writes)
    event loop  asyncio, uvloop (the loop's own Python frames, and libuv, epoll and the socket
                system calls run beneath them)

The line between the last two is loose: the loop's C work counts for the Python frame that
started the loop (asyncio's Runner under uvicorn; a server's own frame if it calls
run_forever itself). Their sum, the server side, is what to compare with the app.

Frames of other modules (the standard library's json, contextlib, typing, ...) count for the
party that called them; so the server's `send`, called by Starlette, counts for the server,
and `json.dumps` called by Starlette counts for the app. The CPU time per request of the
unprofiled run turns the shares into microseconds per request.

py-spy pauses the process for each sample (its default, blocking mode: the stacks are exact,
where --nonblocking lost a quarter of the samples and cut stacks short); that lowers the
request rate while it samples (and raises the CPU per request, hence the unprofiled run), not
where the samples fall. py-spy sees no C frames here: time in C or Rust counts for the Python
frame that called it. Only servers whose whole work runs under Python frames of one process can be
split this way (wirespeed-asgi, uvicorn); granian is left out: its HTTP side runs in Rust
threads py-spy cannot attribute, and its supervisor's threads would be sampled too.

    .venv/bin/python benches/profile_asgi.py                              # wirespeed-asgi, fastapi-json, 10 s
    .venv/bin/python benches/profile_asgi.py --server uvicorn             # the same app under uvicorn
    .venv/bin/python benches/profile_asgi.py --workload asgi-plaintext --top 15
    make bench-asgi-profile                                               # the first line
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import (
    HOST,
    BenchError,
    ServerProcess,
    WrkResult,
    free_port,
    parse_cpus,
    pin_self,
    process_cpu,
    run_wrk,
)
from serverdefs import ASGI, SERVERS, WORKLOADS, verify

APP = frozenset({"fastapi", "starlette", "pydantic", "pydantic_core", "anyio", "fastapi_app", "asgi_app"})
SERVER = frozenset({"wirespeed", "uvicorn", "httptools", "h11"})
LOOP = frozenset({"asyncio", "uvloop"})
PROFILED = ("wirespeed-asgi", "uvicorn")


def party(filename: str) -> tuple[str, str, str] | None:
    """(party, package, the file's path from the package on) for a frame's file, or None for a module
    of no party (it counts for its caller)."""
    parts = Path(filename).parts
    stems = Path(filename).with_suffix("").parts
    for index in range(len(parts) - 1, -1, -1):  # the innermost match: site-packages/fastapi/_compat/v2.py
        for name, members in (("app", APP), ("server", SERVER), ("event loop", LOOP)):
            if stems[index] in members:
                return name, stems[index], "/".join(parts[index:])
    return None


def frame_file(frame: str) -> str:
    """The file of a py-spy raw frame, `function (path/to/file.py:123)`."""
    inside = frame.rpartition(" (")[2].rstrip(")")
    return inside.rpartition(":")[0] or inside


def classify(raw: str) -> tuple[collections.Counter[str], collections.Counter[str], collections.Counter[str], int]:
    """From py-spy's raw (collapsed) stacks: samples per party, per package, per innermost frame of a party."""
    parties: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    frames: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        owner: tuple[str, str, str] | None = None
        owner_frame = ""
        for frame in reversed(stack.split(";")):  # leaf first
            owner = party(frame_file(frame))
            if owner is not None:
                owner_frame = frame
                break
        if owner is None:
            parties["other"] += count
            packages["other"] += count
            continue
        parties[owner[0]] += count
        packages[owner[1]] += count
        short = owner_frame.replace(frame_file(owner_frame), owner[2])
        frames[f"{owner[0]}: {short}"] += count
    return parties, packages, frames, total


def _server_seconds(before: dict[int, tuple[int, float]], after: dict[int, tuple[int, float]], group: int) -> float:
    """CPU seconds the processes of a process group used between two process_cpu() snapshots."""
    return sum(used - before.get(pid, (g, 0.0))[1] for pid, (g, used) in after.items() if g == group)


def record(
    server_name: str, workload: str, duration: int, rate: int, timed: int, server_cpus: str, client_cpus: str
) -> dict[str, Any]:
    """Time the server under wrk for `timed` s (CPU per request), then sample it for `duration` s."""
    server = SERVERS[server_name]
    spec = WORKLOADS[workload]
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        raise BenchError("py-spy is not installed (make bench-setup installs the bench extra, which has it)")
    with tempfile.TemporaryDirectory(prefix="wirespeed-profile-") as tmp:
        scratch = Path(tmp)
        port = free_port()
        process = ServerProcess(
            server_name, server.argv(port, workload, scratch), server_cpus, port, scratch / "server.log"
        )
        try:
            process.wait_ready()
            verify(workload, port, fixed_response=server.fixed_response, chunked_files=server.chunked_files)
            url = f"http://{HOST}:{port}{spec.path}"

            def load(seconds: float) -> WrkResult:
                return run_wrk(
                    url, seconds, client_cpus, script=spec.script, script_args=spec.script_args, latency=False
                )[0]

            load(1)  # warm-up
            # Unprofiled: the CPU the server uses per request (py-spy's pauses would add to it).
            before = process_cpu()
            plain = load(timed)
            cpu_per_request = _server_seconds(before, process_cpu(), process.pid) / max(plain.requests, 1)
            # Profiled: py-spy starts a second into a load that outlasts it by a second.
            outcome: dict[str, WrkResult | BaseException] = {}

            def background() -> None:
                try:
                    outcome["wrk"] = load(duration + 2)
                except BaseException as error:  # noqa: BLE001 - handed to the main thread
                    outcome["wrk"] = error

            loader = threading.Thread(target=background)
            loader.start()
            time.sleep(1.0)
            raw_path = scratch / "stacks.txt"
            argv = [
                "taskset", "-c", client_cpus, pyspy, "record", "--pid", str(process.pid),
                "--rate", str(rate), "--duration", str(duration), "--format", "raw", "--full-filenames",
                "--output", str(raw_path),
            ]  # fmt: skip
            done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
            loader.join()
            if done.returncode != 0 or not raw_path.exists():
                raise BenchError(f"py-spy failed ({done.returncode}):\n{done.stdout}{done.stderr}")
            profiled = outcome.get("wrk")
            if not isinstance(profiled, WrkResult):
                raise BenchError(f"wrk failed: {profiled}")
            if not process.alive():
                raise BenchError(f"{server_name} died under load:\n{process.log_tail()}")
            report = (done.stdout + done.stderr).splitlines()
            return {
                "raw": raw_path.read_text(),
                "pyspy": next((line[line.index("Samples:") :] for line in report if "Samples:" in line), ""),
                "rps": plain.rps,
                "rps_profiled": profiled.rps,
                "cpu_us_per_request": cpu_per_request * 1e6,
            }
        finally:
            process.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="wirespeed-asgi", choices=PROFILED, help="(default wirespeed-asgi)")
    parser.add_argument(
        "--workload", default="fastapi-json", help=f"of {', '.join(sorted(ASGI))} (default fastapi-json)"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds sampled under load (default 10)")
    parser.add_argument("--rate", type=int, default=250, help="samples per second (default 250)")
    parser.add_argument("--timed", type=int, default=5, help="seconds timed without py-spy first (default 5)")
    parser.add_argument("--top", type=int, default=8, help="innermost frames listed per party (default 8)")
    parser.add_argument("--server-cpus", default=os.environ.get("SERVER_CPUS") or "0")
    parser.add_argument("--client-cpus", default=os.environ.get("CLIENT_CPUS") or "1")
    args = parser.parse_args()
    if args.workload not in SERVERS[args.server].workloads:
        parser.error(f"{args.server} does not serve {args.workload!r}")
    reason = SERVERS[args.server].unavailable()
    if reason:
        print(f"{args.server} is unavailable: {reason}", file=sys.stderr)
        return 2
    parse_cpus(args.server_cpus)
    pin_self(args.client_cpus)
    try:
        run = record(
            args.server, args.workload, args.duration, args.rate, args.timed, args.server_cpus, args.client_cpus
        )
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    parties, packages, frames, total = classify(run["raw"])
    if not total:
        print("error: py-spy recorded no samples", file=sys.stderr)
        return 1
    per_request = run["cpu_us_per_request"]
    print(
        f"{SERVERS[args.server].label_of(args.workload)}, {args.workload} ({WORKLOADS[args.workload].title}): "
        f"{total} samples in {args.duration} s at {args.rate}/s (py-spy: {run['pyspy']})"
    )
    print(
        f"without py-spy: {run['rps']:,.0f} req/s, {per_request:.1f} µs of server CPU per request; "
        f"under py-spy (it pauses the server for each sample): {run['rps_profiled']:,.0f} req/s\n"
    )
    print("| party | share of samples | µs per request |")
    print("|---|---:|---:|")
    rows = [(name, parties[name]) for name in ("server", "event loop")]
    rows += [("server side (both)", parties["server"] + parties["event loop"]), ("app", parties["app"])]
    rows += [("other", parties["other"])]
    for name, count in rows:
        share = count / total
        print(f"| {name} | {share:.1%} | {share * per_request:.1f} |")
    print("\nby package: " + ", ".join(f"{name} {count / total:.1%}" for name, count in packages.most_common()))
    for name in ("server", "event loop", "app"):
        mine = [(frame, count) for frame, count in frames.most_common() if frame.startswith(name + ":")]
        if mine:
            print(f"\ninnermost {name} frames:")
            for frame, count in mine[: args.top]:
                print(f"  {count / total:6.1%}  {frame.partition(': ')[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
