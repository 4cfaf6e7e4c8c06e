"""Servers side by side: wirespeed against nginx, socketify, granian, uvicorn and a uvloop limit,
and wirespeed's ASGI mode against uvicorn and granian serving the same ASGI apps.

This module owns the orchestration of `make bench`: it checks that wrk counts pipelined
responses, then for each round starts every server in turn (pinned with taskset to the server
CPUs, wrk pinned to the client CPUs), verifies its answers for every workload, warms it up and
times each workload with `wrk -t1 -c64 --latency`. Rounds interleave the servers (the order
alternates between rounds); the report is the median over rounds. It prints a table (req/s,
p99, ratio to nginx and to uvicorn, wrk errors), checks the DESIGN.md targets, and writes
benches/results/<date>.json and <date>.png (a `-quick` suffix in quick mode).

The static workloads (static-4k, static-1m) GET files the bench writes into its scratch
directory; nginx, granian and wirespeed (also with its small-file cache off, as
"wirespeed-nocache") serve that directory. They are timed for --static-duration seconds (at
most --duration) to keep `make bench` under 10 minutes.

The ASGI workloads (asgi-plaintext, asgi-pipelined, fastapi-json) are served by the ASGI servers
only, each serving the same module: wirespeed-asgi (`wirespeed MODULE:app --interface asgi`),
uvicorn and granian (`--interface asgi`). Their targets (wirespeed-asgi against uvicorn and
granian) are printed apart from DESIGN.md's. A wirespeed without the ASGI mode makes
wirespeed-asgi "skipped" with the reason, not a failure.

The WebSocket workloads (ws-echo: 32-byte text messages, 64 connections x 16 in flight; ws-1m:
1 MiB binary messages) echo messages at /ws: wirespeed with its native app, wirespeed-asgi,
uvicorn (--ws websockets) and granian (--interface asgi) with the ASGI app. They are driven by
benches/ws_load.py instead of wrk (warm-up and timed run on the same connections), which also
reports its own CPU use: a client near 100 % of its CPU sets the pace, and the table says so.
ws-limit, a uvloop TCP echo of the same client bytes without any WebSocket, is their reference
(the ws-1m target is held against it); it joins the run whenever a ws-* workload does. They
are timed for --ws-duration seconds (at most --duration), after a --warmup on the same
connections. With ws-1m, the run also times a plain 1 MiB memcpy on the client CPU, for scale. A server
that cannot serve WebSockets here (uvicorn without the websockets package, a wirespeed without
WebSocket support) is skipped on them with the reason; one that fails them is treated as on
any other workload.

The TLS workload (tls-plaintext) is the plaintext app over TLS, from wirespeed and nginx only,
with one certificate the run makes with openssl in its scratch directory; before timing, each
server must negotiate the same TLS version and cipher suite (serverdefs.TLS_EXPECTED) with a
client offering OpenSSL's defaults, as wrk does, so the ratio compares like with like.

    python benches/run.py [--quick] [--rounds N] [--duration S] [--static-duration S] [--ws-duration S]
                          [--servers a,b] [--workloads a,b] [--server-cpus 0] [--client-cpus 1]
                          [--out DIR]

Exit status 1 when the harness itself fails (wrk miscounts pipelined responses) or when
wirespeed, wirespeed-asgi (when available) or nginx does not start or answers wrongly; other
servers are flagged, not fatal.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from harness import (
    BENCHES,
    HOST,
    LUA_DIR,
    BenchError,
    ServerProcess,
    WrkResult,
    command_version,
    cpu_use,
    free_port,
    machine_info,
    parse_cpus,
    pin_self,
    process_cpu,
    run_wrk,
    run_ws_load,
)
from serverdefs import (
    ASGI,
    PIPELINE_DEPTH,
    PIPELINED,
    PYTHON,
    SERVERS,
    STATIC,
    TLS,
    WORKLOADS,
    WS,
    ServerDef,
    bench_certificate,
    verify,
    write_static_tree,
)

FATAL_SERVERS = ("wirespeed", "nginx", "ws-limit")
# Fatal when it fails; skipped with a note when it is unavailable (a wirespeed without its ASGI mode).
FATAL_WHEN_AVAILABLE = ("wirespeed-asgi",)
NOISE_CPU = 0.05  # other processes using more than this share of a CPU make a timed run suspect
# ws_load using this much of its CPU sets the pace itself: the server's figure is a lower bound.
CLIENT_BOUND = 0.9


@dataclasses.dataclass
class Settings:
    rounds: int
    duration: float
    static_duration: float
    ws_duration: float
    warmup: float
    connections: int
    server_cpus: str
    client_cpus: str
    servers: list[str]
    workloads: list[str]
    out: Path
    quick: bool
    chart: bool
    wait_quiet: float


@dataclasses.dataclass
class Sample:
    round: int
    server: str
    workload: str
    result: WrkResult | None = None
    error: str | None = None  # the server did not start or answered wrongly
    server_cpu: float | None = None  # CPUs the server's processes used during the timed run
    other_cpu: float | None = None  # CPUs every other process on the machine used meanwhile


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (default 3 s per workload)")
    parser.add_argument("--rounds", type=int, help="rounds over all servers (default 2; 1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds per workload (default 10; 3 with --quick)")
    parser.add_argument(
        "--static-duration",
        type=float,
        default=4.0,
        help="seconds per static workload, at most --duration (default 4)",
    )
    parser.add_argument(
        "--ws-duration",
        type=float,
        default=5.0,
        help="seconds per WebSocket workload, at most --duration (default 5)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up after each start (default 1)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma list from {','.join(SERVERS)}")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma list from {','.join(WORKLOADS)}")
    parser.add_argument(
        "--server-cpus",
        default=os.environ.get("SERVER_CPUS") or "0",
        help="CPUs for the servers, taskset syntax (env SERVER_CPUS, default 0)",
    )
    parser.add_argument(
        "--client-cpus",
        default=os.environ.get("CLIENT_CPUS") or "1",
        help="CPUs for wrk and this script (env CLIENT_CPUS, default 1)",
    )
    parser.add_argument("--out", type=Path, default=BENCHES / "results", help="directory for the JSON and the PNG")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=float(os.environ.get("WAIT_QUIET") or 0),
        help="on a shared machine: before each server, wait while other processes keep a CPU more than 5%% busy, "
        "at most this many seconds over the whole run (env WAIT_QUIET, default 0)",
    )
    args = parser.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for name in servers:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
    for name in workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    if WS & set(workloads) and "ws-limit" not in servers:
        servers.append("ws-limit")  # the reference of the WebSocket workloads is measured with them
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 2)
    duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    if rounds < 1 or duration < 1 or args.static_duration < 1 or args.ws_duration < 1:
        parser.error("--rounds, --duration, --static-duration and --ws-duration must be at least 1")
    return Settings(
        rounds,
        duration,
        min(duration, args.static_duration),
        min(duration, args.ws_duration),
        args.warmup,
        args.connections,
        args.server_cpus,
        args.client_cpus,
        servers,
        workloads,
        args.out,
        args.quick,
        not args.no_chart,
        args.wait_quiet,
    )


# --- the pipelining self-check ---------------------------------------------------------------------


def check_pipeline_counting(settings: Settings, scratch: Path) -> dict[str, Any]:
    """wrk must count each of the 16 responses to a pipelined write, not one per write.

    A counting variant of the uvloop limit server reports how many requests it answered; wrk's
    total must be that count less at most the batches in flight when wrk stopped.
    """
    port = free_port()
    count_file = scratch / "pipeline-count.txt"
    connections = 4
    server = ServerProcess(
        "pipeline-check",
        [PYTHON, "uvloop_limit.py", str(port), "--count-file", str(count_file)],
        settings.server_cpus,
        port,
        scratch / "pipeline-check.log",
    )
    try:
        server.wait_ready()
        result, _ = run_wrk(
            f"http://{HOST}:{port}/",
            1,
            settings.client_cpus,
            connections=connections,
            script=LUA_DIR / "pipeline.lua",
            script_args=(str(PIPELINE_DEPTH),),
            latency=False,
        )
    finally:
        server.stop()
    answered = int(count_file.read_text())
    in_flight = PIPELINE_DEPTH * connections
    ok = result.requests > in_flight and answered - in_flight <= result.requests <= answered
    return {"wrk_requests": result.requests, "server_answered": answered, "max_in_flight": in_flight, "ok": ok}


class QuietGate:
    """Waits, within a total budget, until other processes leave the CPUs alone."""

    def __init__(self, budget: float) -> None:
        self.left = budget
        self.waited = 0.0

    def wait(self) -> float:
        """The other processes' CPU use when the wait ended (measured over 0.5 s)."""
        while True:
            before = process_cpu()
            time.sleep(0.5)
            other = cpu_use(before, process_cpu(), -1, 0.5).other
            if other <= NOISE_CPU or self.left <= 0:
                return other
            log(f"  waiting: other processes use {other:.0%} of a CPU ({self.left:.0f} s of waiting left)")
            pause = min(2.0, self.left)
            time.sleep(pause)
            self.left -= pause + 0.5
            self.waited += pause + 0.5


