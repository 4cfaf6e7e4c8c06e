"""REDbot's verdict on wirespeed's static files (`make redbot`).

This module owns one check: start `wirespeed --static DIR` on a free port over a small tree
(a text file, a binary file above the small-file cache threshold, an index.html at the root
and in a subdirectory, a script with a .gz sibling), point REDbot (https://redbot.org, the
`redbot` package on PyPI) at a few of its URLs, print every note REDbot makes, and fail when
one of them is "bad" about Content-Length, conditional requests (ETag, Last-Modified, 304
validation) or partial content (ranges).

REDbot lives in its own venv (`make redbot` creates .venv-redbot) so its dependencies never
mix with ours. Its command line, `redbot URL`, cannot send request headers, so this script
drives REDbot's library instead (the same `HttpResource` the command line uses): it runs
itself with `--probe URL [--header 'Name: value']` under the REDbot venv's Python, which
prints REDbot's findings for one URL as JSON. For every URL REDbot also makes its own
follow-up requests: If-None-Match with the ETag, If-Modified-Since with Last-Modified, a
Range for a piece of the body, and Accept-Encoding: gzip, and it judges those answers too.

    .venv/bin/python benches/redbot_check.py [--redbot-python .venv-redbot/bin/python] [-v]

Exit status: 0 when no such bad note, 1 when there is one (or REDbot could not fetch a URL or
got an unexpected status), 2 when REDbot or wirespeed could not be run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
DEFAULT_REDBOT_PYTHON = REPO / ".venv-redbot" / "bin" / "python"
# Files get this mtime (2024-01-02 03:04:05 UTC), so Last-Modified is a plain past date.
MTIME = 1704164645


@dataclasses.dataclass(frozen=True)
class Check:
    title: str
    path: str
    status: int  # what the first answer must be
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "GET"


CHECKS = (
    Check("text file", "/hello.txt", 200),
    Check("binary file, 256 KiB (above the small-file cache threshold: sendfile)", "/data.bin", 200),
    Check("binary file, Range request", "/data.bin", 206, (("Range", "bytes=1000-1999"),)),
    Check("text file, Range request", "/hello.txt", 206, (("Range", "bytes=-10"),)),
    Check("script with a .gz sibling (REDbot's gzip check gets the sibling)", "/app.js", 200),
    Check("script, its gzip representation", "/app.js", 200, (("Accept-Encoding", "gzip"),)),
    Check("binary file, HEAD", "/data.bin", 200, method="HEAD"),
    Check("directory: its index.html", "/docs/", 200),
    Check("directory without the slash: a redirect", "/docs", 301),
    Check("the root: its index.html", "/", 200),
)


def write_tree(root: Path) -> None:
    """The files REDbot looks at, with fixed content and a fixed mtime."""
    script = b"".join(b"export function f%d(x) { return x + %d; }\n" % (i, i) for i in range(400))
    page = b"<!doctype html>\n<html><head><title>%s</title></head><body>\n%s</body></html>\n"
    paragraph = b"<p>Served by wirespeed's StaticFiles for REDbot to look at.</p>\n" * 4
    files = {
        "hello.txt": b"Hello from wirespeed's static files.\n" * 40,
        "data.bin": bytes(range(256)) * 1024,
        # Longer than the 97 bytes REDbot may ask for in its Range check, which it reads as
        # "206 as long as the whole" (a warning) when the file is shorter.
        "index.html": page % (b"root", paragraph),
        "docs/index.html": page % (b"docs", paragraph),
        "app.js": script,
        "app.js.gz": gzip.compress(script, compresslevel=9, mtime=0),
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (MTIME, MTIME))


# --- the probe: runs under the REDbot venv's Python ---------------------------------------------


def probe(url: str, method: str, headers: list[tuple[str, str]], timeout: float) -> dict[str, Any]:
    """REDbot's findings for one URL: the answer, its notes and the follow-up requests."""
    import random
    from configparser import ConfigParser

    import thor  # type: ignore[import-not-found]
    from redbot.resource import HttpResource  # type: ignore[import-not-found]

    random.seed(0)  # REDbot picks the Range it asks for at random
    parser = ConfigParser()
    parser.read_dict({"redbot": {"enable_local_access": "True"}})
    resource = HttpResource(parser["redbot"])
    resource.set_request(url, method, headers=headers)
    resource.on("check_done", thor.stop)
    timer = thor.schedule(timeout, thor.stop)
    resource.check()
    thor.run()
    timer.delete()

    def note_dict(note: Any) -> dict[str, Any]:
        return {
            "name": type(note).__name__,
            "category": note.category.name,
            "level": note.level.value,
            "subject": note.subject,
            "summary": str(note.summary),
            "subnotes": [note_dict(sub) for sub in note.subnotes],
        }

    response = resource.response
    subrequests = {}
    for check_id, sub in resource.subreqs.items():
        if not sub.fetch_started:
            continue  # not made (its preflight said no)
        subrequests[check_id] = {
            "request_headers": list(sub.request.headers.text),
            "status": sub.response.status_code,
            "headers": list(sub.response.headers.text),
            "error": sub.fetch_error.desc if sub.fetch_error else None,
        }
    return {
        "url": url,
        "method": method,
        "request_headers": headers,
        "finished": resource.check_done,
        "status": response.status_code,
        "headers": list(response.headers.text),
        "error": f"{resource.fetch_error.desc} {resource.fetch_error.detail or ''}".strip()
        if resource.fetch_error
        else None,
        "notes": [note_dict(note) for note in response.notes],
        "support": {
            "partial content": resource.partial_support,
            "If-None-Match": resource.inm_support,
            "If-Modified-Since": resource.ims_support,
            "gzip": resource.gzip_support,
        },
        "subrequests": subrequests,
    }


