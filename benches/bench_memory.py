"""Memory under many idle connections and over a long run of requests (`make bench-memory`).

This module owns the two memory measurements of DESIGN.md, read from /proc/PID/status VmRSS of
the server process (started pinned to the server CPUs, as in benches/run.py):

(a) idle connections: after start-up and a 1 s wrk warm-up, this process (pinned to the client
    CPUs, RLIMIT_NOFILE raised to its hard limit) opens N keep-alive connections to the server;
    each sends one `GET /` and reads the answer, so every one is a real keep-alive connection
    the server has served. RSS growth = RSS with all N open - RSS before. Afterwards every
    connection is asked once more, to show that the server kept all of them open. Run against
    wirespeed and uvicorn (N = 10,000; target for wirespeed <= 64 MiB).
(b) soak: a fresh wirespeed serves a 50k-request warm-up, then 1,000,000 keep-alive requests
    (`wrk -t1 -c64` runs of a few seconds each, sized from the rate measured so far, until the
    count is reached; bounded in time). Drift = RSS after - RSS after the warm-up (target
    <= 5 MiB). (A Lua script that stops wrk's thread at a count does not end wrk early: its
    main thread sleeps the whole -d.)

    python benches/bench_memory.py [--quick] [--connections N] [--requests N] [--out DIR]

--quick: 1,000 connections and 100,000 requests. Writes benches/results/memory-<date>.json
(`-quick` suffix in quick mode). Exit status 1 when a server fails to start or to answer, or a
measurement could not be made; a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import (
    BENCHES,
    HOST,
    BenchError,
    ServerProcess,
    build_request,
    count_sockets,
    free_port,
    machine_info,
    parse_cpus,
    pin_self,
    raise_nofile_limit,
    read_rss_kib,
    run_wrk,
)
from serverdefs import PYTHON, SERVERS, verify

MIB = 1024
IDLE_TARGET_MIB = 64.0
IDLE_TARGET_CONNECTIONS = 10_000
DRIFT_TARGET_MIB = 5.0
SOAK_TARGET_REQUESTS = 1_000_000
MEMORY_SERVERS = ("wirespeed", "uvicorn", "socketify", "limit")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def server_argv(name: str, port: int, scratch: Path) -> list[str]:
    """The server's benchmark command, with its keep-alive idle timeout (if any) out of the way."""
    argv = SERVERS[name].argv(port, "plaintext", scratch)
    if name == "uvicorn":
        argv += ["--timeout-keep-alive", "3600"]
    elif name == "wirespeed":
        help_text = subprocess.run(
            [PYTHON, "-m", "wirespeed", "--help"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
        for flag in ("--keep-alive-timeout", "--timeout-keep-alive", "--keepalive-timeout"):
            if flag in help_text:
                argv += [flag, "3600"]
                break
    return argv


def start(name: str, settings: argparse.Namespace, scratch: Path, tag: str) -> ServerProcess:
    port = free_port()
    process = ServerProcess(
        name, server_argv(name, port, scratch), settings.server_cpus, port, scratch / f"{name}-{tag}.log"
    )
    try:
        process.wait_ready()
        verify("plaintext", port, fixed_response=SERVERS[name].fixed_response)
    except BenchError:
        process.stop()
        raise
    return process


def settle_rss(pid: int, seconds: float = 1.0) -> int:
    time.sleep(seconds)
    return read_rss_kib(pid)


# --- (a) idle keep-alive connections -------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    if status != b"200" or body != b"Hello, World!":
        raise BenchError(f"unexpected answer {status!r} {body[:40]!r}")
    return body


async def _hold_connections(process: ServerProcess, count: int, concurrency: int, timeout: float) -> dict[str, Any]:
    request = build_request("GET", "/", process.port)
    gate = asyncio.Semaphore(concurrency)
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    failures: list[str] = []

    async def open_one() -> None:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection(HOST, process.port)
            except OSError as error:
                failures.append(f"connect: {error}")
                return
            connections.append((reader, writer))
            try:
                writer.write(request)
                await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, BenchError) as error:
                failures.append(f"first request: {error!r}")

    async def ask_again(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        async with gate:
            try:
                writer.write(request)
                await _read_response(reader)
                return True
            except (OSError, asyncio.IncompleteReadError, BenchError):
                return False

    result: dict[str, Any] = {}
    try:
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(open_one() for _ in range(count))), timeout)
        result["open_seconds"] = round(time.monotonic() - started, 2)
        result["opened"] = len(connections) - len(failures)
        result["failures"] = sorted(set(failures))[:5]
        await asyncio.sleep(1.0)
        result["rss_kib"] = read_rss_kib(process.pid)
        result["server_sockets"] = count_sockets(process.pid)
        alive = await asyncio.wait_for(asyncio.gather(*(ask_again(r, w) for r, w in connections)), timeout)
        result["still_open"] = sum(alive)
    finally:
        for _, writer in connections:
            sock = writer.get_extra_info("socket")
            try:
                # Reset rather than close: 10,000 client sockets in TIME_WAIT would eat the
                # ephemeral ports the next server's run needs.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass
            writer.close()
        await asyncio.sleep(0.2)
    return result