# --- one server, one round -----------------------------------------------------------------------------


def workload_groups(server: ServerDef, workloads: list[str], skipped: frozenset[str] = frozenset()) -> list[list[str]]:
    """Consecutive workloads a server serves from one start (the limit restarts for JSON)."""
    groups: list[list[str]] = []
    previous: str | None = None
    for workload in workloads:
        if workload not in server.workloads or workload in skipped:
            continue
        variant = server.variant(workload)
        if groups and variant == previous:
            groups[-1].append(workload)
        else:
            groups.append([workload])
        previous = variant
    return groups


def run_server(
    server: ServerDef, round_no: int, settings: Settings, scratch: Path, skipped: frozenset[str] = frozenset()
) -> list[Sample]:
    """Start `server` for each group of its workloads (but `skipped`), verify, warm up and time."""
    samples: list[Sample] = []
    for group in workload_groups(server, settings.workloads, skipped):
        port = free_port()
        argv = server.argv(port, group[0], scratch)
        process = ServerProcess(
            server.name,
            argv,
            settings.server_cpus,
            port,
            scratch / "logs" / f"{server.name}-round{round_no}.log",
        )
        try:
            process.wait_ready()
            for workload in group:
                verify(
                    workload,
                    port,
                    fixed_response=server.fixed_response,
                    chunked_files=server.chunked_files,
                    raw_echo=server.raw_echo,
                    scratch=scratch,
                )
        except BenchError as error:
            process.stop()
            log(f"  {server.name}: FAILED: {error}")
            samples += [Sample(round_no, server.name, w, error=str(error).splitlines()[0]) for w in group]
            continue
        try:
            first = WORKLOADS[group[0]]
            if settings.warmup > 0 and first.ws is None:  # ws_load warms up on its own connections
                run_wrk(
                    f"{first.scheme}://{HOST}:{port}{first.path}",
                    settings.warmup,
                    settings.client_cpus,
                    connections=settings.connections,
                    script=first.script,
                    script_args=first.script_args,
                    latency=False,
                )
            for workload in group:
                spec = WORKLOADS[workload]
                if spec.ws is not None:
                    samples.append(run_ws(server, process, port, workload, round_no, settings))
                    continue
                before = process_cpu()
                result, _ = run_wrk(
                    f"{spec.scheme}://{HOST}:{port}{spec.path}",
                    settings.static_duration if spec.static else settings.duration,
                    settings.client_cpus,
                    connections=settings.connections,
                    script=spec.script,
                    script_args=spec.script_args,
                )
                if workload in PIPELINED:
                    # wrk's latency percentiles are wrong with pipelining: its coordinated-omission
                    # correction assumes one response per round trip and adds samples below the
                    # histogram's minimum, which the percentile walk never reaches (p75+ read 0).
                    result.p50_ms = result.p99_ms = None
                use = cpu_use(before, process_cpu(), process.pid, result.seconds)
                if not process.alive():
                    raise BenchError(f"{server.name} died during {workload}:\n{process.log_tail()}")
                flag = f"  [errors: {result.error_text()}]" if result.errors else ""
                log(
                    f"  {server.name:<10} {workload:<14} {result.rps:>12,.0f} req/s  p99 {fmt_ms(result.p99_ms):>9}"
                    f"  server CPU {use.server:4.0%}  other CPU {use.other:4.0%}{flag}"
                )
                samples.append(Sample(round_no, server.name, workload, result, None, use.server, use.other))
        except BenchError as error:
            log(f"  {server.name}: FAILED: {error}")
            done = {s.workload for s in samples}
            samples += [
                Sample(round_no, server.name, w, error=str(error).splitlines()[0]) for w in group if w not in done
            ]
        finally:
            process.stop()
    return samples


