"""`http.response.pathsend` takes the zero-copy path: under strace, the file's bytes go out
with sendfile(2) and never through a write-like call.

Strategy: a real `wirespeed` process serving a Starlette app whose FileResponse uses the
pathsend extension runs under strace; a raw socket reads the file back whole, and the trace
must show sendfile carrying exactly the file's bytes. Both parser backends.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import pytest
from http_wire import Connection
from processes import (
    STRACE,
    WRITE_CALLS,
    child_pid,
    free_port,
    start_cli,
    stop_cli,
    traced_bytes,
)

SIZE = 3 * 1024 * 1024


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make test must install it)")
def test_pathsend_goes_out_with_sendfile(backend: str, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "pathsend_app.py").write_text(
        textwrap.dedent(
            f"""
            from starlette.applications import Starlette
            from starlette.responses import FileResponse
            from starlette.routing import Route

            async def big(request):
                assert "http.response.pathsend" in request.scope["extensions"]
                return FileResponse({str(tmp_path / "big.bin")!r})

            app = Starlette(routes=[Route("/big", big)])
            """
        )
    )
    trace_file = tmp_path / "trace.txt"
    calls_traced = "trace=sendfile," + ",".join(WRITE_CALLS)
    assert STRACE is not None
    wrapper = [STRACE, "-f", "-qq", "-s", "0", "-e", "signal=none", "-e", calls_traced, "-o", str(trace_file)]
    port = free_port()
    process, _ = start_cli(
        "pathsend_app:app", "--port", str(port), "--parser", backend, cwd=tmp_path, wrapper=wrapper, timeout=30
    )
    try:
        with Connection(port, timeout=15) as connection:
            connection.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
            response = connection.read_response()
    finally:
        exit_code = stop_cli(process, child_pid(process.pid))
    assert exit_code == 0
    assert response.status == 200 and response.header("content-length") == str(SIZE)
    assert hashlib.sha256(response.body).digest() == hashlib.sha256(data).digest()
    calls = traced_bytes(trace_file.read_text())
    sent = sum(calls.get("sendfile", []))
    written = [count for call in WRITE_CALLS for count in calls.get(call, [])]
    assert sent == SIZE, f"sendfile carried {sent} bytes of {SIZE}"
    assert max(written, default=0) < 64 * 1024, f"a write-like call carried {max(written)} bytes"