# --- the check: runs under the project's venv ---------------------------------------------------

SUPPORT = {  # REDbot's follow-up request -> what it tells
    "etag_validate": "If-None-Match",
    "lm_validate": "If-Modified-Since",
    "range": "partial content",
    "conneg": "gzip",
}
LEVEL_MARK = {"bad": "BAD ", "warning": "WARN", "good": "good", "info": "info"}


def is_failure(note: dict[str, Any]) -> bool:
    """A bad note about Content-Length, validation (conditional requests) or partial content.

    By category (Validation, Partial Content), or by what it is about: its subject (the header
    field, "field-content-length") or its name (CL_INCORRECT, VARY_ETAG_DOESNT_CHANGE, ...).
    """
    if note["level"] != "bad":
        return False
    about = f"{note['name']} {note['subject']}".lower().replace("_", "-")
    return note["category"] in ("VALIDATION", "RANGE") or any(
        word in about
        for word in ("content-length", "cl-", "etag", "last-modified", "lm-", "inm-", "ims-", "range", "304")
    )


def flatten(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for note in notes:
        out.append(note)
        out.extend(flatten(note["subnotes"]))
    return out


def run_probe(redbot_python: Path, url: str, check: Check, timeout: float) -> dict[str, Any]:
    argv = [str(redbot_python), str(Path(__file__).resolve()), "--probe", url, "--timeout", str(timeout)]
    argv += ["--method", check.method]
    for name, value in check.headers:
        argv += ["--header", f"{name}: {value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"REDbot failed on {url} ({done.returncode}):\n{done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def report(check: Check, result: dict[str, Any], verbose: bool) -> list[str]:
    """Print REDbot's findings for one URL; return the problems that fail the check."""
    problems = []
    sent = "".join(f" [{n}: {v}]" for n, v in check.headers)
    print(f"\n=== {check.title}: {check.method} {check.path}{sent}")
    if result["error"] or not result["finished"]:
        problem = f"{check.path}: REDbot could not finish ({result['error'] or 'timed out'})"
        print(f"  ERROR: {problem}")
        problems.append(problem)
    print(f"  HTTP {result['status']}")
    for name, value in result["headers"]:
        print(f"    {name}: {value.strip()}")
    if result["status"] != check.status:
        problem = f"{check.path}{sent}: answered {result['status']}, expected {check.status}"
        print(f"  UNEXPECTED: {problem}")
        problems.append(problem)
    if verbose:
        for check_id, sub in result["subrequests"].items():
            asked = ", ".join(f"{n}: {v}" for n, v in sub["request_headers"] if n.lower() != "user-agent")
            print(f"  REDbot's {check_id} request [{asked}] -> {sub['status']}{' ' + sub['error'] if sub['error'] else ''}")
    support = ", ".join(
        f"{what} {'yes' if result['support'][what] else 'no'}"
        for check_id, what in SUPPORT.items()
        if check_id in result["subrequests"]
    )
    print(f"  REDbot's verdict on its follow-up requests: {support or 'none made'}")
    by_category: dict[str, list[dict[str, Any]]] = {}
    for note in result["notes"]:
        by_category.setdefault(note["category"], []).append(note)
    for category, notes in by_category.items():
        print(f"  * {category.title()}")
        for note in notes:
            print(f"    [{LEVEL_MARK.get(note['level'], note['level'])}] {note['summary']}  ({note['name']})")
            for sub in flatten(note["subnotes"]):
                print(f"        [{LEVEL_MARK.get(sub['level'], sub['level'])}] {sub['summary']}  ({sub['name']})")
    for note in flatten(result["notes"]):
        if is_failure(note):
            problems.append(f"{check.path}{sent}: {note['summary']} ({note['name']}, {note['category']})")
    return problems


def main_check(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(BENCHES))
    from harness import BenchError, ServerProcess, free_port
    from serverdefs import wirespeed_static_argv

    redbot_python = Path(args.redbot_python)
    if not redbot_python.exists():
        print(f"error: no REDbot venv at {redbot_python} (make redbot creates it)", file=sys.stderr)
        return 2
    cpus = ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
    with tempfile.TemporaryDirectory(prefix="wirespeed-redbot-") as tmp:
        root = Path(tmp) / "www"
        write_tree(root)
        port = free_port()
        argv = wirespeed_static_argv(root, port)
        print("$ " + " ".join(argv))
        server = ServerProcess("wirespeed", argv, cpus, port, Path(tmp) / "wirespeed.log")
        problems: list[str] = []
        counts: dict[str, int] = {}
        try:
            server.wait_ready()
            for check in CHECKS:
                result = run_probe(redbot_python, f"http://127.0.0.1:{port}{check.path}", check, args.timeout)
                problems += report(check, result, args.verbose)
                for note in flatten(result["notes"]):
                    counts[note["level"]] = counts.get(note["level"], 0) + 1
            if not server.alive():
                problems.append("wirespeed exited during the checks:\n" + server.log_tail())
        except (BenchError, RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            print(f"error: {error}", file=sys.stderr)
            print(server.log_tail(), file=sys.stderr)
            return 2
        finally:
            server.stop()
            log_text = (Path(tmp) / "wirespeed.log").read_text(errors="replace").splitlines()[1:]
    if log_text:
        print("\nwirespeed's log:\n  " + "\n  ".join(log_text[-20:]))
    version = subprocess.run(
        [str(redbot_python), "-c", "from importlib.metadata import version as v; print(v('redbot'), v('httplint'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    tally = ", ".join(f"{counts.get(level, 0)} {level}" for level in ("bad", "warning", "good", "info"))
    print(f"\nREDbot {' / httplint '.join(version)}: {len(CHECKS)} URLs, notes: {tally}")
    if problems:
        print("FAILED: bad notes about Content-Length, validation or partial content, or broken fetches:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("ok: no bad note about Content-Length, validation or partial content")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redbot-python", default=str(DEFAULT_REDBOT_PYTHON), help="Python of the REDbot venv")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds REDbot may take per URL")
    parser.add_argument("-v", "--verbose", action="store_true", help="also show REDbot's follow-up requests")
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--header", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--method", default="GET", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        headers = [tuple(part.strip() for part in h.split(":", 1)) for h in args.header]
        print(json.dumps(probe(args.probe, args.method, headers, args.timeout)))  # type: ignore[arg-type]
        return 0
    return main_check(args)


if __name__ == "__main__":
    sys.exit(main())