def run_ws(
    server: ServerDef, process: ServerProcess, port: int, workload: str, round_no: int, settings: Settings
) -> Sample:
    """One timed WebSocket run (benches/ws_load.py: warm-up, then the timed run, same connections)."""
    spec = WORKLOADS[workload]
    assert spec.ws is not None
    args = spec.ws.args(spec.path, server.raw_echo)
    args += ["--warmup", f"{settings.warmup:g}", "--duration", f"{settings.ws_duration:g}"]
    budget = settings.warmup + settings.ws_duration + 20
    result = run_ws_load(port, settings.client_cpus, args, process.pid, budget)
    if not process.alive():
        raise BenchError(f"{server.name} died during {workload}:\n{process.log_tail()}")
    flag = f"  [errors: {result.error_text()}]" if result.errors else ""
    client = result.client_cpu or 0.0
    bound = "  CLIENT-BOUND" if client >= CLIENT_BOUND else ""
    log(
        f"  {server.name:<10} {workload:<14} {result.rps:>12,.0f} msg/s  {result.mib_per_s or 0:8.1f} MiB/s"
        f"  server CPU {result.server_cpu or 0:4.0%}  client CPU {client:4.0%}"
        f"  other CPU {result.other_cpu or 0:4.0%}{bound}{flag}"
    )
    return Sample(round_no, server.name, workload, result, None, result.server_cpu, result.other_cpu)