def idle_connections(name: str, count: int, settings: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    process = start(name, settings, scratch, "idle")
    try:
        run_wrk(f"http://{HOST}:{process.port}/", 1, settings.client_cpus, latency=False)
        before = settle_rss(process.pid)
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:
            runner = asyncio.run
        held = runner(_hold_connections(process, count, concurrency=256, timeout=settings.phase_timeout))
        if not process.alive():
            raise BenchError(f"{name} died while holding connections:\n{process.log_tail()}")
    finally:
        process.stop()
    growth = held["rss_kib"] - before
    measurement: dict[str, Any] = {
        "server": name,
        "connections": count,
        "rss_before_kib": before,
        "rss_with_connections_kib": held["rss_kib"],
        "growth_kib": growth,
        "growth_per_connection_kib": round(growth / max(held["opened"], 1), 2),
        **{key: value for key, value in held.items() if key != "rss_kib"},
    }
    if name == "wirespeed":
        measurement["target_mib"] = IDLE_TARGET_MIB
        measurement["met"] = (growth / MIB <= IDLE_TARGET_MIB) if count >= IDLE_TARGET_CONNECTIONS else None
    log(
        f"  {name}: {held['opened']}/{count} connections open, RSS {before / MIB:.1f} -> "
        f"{held['rss_kib'] / MIB:.1f} MiB (+{growth / MIB:.1f} MiB), {held['still_open']} still answered"
    )
    return measurement


# --- (b) soak ------------------------------------------------------------------------------------------


def drive(url: str, target: int, cpus: str, bound: float) -> dict[str, Any]:
    """Keep-alive GET / with wrk -t1 -c64 until `target` requests are answered or `bound` s pass."""
    deadline = time.monotonic() + bound
    total, seconds, runs, errors = 0, 0.0, 0, []
    while total < target:
        left = deadline - time.monotonic()
        if left < 1:
            break
        chunk = 1.0 if not total else (target - total) / (total / seconds) * 1.05 + 0.5
        chunk = max(1.0, min(chunk, 20.0, left))
        result, _ = run_wrk(url, chunk, cpus, latency=False)
        total += result.requests
        seconds += result.seconds
        runs += 1
        if result.errors:
            errors.append(result.error_text())
    return {"requests": total, "seconds": round(seconds, 2), "wrk_runs": runs, "wrk_errors": errors}


def soak(requests: int, warmup: int, settings: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    process = start("wirespeed", settings, scratch, "soak")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        began = time.monotonic()
        while not stop.wait(1.0):
            try:
                samples.append((round(time.monotonic() - began, 1), read_rss_kib(process.pid)))
            except (OSError, BenchError):
                return

    url = f"http://{HOST}:{process.port}/"
    try:
        warm = drive(url, warmup, settings.client_cpus, settings.phase_timeout)
        start_rss = settle_rss(process.pid, 0.5)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = drive(url, requests, settings.client_cpus, settings.soak_timeout)
        stop.set()
        sampler.join()
        end_rss = settle_rss(process.pid, 0.5)
        if not process.alive():
            raise BenchError(f"wirespeed died during the soak:\n{process.log_tail()}")
    finally:
        stop.set()
        process.stop()
    drift = end_rss - start_rss
    complete = result["requests"] >= requests
    log(
        f"  wirespeed: {result['requests']:,} requests in {result['seconds']:.1f} s, RSS {start_rss / MIB:.1f} -> "
        f"{end_rss / MIB:.1f} MiB ({drift / MIB:+.2f} MiB)"
    )
    return {
        "server": "wirespeed",
        "warmup_requests": warm["requests"],
        **result,
        "requested": requests,
        "complete": complete,
        "rps": result["requests"] / max(result["seconds"], 1e-9),
        "rss_start_kib": start_rss,
        "rss_end_kib": end_rss,
        "rss_peak_kib": max([end_rss, start_rss, *(kib for _, kib in samples)]),
        "drift_kib": drift,
        "rss_samples": samples,
        "target_mib": DRIFT_TARGET_MIB,
        "met": (abs(drift) / MIB <= DRIFT_TARGET_MIB) if complete and requests >= SOAK_TARGET_REQUESTS else None,
    }


# --- report ----------------------------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / MIB:.1f} MiB"


def verdict(met: bool | None) -> str:
    return "n/a (quick)" if met is None else "met" if met else "MISSED"


def report(idle: list[dict[str, Any]], soaked: dict[str, Any] | None) -> str:
    lines = [
        "| measurement | server | RSS before | RSS after | growth | per connection | target | verdict |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for m in idle:
        label = f"{m['connections']:,} idle keep-alive connections ({m['opened']:,} opened, {m['still_open']:,} kept)"
        target = f"≤ {m['target_mib']:.0f} MiB" if "target_mib" in m else "-"
        lines.append(
            f"| {label} | {m['server']} | {mib(m['rss_before_kib'])} | {mib(m['rss_with_connections_kib'])} "
            f"| +{mib(m['growth_kib'])} | {m['growth_per_connection_kib']:.1f} KiB | {target} "
            f"| {verdict(m['met']) if 'met' in m else '-'} |"
        )
    if soaked:
        label = f"{soaked['requests']:,} keep-alive requests after a {soaked['warmup_requests']:,} warm-up"
        if not soaked["complete"]:
            label += f" (INCOMPLETE: {soaked['requested']:,} asked)"
        lines.append(
            f"| {label} | wirespeed | {mib(soaked['rss_start_kib'])} | {mib(soaked['rss_end_kib'])} "
            f"| {soaked['drift_kib'] / MIB:+.2f} MiB (peak {mib(soaked['rss_peak_kib'])}) | - "
            f"| drift ≤ {soaked['target_mib']:.0f} MiB | {verdict(soaked['met'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 connections and 100,000 requests")
    parser.add_argument("--connections", type=int, help="idle connections (default 10,000; 1,000 with --quick)")
    parser.add_argument("--requests", type=int, help="soak requests (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--warmup-requests", type=int, default=50_000, help="soak warm-up requests (default 50,000)")
    parser.add_argument("--servers", default="wirespeed,uvicorn", help=f"idle test servers, from {MEMORY_SERVERS}")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-soak", action="store_true")
    parser.add_argument("--phase-timeout", type=float, default=120.0, help="bound on each phase (s)")
    parser.add_argument("--soak-timeout", type=float, default=240.0, help="bound on the soak's wrk runs (s)")
    parser.add_argument("--server-cpus", default=os.environ.get("SERVER_CPUS") or "0")
    parser.add_argument("--client-cpus", default=os.environ.get("CLIENT_CPUS") or "1")
    parser.add_argument("--out", type=Path, default=BENCHES / "results")
    settings = parser.parse_args(argv)
    connections = settings.connections or (1_000 if settings.quick else IDLE_TARGET_CONNECTIONS)
    requests = settings.requests or (100_000 if settings.quick else SOAK_TARGET_REQUESTS)
    servers = [s.strip() for s in settings.servers.split(",") if s.strip()]
    for name in servers:
        if name not in MEMORY_SERVERS:
            parser.error(f"unknown server {name!r}; choose from {', '.join(MEMORY_SERVERS)}")
    parse_cpus(settings.server_cpus)
    pin_self(settings.client_cpus)

    soft, hard = raise_nofile_limit()
    if soft < connections + 100:
        log(f"note: RLIMIT_NOFILE hard limit is {hard}; holding {soft - 100} connections instead of {connections}")
        connections = max(1, soft - 100)
    started = time.monotonic()
    status = 0
    idle: list[dict[str, Any]] = []
    soaked: dict[str, Any] | None = None
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wirespeed-bench-memory-") as tmp:
        scratch = Path(tmp)
        if not settings.skip_idle:
            log(f"idle connections: {connections:,} per server")
            for name in servers:
                reason = SERVERS[name].unavailable()
                if reason:
                    log(f"note: skipping {name}: {reason}")
                    continue
                try:
                    measurement = idle_connections(name, connections, settings, scratch)
                    idle.append(measurement)
                    if measurement["opened"] < connections or measurement["still_open"] < measurement["opened"]:
                        errors.append(
                            f"{name}: only {measurement['opened']} opened, "
                            f"{measurement['still_open']} kept of {connections}"
                        )
                except (BenchError, OSError, asyncio.TimeoutError) as error:
                    errors.append(f"{name} idle connections: {error!r}")
                    log(f"  {name}: FAILED: {error!r}")
        if not settings.skip_soak:
            log(f"soak: {settings.warmup_requests:,} warm-up + {requests:,} requests against wirespeed")
            try:
                soaked = soak(requests, settings.warmup_requests, settings, scratch)
                if not soaked["complete"]:
                    errors.append(f"soak: only {soaked['requests']} of {requests} requests within the time bound")
            except (BenchError, OSError) as error:
                errors.append(f"soak: {error!r}")
                log(f"  soak FAILED: {error!r}")
    if errors:
        status = 1

    date = dt.date.today().isoformat()
    header = (
        f"{date}, servers on CPU {settings.server_cpus}, client on CPU {settings.client_cpus}, "
        f"RSS from /proc/PID/status VmRSS"
    )
    print(f"\n{header}\n")
    print(report(idle, soaked))
    for problem in errors:
        print(f"error: {problem}")
    settings.out.mkdir(parents=True, exist_ok=True)
    path = settings.out / f"memory-{date}{'-quick' if settings.quick else ''}.json"
    document = {
        "date": date,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "elapsed_s": round(time.monotonic() - started, 1),
        "settings": {
            "connections": connections,
            "requests": requests,
            "warmup_requests": settings.warmup_requests,
            "server_cpus": settings.server_cpus,
            "client_cpus": settings.client_cpus,
            "rlimit_nofile": [soft, hard],
            "quick": settings.quick,
        },
        "machine": machine_info(),
        "versions": {name: SERVERS[name].version() for name in {*servers, "wirespeed"}},
        "idle": idle,
        "soak": soaked,
        "errors": errors,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {path}")
    print(f"took {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
