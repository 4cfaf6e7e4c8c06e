"""Serve one request with an installed `wirespeed` command, the check that an installed
package works (`make wheel`, `make sdist-check`, the wheels workflow's test jobs).

Strategy: this script owns nothing of the server; it only drives the command as a user would.
It runs `wirespeed --version`, starts `wirespeed` (the demo) on an ephemeral port of
127.0.0.1, reads the address and the backends from its "serving on" line, fetches `/` and a
static file of the demo with curl (urllib where there is no curl), stops it with SIGTERM
(Windows: terminate) and fails (exit 1, with the server's output) unless every step went
right. `--expect-parser` and `--expect-loop` check the backends the server said it uses.

    python tests/deploy/serve_once.py VENV/bin/wirespeed --expect-parser rust
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

# The demo's static file, as in this checkout: the installed copy must be served byte for byte.
HELLO = (Path(__file__).resolve().parents[2] / "python" / "wirespeed" / "demo_static" / "hello.txt").read_bytes()
SERVING = re.compile(r"serving on (http://\S+) \(parser: (\w+), loop: (\w+)\)")


def fetch(url: str) -> tuple[int, bytes, str]:
    """(status, body, client) of a GET of `url`: curl when installed, else urllib."""
    curl = shutil.which("curl")
    if curl:
        result = subprocess.run(
            [curl, "--silent", "--show-error", "--max-time", "10", "--output", "-", "--write-out",
             "\n%{http_code}", url],
            capture_output=True, check=True, timeout=20,
        )
        body, _, status = result.stdout.rpartition(b"\n")
        return int(status), body, "curl"
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), response.read(), "urllib"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", help="the wirespeed command to run (a path, or a name on PATH)")
    parser.add_argument("--expect-parser", choices=("rust", "httptools"))
    parser.add_argument("--expect-loop", choices=("uvloop", "asyncio"))
    args = parser.parse_args()

    version = subprocess.run([args.command, "--version"], capture_output=True, text=True, check=False, timeout=60)
    print(version.stdout.strip() or version.stderr.strip())
    if version.returncode != 0:
        return 1

    server = subprocess.Popen(
        [args.command, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    serving = threading.Event()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if SERVING.search(line):
                serving.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    failures: list[str] = []
    try:
        if not serving.wait(30):
            failures.append("no 'serving on' line within 30 s")
        else:
            match = next(SERVING.search(line) for line in lines if SERVING.search(line))
            assert match is not None
            url, parser_name, loop = match.groups()
            print(f"serving on {url} with parser {parser_name}, loop {loop}")
            if args.expect_parser and parser_name != args.expect_parser:
                failures.append(f"parser {parser_name}, expected {args.expect_parser}")
            if args.expect_loop and loop != args.expect_loop:
                failures.append(f"loop {loop}, expected {args.expect_loop}")
            for path, expected in (("/", None), ("/static/hello.txt", HELLO)):
                status, body, client = fetch(url + path)
                print(f"GET {path} ({client}): {status}, {len(body)} bytes")
                if status != 200 or (b"<h1>wirespeed</h1>" not in body if expected is None else body != expected):
                    failures.append(f"GET {path}: status {status}, body {body[:80]!r}")
    finally:
        if server.poll() is None:
            if os.name == "nt":
                server.terminate()
            else:
                server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
            failures.append("the server did not stop within 30 s of SIGTERM")
        reader.join(5)
    if code != 0 and os.name != "nt":
        failures.append(f"the server exited with code {code}")
    if failures:
        print("".join(lines), file=sys.stderr)
        for failure in failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print("ok: served and stopped cleanly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