def memcpy_rate(size: int = 1 << 20, seconds: float = 0.3) -> float:
    """GiB/s of copying one `size`-byte buffer into another, in this process (on the client CPUs)."""
    source = os.urandom(size)
    target = bytearray(size)
    copies = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline and copies < 1_000_000:
        for _ in range(16):
            target[:] = source  # same length: one memcpy
        copies += 16
    return copies * size / (time.perf_counter() - started) / (1 << 30)


# --- report -------------------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} µs" if value < 1 else f"{value:.2f} ms"


def fmt_rps(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def summarize(
    samples: list[Sample], settings: Settings, skipped: dict[str, str], ws_skipped: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per workload, per server: median req/s and p99 over rounds, errors summed, ratios.

    `ws_skipped`: the servers that cannot serve the WebSocket workloads here, and why."""
    ws_skipped = ws_skipped or {}
    results: dict[str, dict[str, Any]] = {}
    for workload in settings.workloads:
        row: dict[str, Any] = {}
        for name in settings.servers:
            server = SERVERS[name]
            if name in skipped:
                row[name] = {"status": "skipped", "note": skipped[name]}
                continue
            if workload in WS and workload in server.workloads and name in ws_skipped:
                row[name] = {"status": "skipped", "note": ws_skipped[name]}
                continue
            if workload not in server.workloads:
                note = (
                    "serves no ASGI app"
                    if workload in ASGI
                    else "TLS workloads: wirespeed and nginx only"
                    if workload in TLS
                    else server.note
                )
                row[name] = {"status": "n/a", "note": note}
                continue
            mine = [s for s in samples if s.server == name and s.workload == workload]
            timed = [s.result for s in mine if s.result is not None]
            failures = sorted({s.error for s in mine if s.error})
            if not timed:
                row[name] = {"status": "failed", "note": "; ".join(failures)}
                continue
            rps = [r.rps for r in timed]
            p99 = [r.p99_ms for r in timed if r.p99_ms is not None]
            errors = {
                key: sum(getattr(r, key) for r in timed)
                for key in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts", "protocol_errors")
            }
            median = statistics.median(rps)
            row[name] = {
                "status": "flagged" if any(errors.values()) or failures else "ok",
                "rps": median,
                "rps_rounds": rps,
                "spread": (max(rps) - min(rps)) / median if median else 0.0,
                "p99_ms": statistics.median(p99) if p99 else None,
                "p99_ms_rounds": p99,
                "errors": errors,
                "failures": failures,
                "server_cpu": statistics.median(s.server_cpu for s in mine if s.server_cpu is not None),
                "other_cpu_max": max(s.other_cpu or 0.0 for s in mine),
            }
            if workload in WS:
                client = [r.client_cpu for r in timed if r.client_cpu is not None]
                row[name].update(
                    {
                        "mib_per_s": statistics.median(r.mib_per_s or 0.0 for r in timed),
                        "client_cpu": statistics.median(client) if client else None,
                        "client_cpu_rounds": client,
                        "client_bound": any(c >= CLIENT_BOUND for c in client),
                        "first_error": next((r.first_error for r in timed if r.first_error), None),
                    }
                )
        for reference in ("nginx", "uvicorn", "granian", "ws-limit"):
            base = row.get(reference, {}).get("rps")
            for entry in row.values():
                if "rps" in entry:
                    entry[f"vs_{reference.replace('-', '_')}"] = entry["rps"] / base if base else None
        results[workload] = row
    return results


def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """DESIGN.md's throughput targets for wirespeed, and the ASGI mode's against its peers serving
    the same ASGI app (group "asgi"), from the medians of this run."""

    def rps(workload: str, server: str) -> float | None:
        value = results.get(workload, {}).get(server, {}).get("rps")
        return float(value) if value else None

    checks: list[dict[str, Any]] = []

    def add(
        name: str, numerator: float | None, denominator: float | None, threshold: float, group: str = "design"
    ) -> None:
        if numerator is None or denominator is None:
            checks.append({"target": name, "group": group, "ratio": None, "threshold": threshold, "met": None})
            return
        ratio = numerator / denominator
        checks.append(
            {"target": name, "group": group, "ratio": ratio, "threshold": threshold, "met": ratio >= threshold}
        )

    def bound(workload: str, *servers: str) -> list[str]:
        """Those of `servers` whose WebSocket figure the client set the pace of."""
        return [s for s in servers if results.get(workload, {}).get(s, {}).get("client_bound")]

    add("plaintext keep-alive >= 0.9x nginx", rps("plaintext", "wirespeed"), rps("plaintext", "nginx"), 0.9)
    add("16 pipelined >= 4x nginx (pipelined)", rps("pipelined", "wirespeed"), rps("pipelined", "nginx"), 4.0)
    add("JSON /users/{id} >= 0.8x nginx plaintext", rps("json", "wirespeed"), rps("plaintext", "nginx"), 0.8)
    for workload in results:
        if workload in SERVERS["uvicorn"].workloads & SERVERS["wirespeed"].workloads - WS:
            add(f"{workload} >= 3x uvicorn", rps(workload, "wirespeed"), rps(workload, "uvicorn"), 3.0)
    add("plaintext >= 1.4x socketify", rps("plaintext", "wirespeed"), rps("plaintext", "socketify"), 1.4)
    add("static-4k >= 0.7x nginx", rps("static-4k", "wirespeed"), rps("static-4k", "nginx"), 0.7)
    add("static-1m >= 0.8x nginx", rps("static-1m", "wirespeed"), rps("static-1m", "nginx"), 0.8)
    # The access log's budget: on (to a file), at least 90 % of the throughput with it off.
    for workload in ("plaintext", "pipelined"):
        add(
            f"{workload}: access log on >= 0.9x off",
            rps(workload, "wirespeed-accesslog"),
            rps(workload, "wirespeed"),
            0.9,
            group="logging",
        )
    mine = "wirespeed-asgi"
    for workload, peer, threshold in (
        ("asgi-plaintext", "uvicorn", 2.0),
        ("asgi-plaintext", "granian", 1.3),
        ("asgi-pipelined", "uvicorn", 5.0),
        ("fastapi-json", "uvicorn", 1.5),
    ):
        name = f"{workload} >= {threshold:g}x {SERVERS[peer].label_of(workload)}"
        add(name, rps(workload, mine), rps(workload, peer), threshold, group="asgi")
    # WebSockets: messages/s against the peers serving the same echo (ws-echo), and against the
    # raw TCP echo of the same bytes (ws-1m).
    for mine in ("wirespeed", "wirespeed-asgi"):
        for workload, peer, threshold in (
            ("ws-echo", "uvicorn", 2.0),
            ("ws-echo", "granian", 1.0),
            ("ws-1m", "ws-limit", 0.7),
        ):
            name = (
                f"{workload}: {SERVERS[mine].label_of(workload)} >= {threshold:g}x {SERVERS[peer].label_of(workload)}"
            )
            add(name, rps(workload, mine), rps(workload, peer), threshold, group="ws")
            pace = bound(workload, mine, peer)
            if pace:
                checks[-1]["note"] = f"client-bound on {', '.join(pace)}: the ratio is not the servers' alone"
    return checks


def static_ratios(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For each static workload, each server that served it against nginx in this run."""
    ratios: list[dict[str, Any]] = []
    for workload, row in results.items():
        if workload not in STATIC:
            continue
        for name, entry in row.items():
            if name == "nginx" or "rps" not in entry:
                continue
            ratios.append(
                {
                    "workload": workload,
                    "server": name,
                    "rps": entry["rps"],
                    "nginx_rps": row.get("nginx", {}).get("rps"),
                    "vs_nginx": entry.get("vs_nginx"),
                    "server_cpu": entry["server_cpu"],
                }
            )
    return ratios


def static_text(ratios: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for item in ratios:
        ratio = f"{item['vs_nginx']:.2f}x nginx" if item["vs_nginx"] else "no nginx figure"
        nginx = f"{fmt_rps(item['nginx_rps'])}" if item["nginx_rps"] else "-"
        framing = ", sent chunked" if SERVERS[item["server"]].chunked_files else ""
        label = SERVERS[item["server"]].label_of(item["workload"])
        lines.append(
            f"- {item['workload']}: {label}: {fmt_rps(item['rps'])} req/s vs nginx {nginx} "
            f"-> {ratio} (server CPU {item['server_cpu']:.0%}{framing})"
        )
    for workload, row in results.items():
        nginx = row.get("nginx", {})
        if workload in STATIC and "rps" in nginx:
            size = WORKLOADS[workload].file_size or 0
            paced = ""
            if nginx["server_cpu"] < 0.9:
                paced = (
                    " (under 90 %: the client, not nginx, set the pace)"
                    if nginx["other_cpu_max"] <= NOISE_CPU
                    else " (other processes were busy: see the warning below)"
                )
            lines.append(
                f"- {workload}: nginx sent {nginx['rps'] * size / 1e9:.2f} GB/s of body using "
                f"{nginx['server_cpu']:.0%} of a CPU{paced}"
            )
    return "\n".join(lines)


def family(workload: str) -> str:
    """Which kind of app serves `workload`: "asgi", "ws" or "native"."""
    return "asgi" if workload in ASGI else "ws" if workload in WS else "native"


def table(results: dict[str, dict[str, Any]], settings: Settings) -> str:
    lines = [
        "| workload | server | req/s | p99 | × nginx | × uvicorn | spread | server CPU | other CPU | wrk errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for workload, row in results.items():
        if workload in WS:
            continue  # in ws_table
        for name in settings.servers:
            entry = row[name]
            label = SERVERS[name].label_of(workload)
            if "rps" not in entry:
                if entry["status"] == "n/a" and family(workload) not in {family(w) for w in SERVERS[name].workloads}:
                    continue  # an ASGI workload on a server of native apps, or the reverse: no row
                lines.append(f"| {workload} | {label} | {entry['status']} | | | | | | | {entry.get('note', '')} |")
                continue
            flagged = entry["status"] == "flagged"
            errors = ", ".join(f"{k.replace('_errors', '')} {v}" for k, v in entry["errors"].items() if v)
            if entry["failures"]:
                errors = "; ".join(filter(None, [errors, *entry["failures"]]))
            ratio_n = f"{entry['vs_nginx']:.2f}" if entry.get("vs_nginx") else "-"
            ratio_u = f"{entry['vs_uvicorn']:.2f}" if entry.get("vs_uvicorn") else "-"
            if name in ("wirespeed", "wirespeed-asgi"):
                label = f"**{label}**"
            lines.append(
                f"| {workload} | {label}{' (!)' if flagged else ''} | {fmt_rps(entry['rps'])} | {fmt_ms(entry['p99_ms'])} "
                f"| {ratio_n} | {ratio_u} | {entry['spread'] * 100:.0f}% | {entry['server_cpu']:.0%} "
                f"| {entry['other_cpu_max']:.0%} | {errors or '0'} |"
            )
    return "\n".join(lines)


def ws_table(results: dict[str, dict[str, Any]], settings: Settings) -> str:
    """The WebSocket workloads: messages/s and MiB/s, ratios, and the client's own CPU use."""
    lines = [
        (
            "| workload | server | messages/s | MiB/s | × uvicorn | × granian | × limit | spread | server CPU "
            "| client CPU | other CPU | errors |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for workload, row in results.items():
        if workload not in WS:
            continue
        for name in settings.servers:
            entry = row[name]
            if workload not in SERVERS[name].workloads:
                continue
            label = SERVERS[name].label_of(workload)
            if name in ("wirespeed", "wirespeed-asgi"):
                label = f"**{label}**"
            if "rps" not in entry:
                lines.append(f"| {workload} | {label} | {entry['status']} | | | | | | | | | {entry.get('note', '')} |")
                continue
            errors = ", ".join(f"{k.replace('_errors', '')} {v}" for k, v in entry["errors"].items() if v)
            if entry.get("first_error"):
                errors = f"{errors} (first: {entry['first_error'][:100]})"
            if entry["failures"]:
                errors = "; ".join(filter(None, [errors, *entry["failures"]]))

            def ratio(key: str, entry: dict[str, Any] = entry) -> str:
                return f"{entry[key]:.2f}" if entry.get(key) else "-"

            client = f"{entry['client_cpu']:.0%}" if entry.get("client_cpu") is not None else "-"
            if entry.get("client_bound"):
                client += " (client-bound)"
            lines.append(
                f"| {workload} | {label}{' (!)' if entry['status'] == 'flagged' else ''} | {fmt_rps(entry['rps'])} "
                f"| {entry['mib_per_s']:.1f} | {ratio('vs_uvicorn')} | {ratio('vs_granian')} | {ratio('vs_ws_limit')} "
                f"| {entry['spread'] * 100:.0f}% | {entry['server_cpu']:.0%} | {client} | {entry['other_cpu_max']:.0%} "
                f"| {errors or '0'} |"
            )
    return "\n".join(lines)


def targets_text(checks: list[dict[str, Any]]) -> str:
    lines = []
    for check in checks:
        if check["met"] is None:
            lines.append(f"- {check['target']}: not measured in this run")
        else:
            verdict = "met" if check["met"] else "MISSED"
            note = f" ({check['note']})" if check.get("note") else ""
            lines.append(f"- {check['target']}: {check['ratio']:.2f}x -> {verdict}{note}")
    return "\n".join(lines)


def chart(results: dict[str, dict[str, Any]], settings: Settings, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(results)
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 4.6), squeeze=False)
    for ax, workload in zip(axes[0], workloads, strict=True):
        names = [n for n in settings.servers if "rps" in results[workload][n]]
        spec = WORKLOADS[workload]
        in_mib = spec.ws is not None and spec.ws.size >= 65536
        if in_mib:
            values = [results[workload][n]["mib_per_s"] for n in names]
        else:
            values = [results[workload][n]["rps"] / 1000 for n in names]
        palette = {
            "wirespeed": "#d62728",
            "wirespeed-nocache": "#ff9896",
            "wirespeed-accesslog": "#ff9896",
            "wirespeed-asgi": "#d62728",
            "limit": "#7f7f7f",
            "ws-limit": "#7f7f7f",
            "nginx": "#2ca02c",
        }
        colors = [palette.get(n, "#1f77b4") for n in names]
        bars = ax.bar(range(len(names)), values, color=colors)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:,.1f}" if value < 10 else f"{value:,.0f}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=9)
        ax.set_title(WORKLOADS[workload].title, fontsize=10)
        unit = "messages" if spec.ws is not None else "requests"
        ax.set_ylabel("MiB/s of messages echoed" if in_mib else f"thousand {unit}/s")
        ax.margins(y=0.15)
    fig.suptitle(textwrap.fill(title, 40 * len(workloads)), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    started = time.monotonic()
    try:
        server_set, client_set = parse_cpus(settings.server_cpus), parse_cpus(settings.client_cpus)
    except BenchError as error:
        log(f"error: {error}")
        return 2
    if server_set & client_set:
        log(f"warning: server CPUs {settings.server_cpus} and client CPUs {settings.client_cpus} overlap")
    if not shutil.which("taskset") or not shutil.which("wrk"):
        log("error: taskset and wrk are needed (make bench installs wrk with apt-get)")
        return 2
    pin_self(settings.client_cpus)

    skipped: dict[str, str] = {}
    versions: dict[str, str] = {}
    for name in settings.servers:
        reason = SERVERS[name].unavailable()
        if reason:
            skipped[name] = reason
            log(f"note: skipping {name}: {reason}")
        versions[name] = SERVERS[name].version()
    versions["wrk"] = command_version(["wrk", "-v"])
    ws_skipped: dict[str, str] = {}
    if WS & set(settings.workloads):
        for name in settings.servers:
            if name in skipped or not WS & SERVERS[name].workloads:
                continue
            reason = SERVERS[name].ws_unavailable()
            if reason:
                ws_skipped[name] = reason
                log(f"note: skipping {name} on the WebSocket workloads: {reason}")

    date = dt.date.today().isoformat()
    suffix = "-quick" if settings.quick else ""
    json_path = settings.out / f"{date}{suffix}.json"
    png_path = settings.out / f"{date}{suffix}.png"
    status = 0
    samples: list[Sample] = []
    memcpy_gib_s = memcpy_rate() if "ws-1m" in settings.workloads else None
    with tempfile.TemporaryDirectory(prefix="wirespeed-bench-") as tmp:
        scratch = Path(tmp)
        if STATIC & set(settings.workloads):
            write_static_tree(scratch)
        if TLS & set(settings.workloads):
            bench_certificate(scratch)  # one certificate for every server, made before any starts
        pipeline_check: dict[str, Any] = {"ok": None}
        if PIPELINED & set(settings.workloads):
            try:
                pipeline_check = check_pipeline_counting(settings, scratch)
            except BenchError as error:
                pipeline_check = {"ok": False, "error": str(error)}
            log(f"pipelining check: {pipeline_check}")
            if not pipeline_check["ok"]:
                log("error: wrk does not count each pipelined response; the pipelined figures would be wrong")
                status = 1
        order = [name for name in settings.servers if name not in skipped]
        gate = QuietGate(settings.wait_quiet)
        for round_no in range(1, settings.rounds + 1):
            this_round = order if round_no % 2 == 1 else list(reversed(order))
            log(f"round {round_no}/{settings.rounds}: {', '.join(this_round)}")
            for name in this_round:
                if settings.wait_quiet > 0:
                    gate.wait()
                samples += run_server(
                    SERVERS[name], round_no, settings, scratch, WS if name in ws_skipped else frozenset()
                )
        logs_dir = scratch / "logs"
        failed_logs = {s.server for s in samples if s.error}
        for name in sorted(failed_logs):
            for log_file in sorted(logs_dir.glob(f"{name}-round*.log")):
                log(f"--- {log_file.name} (last lines) ---\n" + "\n".join(log_file.read_text().splitlines()[-10:]))

    results = summarize(samples, settings, skipped, ws_skipped)
    checks = targets(results)
    statics = static_ratios(results)
    for name in (*FATAL_SERVERS, *FATAL_WHEN_AVAILABLE):
        if name not in settings.servers:
            continue
        failed = any(s.error for s in samples if s.server == name)
        if failed or (name in skipped and name in FATAL_SERVERS):
            log(f"error: {name} was not measured on every workload")
            status = 1

    elapsed = time.monotonic() - started
    static_note = ""
    if STATIC & set(settings.workloads) and settings.static_duration != settings.duration:
        static_note = f" ({settings.static_duration:g} s per static workload)"
    if WS & set(settings.workloads) and settings.ws_duration != settings.duration:
        static_note += f" ({settings.ws_duration:g} s per WebSocket workload)"
    header = (
        f"{date}, {settings.rounds} round(s) x {settings.duration:g} s per workload{static_note}, "
        f"wrk -t1 -c{settings.connections}, servers on CPU {settings.server_cpus}, wrk on CPU {settings.client_cpus}; "
        "median of rounds"
    )
    print(f"\n{header}\n")
    print(table(results, settings))
    print(
        "\np99 from wrk --latency (none for pipelined: wrk's percentiles are wrong with pipelining). spread: "
        "(max - min) / median over rounds. server CPU: CPUs the server's processes used; other CPU: the most "
        "that all other processes used during one timed run (wrk itself not counted)."
    )
    print("\nDESIGN.md targets (wirespeed):")
    print(targets_text([check for check in checks if check["group"] == "design"]))
    print("\nASGI mode targets (wirespeed-asgi against its peers, the same ASGI app on each):")
    print(targets_text([check for check in checks if check["group"] == "asgi"]))
    if "wirespeed-accesslog" in settings.servers:
        print("\nThe access log's cost (wirespeed-accesslog, its lines to a file, against wirespeed with it off):")
        print(targets_text([check for check in checks if check["group"] == "logging"]))
    if WS & set(settings.workloads):
        print("\nWebSocket workloads (benches/ws_load.py; the same echo on every server):\n")
        print(ws_table(results, settings))
        print(
            "\nmessages/s: messages echoed back and checked byte for byte; MiB/s: their payload. × limit: against "
            "ws-limit, a uvloop TCP echo of the same client bytes without WebSocket (no handshake, framing or "
            "unmasking). client CPU: the load generator's own CPU use over the timed run (100 % = its whole CPU); "
            f"from {CLIENT_BOUND:.0%} on it sets the pace (client-bound) and the server's figure is a lower bound."
        )
        if memcpy_gib_s is not None:
            print(
                f"\nmemcpy of a 1 MiB buffer on the client CPU: {memcpy_gib_s:.1f} GiB/s. An echo copies each byte "
                "twice on each side (into the kernel, out of it), so no echo over the loopback can pass half of "
                "that; ws-limit also pays the loopback's TCP and the client's checks."
            )
        print("\nWebSocket targets (wirespeed and wirespeed-asgi against the peers and the limit):")
        print(targets_text([check for check in checks if check["group"] == "ws"]))
    if statics:
        print("\nStatic files against nginx (same run):")
        print(static_text(statics, results))
    if skipped:
        print("\nSkipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    if ws_skipped:
        print("\nSkipped on the WebSocket workloads: " + "; ".join(f"{k}: {v}" for k, v in ws_skipped.items()))
    noisy = [s for s in samples if (s.other_cpu or 0.0) > NOISE_CPU]
    if noisy:
        worst = max(s.other_cpu or 0.0 for s in noisy)
        print(
            f"\nWARNING: other processes used more than {NOISE_CPU:.0%} of a CPU during {len(noisy)} of "
            f"{len(samples)} timed runs (up to {worst:.0%} of a CPU): those figures are disturbed, the ratios too"
        )
    if pipeline_check["ok"] is None:
        print("\npipelining check: not run (no pipelined workload)")
    else:
        print(
            f"\npipelining check: wrk counted {pipeline_check.get('wrk_requests')} responses, server answered "
            f"{pipeline_check.get('server_answered')} -> {'ok' if pipeline_check['ok'] else 'FAILED'}"
        )

    settings.out.mkdir(parents=True, exist_ok=True)
    document = {
        "date": date,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "elapsed_s": round(elapsed, 1),
        "settings": {
            **dataclasses.asdict(settings),
            "out": str(settings.out),
            "pipeline_depth": PIPELINE_DEPTH,
            "wrk": f"wrk -t1 -c{settings.connections} --latency",
        },
        "machine": machine_info(),
        "versions": versions,
        "pipeline_check": pipeline_check,
        "waited_for_quiet_s": round(gate.waited, 1),
        "memcpy_1mib_gib_s": memcpy_gib_s,
        "disturbed_runs": len(noisy),
        "skipped": skipped,
        "ws_skipped": ws_skipped,
        "labels": {name: SERVERS[name].label for name in settings.servers},
        "workload_labels": {
            name: SERVERS[name].workload_labels for name in settings.servers if SERVERS[name].workload_labels
        },
        "results": results,
        "targets": checks,
        "static_vs_nginx": statics,
        "samples": [
            {
                "round": s.round,
                "server": s.server,
                "workload": s.workload,
                "error": s.error,
                "server_cpu": s.server_cpu,
                "other_cpu": s.other_cpu,
                **(dataclasses.asdict(s.result) if s.result else {}),
            }
            for s in samples
        ],
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {json_path.relative_to(Path.cwd()) if json_path.is_relative_to(Path.cwd()) else json_path}")
    if settings.chart:
        try:
            chart(results, settings, png_path, header)
            print(f"wrote {png_path.relative_to(Path.cwd()) if png_path.is_relative_to(Path.cwd()) else png_path}")
        except ImportError:
            log("note: matplotlib is not installed; no chart (make bench installs it)")
    print(f"took {elapsed:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
