"""Two servers compared by many short, paired runs: a ratio that this machine's drift does not move.

Strategy: this module owns the A/B measurement of one workload. Both servers are started once,
pinned to the same server CPUs (only the one under load uses them) and checked as `make bench`
checks them; then wrk (pinned to the client CPUs) times them in turn, in short runs
(--duration seconds each), for --pairs pairs, the order inside a pair alternating. Each pair
gives a ratio, B's requests a second over A's. The speed of these shared machines drifts by
20-40 % between the 10-second rounds of `make bench`, which moves a median of rounds taken
minutes apart; two runs a few seconds apart see nearly the same machine, so the drift cancels
in their ratio. The report is the median of the pairs' ratios with its interquartile range,
and each side's median; the raw runs go to benches/results/<date>-paired-<a>-<b>-<workload>.json.

    python benches/paired.py wirespeed wirespeed-accesslog [--workload plaintext] [--pairs 40]
                             [--duration 2] [--warmup 2] [--server-cpus 0] [--client-cpus 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path

from harness import HOST, BenchError, ServerProcess, free_port, machine_info, run_wrk
from serverdefs import SERVERS, WORKLOADS, verify


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("a", choices=sorted(SERVERS), help="the reference server")
    parser.add_argument(
        "b", choices=sorted(SERVERS), help="the server compared with it (ratio b / a)"
    )
    parser.add_argument(
        "--workload", default="plaintext", help="one of `make bench`'s wrk workloads"
    )
    parser.add_argument(
        "--pairs", type=int, default=40, help="pairs of runs (default 40)"
    )
    parser.add_argument(
        "--duration", type=float, default=2.0, help="seconds per run (default 2)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of warm-up per server (default 2)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results"
    )
    args = parser.parse_args(argv)
    spec = WORKLOADS.get(args.workload)
    if spec is None or spec.ws is not None:
        parser.error(
            f"--workload: a wrk workload of {', '.join(n for n, w in WORKLOADS.items() if w.ws is None)}"
        )
    for name in (args.a, args.b):
        if args.workload not in SERVERS[name].workloads:
            parser.error(f"{name} does not serve {args.workload}")
        reason = SERVERS[name].unavailable()
        if reason:
            parser.error(f"{name} is unavailable: {reason}")
    if args.pairs < 2 or args.duration < 1:
        parser.error("--pairs must be at least 2 and --duration at least 1")
    return args


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    first, median, third = statistics.quantiles(values, n=4, method="inclusive")
    return first, median, third


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = WORKLOADS[args.workload]
    names = (args.a, args.b)
    runs: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="wirespeed-paired-") as directory:
        scratch = Path(directory)
        processes: dict[str, ServerProcess] = {}
        try:
            for name in names:
                port = free_port()
                process = ServerProcess(
                    name,
                    SERVERS[name].argv(port, args.workload, scratch),
                    args.server_cpus,
                    port,
                    scratch / f"{name}.log",
                )
                processes[name] = process
                process.wait_ready()
                verify(
                    args.workload,
                    port,
                    fixed_response=SERVERS[name].fixed_response,
                    scratch=scratch,
                )

            def timed(name: str, seconds: float) -> float:
                process = processes[name]
                result, _ = run_wrk(
                    f"{spec.scheme}://{HOST}:{process.port}{spec.path}",
                    seconds,
                    args.client_cpus,
                    connections=args.connections,
                    script=spec.script,
                    script_args=spec.script_args,
                    latency=False,
                )
                if result.errors or not process.alive():
                    raise BenchError(
                        f"{name}: {result.error_text() or 'died'}\n{process.log_tail()}"
                    )
                return result.rps

            for name in names:
                timed(name, args.warmup)
            for pair in range(args.pairs):
                for name in names if pair % 2 == 0 else names[::-1]:
                    runs[name].append(timed(name, args.duration))
                ratio = runs[args.b][-1] / runs[args.a][-1]
                print(
                    f"pair {pair + 1:>3}/{args.pairs}: {args.a} {runs[args.a][-1]:>10,.0f}  "
                    f"{args.b} {runs[args.b][-1]:>10,.0f} req/s  ratio {ratio:.3f}",
                    flush=True,
                )
        except BenchError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            for process in processes.values():
                process.stop()

    ratios = [b / a for a, b in zip(runs[args.a], runs[args.b], strict=True)]
    low, median, high = quartiles(ratios)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(
        f"\n{args.workload}: {args.b} / {args.a} = {median:.3f} (median of {args.pairs} pairs of "
        f"{args.duration:g} s runs; interquartile range {low:.3f}-{high:.3f}); medians {args.a} "
        f"{medians[args.a]:,.0f}, {args.b} {medians[args.b]:,.0f} req/s"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = (
        args.out
        / f"{dt.date.today().isoformat()}-paired-{args.a}-{args.b}-{args.workload}.json"
    )
    path.write_text(
        json.dumps(
            {
                "command": " ".join(
                    ["benches/paired.py", *(argv if argv is not None else sys.argv[1:])]
                ),
                "machine": machine_info(),
                "workload": args.workload,
                "a": args.a,
                "b": args.b,
                "duration": args.duration,
                "runs": runs,
                "ratios": ratios,
                "ratio_quartiles": [low, median, high],
                "medians": medians,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
