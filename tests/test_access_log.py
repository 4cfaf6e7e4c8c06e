"""The access log: its lines as a user of the command line sees them, and its format compiler.

Strategy: this module owns the access log's behaviour end to end. A real `wirespeed` process
(tests/processes.py) serves a small app written into the test's directory, on both parser
backends; real clients (httpx, curl, raw sockets for what clients refuse to send, a raw
WebSocket handshake) make requests, and the lines the process prints (stdout, the default) or
writes (a file, through --log-config) are read back: the combined line exactly, JSON lines,
every kind of answer (handlers, 404, parser errors, static files, HEAD, streams, ASGI, 101),
pipelined requests in order, the lines still pending at SIGTERM, and the switches that turn
it off. The format compiler is tested alone with a table of every variable, and the native
line maker of the default formats (`access_sink`, `recording`) against the Python batch function
(a hypothesis differential), with its fallback, its time and its batches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import wirespeed
from http_wire import Connection
from hypothesis import given, settings
from hypothesis import strategies as st
from processes import OutputCollector, free_port, start_cli, stop_cli, wait_until
from wirespeed import _parser as native
from wirespeed import access_log
from wirespeed.access_log import (
    PRESETS,
    VARIABLES,
    AccessLog,
    LoggingResponseWriter,
    _Clock,
    compile_batch,
    compile_format,
    escape,
    parse_format,
)
from wirespeed.config import Config
from wirespeed.request import Request
from wirespeed.server import ServerState
from wirespeed.writer import ResponseWriter
from ws_wire import WsConnection

APP = textwrap.dedent(
    '''
    import asyncio
    import wirespeed

    app = wirespeed.App()

    @app.get("/")
    def hello(request):
        return "hello"

    @app.get("/status/{code}")
    def status(request, code):
        return wirespeed.Response("status body", status=int(code))

    @app.get("/stream")
    def stream(request):
        async def pieces():
            yield b"ab"
            await asyncio.sleep(0.01)
            yield b"cde"
        return wirespeed.StreamingResponse(pieces())

    @app.get("/slow")
    async def slow(request):
        await asyncio.sleep(0.25)
        return "slow"

    @app.get("/slow-stream")
    def slow_stream(request):
        async def pieces():
            yield b"first"
            await asyncio.sleep(0.3)
            yield b"last"
        return wirespeed.StreamingResponse(pieces())

    @app.websocket("/ws")
    async def ws(socket):
        await socket.accept()
        async for message in socket:
            await socket.send(message)

    app.static("/files", "files")
    '''
)

ASGI_APP = textwrap.dedent(
    '''
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b"1234", "more_body": True})
            await send({"type": "http.response.body", "body": b"56"})
            return
        await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"asgi!"})
    '''
)

SMALL_FILE = bytes(range(256)) * 12  # 3 KiB: kept in memory by the static cache
BIG_FILE = bytes(range(256)) * 800  # 200 KiB: larger than the cache's files, sent with sendfile

COMBINED = re.compile(
    r'^(?P<addr>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "logged_app.py").write_text(APP)
    (tmp_path / "logged_asgi.py").write_text(ASGI_APP)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "small.bin").write_bytes(SMALL_FILE)
    (tmp_path / "files" / "big.bin").write_bytes(BIG_FILE)
    return tmp_path


@dataclass
class Served:
    port: int
    process: Any
    output: OutputCollector

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self, pattern: str = r"^127\.0\.0\.1 ") -> list[str]:
        """The access lines printed so far (the other log lines have a timestamp first)."""
        return [line.rstrip("\n") for line in list(self.output.lines) if re.match(pattern, line)]

    def wait_lines(self, count: int, pattern: str = r"^127\.0\.0\.1 ", timeout: float = 5) -> list[str]:
        assert wait_until(lambda: len(self.lines(pattern)) >= count, timeout), self.output.text[-3000:]
        return self.lines(pattern)


@contextmanager
def serving(directory: Path, backend: str, *args: str) -> Iterator[Served]:
    """`wirespeed ARGS` run in `directory` on the backend; stopped (SIGTERM, exit 0) after."""
    port = free_port()
    process, _ = start_cli(*args, "--port", str(port), "--parser", backend, cwd=directory)
    served = Served(port, process, OutputCollector(process))
    try:
        yield served
    finally:
        code = stop_cli(process)
        served.output.join()
        assert code == 0, served.output.text[-3000:]


def parsed(line: str) -> dict[str, str]:
    match = COMBINED.match(line)
    assert match is not None, line
    return match.groupdict()


# -- the default line, and every kind of answer
def test_combined_lines_for_every_kind_of_answer(site: Path, backend: str) -> None:
    with serving(site, backend, "logged_app:app", "--max-head-size", "2048") as served:
        with Connection(served.port) as raw:
            # User-Agent and Referer with a quote, a backslash, a tab (the one control byte a
            # field value may hold, RFC 9110 §5.5) and a byte past ASCII, sent raw: escaped as
            # nginx does.
            raw.send(
                b'GET /?a=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: agent "x"\\\tz\r\n'
                b"Referer: http://ref/\xe9\r\n\r\n"
            )
            assert raw.read_response().status == 200
        with httpx.Client(base_url=served.url) as client:
            assert client.get("/missing").status_code == 404
            assert client.get("/status/503").status_code == 503
            assert client.get("/stream").content == b"abcde"
            assert client.get("/files/small.bin").content == SMALL_FILE
            assert client.get("/files/big.bin").content == BIG_FILE
            assert client.head("/").status_code == 200
        with WsConnection(served.port) as ws:
            ws.open("/ws")
        curl = shutil.which("curl")
        if curl is not None:  # curl's own User-Agent, as it sends it
            subprocess.run([curl, "-s", "-o", "/dev/null", "-e", "http://from/", served.url + "/status/201"], check=True)
        lines = served.wait_lines(9 if curl else 8)

    first = parsed(lines[0])
    assert first["request"] == "GET /?a=1 HTTP/1.1"
    assert (first["status"], first["body"]) == ("200", "5")
    assert first["agent"] == "agent \\x22x\\x22\\x5C\\x09z"
    assert first["referer"] == "http://ref/\\xE9"
    assert re.match(r"^127\.0\.0\.1 - - \[", lines[0])
    expected = [
        ("GET /missing HTTP/1.1", "404", None),
        ("GET /status/503 HTTP/1.1", "503", str(len("status body"))),
        ("GET /stream HTTP/1.1", "200", "5"),
        ("GET /files/small.bin HTTP/1.1", "200", str(len(SMALL_FILE))),
        ("GET /files/big.bin HTTP/1.1", "200", str(len(BIG_FILE))),
        ("HEAD / HTTP/1.1", "200", "0"),
        ("GET /ws HTTP/1.1", "101", "0"),
    ]
    for line, (request, status, body) in zip(lines[1:8], expected, strict=True):
        fields = parsed(line)
        assert (fields["request"], fields["status"]) == (request, status), line
        if body is not None:
            assert fields["body"] == body, line
        assert fields["agent"].startswith("python-httpx/") or request == "GET /ws HTTP/1.1", line
        assert fields["referer"] == "-"
    if curl is not None:
        fields = parsed(lines[8])
        assert (fields["request"], fields["status"], fields["referer"]) == ("GET /status/201 HTTP/1.1", "201", "http://from/")
        assert fields["agent"].startswith("curl/")


def test_parser_errors_are_logged_and_serving_goes_on(site: Path, backend: str) -> None:
    """nginx logs the requests it refuses: a 400 for garbage, a 431 for a head over the
    limit; the request line is "-" (no request was read). Everyone else is served after."""
    with serving(site, backend, "logged_app:app", "--max-head-size", "1024") as served:
        with Connection(served.port) as raw:
            raw.send(b"GARBAGE\r\n\r\n")  # RFC 9112 §3: not a request line -> 400
            assert raw.read_response().status == 400
        with Connection(served.port) as raw:
            raw.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")  # over the head limit
            assert raw.read_response().status == 431
        assert httpx.get(served.url + "/").text == "hello"
        lines = served.wait_lines(3)
    rows = [parsed(line) for line in lines]
    assert [(row["request"], row["status"]) for row in rows] == [
        ("-", "400"),
        ("-", "431"),
        ("GET / HTTP/1.1", "200"),
    ]
    assert int(rows[0]["body"]) > 0  # the error's plain-text detail


def test_pipelined_requests_logged_once_each_in_order(site: Path, backend: str) -> None:
    """Requests in one buffer, answered inline (the fast path), after a Task (a suspending
    handler) and from the queue behind it: one line each, in the order they were sent, with
    $connection_requests counting them on the connection."""
    fmt = "$request_uri $status $connection $connection_requests $request_time"
    with serving(site, backend, "logged_app:app", "--access-log-format", fmt) as served:
        targets = ["/?n=1", "/slow", "/?n=3", "/status/204", "/?n=5"]
        with Connection(served.port) as raw:
            raw.send(b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % t.encode() for t in targets))
            assert [raw.read_response().status for _ in targets] == [200, 200, 200, 204, 200]
        lines = served.wait_lines(5, pattern=r"^/")
    rows = [line.split() for line in lines]
    assert [row[0] for row in rows] == targets
    assert [row[3] for row in rows] == ["1", "2", "3", "4", "5"]
    assert len({row[2] for row in rows}) == 1  # one connection
    times = [float(row[4]) for row in rows]
    assert 0.2 <= times[1] < 5  # /slow slept 0.25 s
    assert times[2] >= 0.2  # it waited behind /slow since it arrived
    assert times[0] < 0.2


def test_format_variables_end_to_end(site: Path, backend: str) -> None:
    fmt = (
        "[$remote_addr] [$remote_port] [$request_method] [$request_uri] [$uri] [$args] [$server_protocol] "
        "[$status] [$body_bytes_sent] [$bytes_sent] [$http_x_trace_id] [$host] [$pid] [$msec] "
        "[$time_iso8601] [${status}x] [$$] [$remote_user]"
    )
    with serving(site, backend, "logged_app:app", "--access-log-format", fmt) as served:
        before = time.time()
        response = httpx.get(served.url + "/status/202?x=1", headers={"X-Trace-Id": "abc-1", "Host": "Example.org:8080"})
        assert response.status_code == 202
        (line,) = served.wait_lines(1, pattern=r"^\[")
    fields = re.findall(r"\[([^\]]*)\]", line)
    assert fields[0] == "127.0.0.1"
    assert 0 < int(fields[1]) < 65536
    assert fields[2:8] == ["GET", "/status/202?x=1", "/status/202", "x=1", "HTTP/1.1", "202"]
    assert fields[8] == str(len("status body"))
    assert int(fields[9]) > int(fields[8]) + len("HTTP/1.1 202 Accepted\r\n")  # the head counts
    assert fields[10:12] == ["abc-1", "example.org"]
    assert fields[12] == str(served.process.pid)
    assert before - 1 <= float(fields[13]) <= time.time() + 1
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", fields[14])
    assert fields[15:] == ["202x", "$", "-"]


def test_json_lines(site: Path, backend: str) -> None:
    with serving(site, backend, "logged_app:app", "--access-log-format", "json") as served:
        httpx.get(served.url + "/missing", headers={"User-Agent": 'say "hi"\\', "Referer": "http://r/"})
        httpx.get(served.url + "/")
        lines = served.wait_lines(2, pattern=r"^\{")
    records = [json.loads(line) for line in lines]
    assert records[0]["status"] == 404 and records[1]["status"] == 200
    assert records[0]["request"] == "GET /missing HTTP/1.1"
    assert records[0]["method"] == "GET" and records[0]["uri"] == "/missing" and records[0]["protocol"] == "HTTP/1.1"
    assert records[0]["user_agent"] == 'say \\x22hi\\x22\\x5C'  # escaped as in every format
    assert records[0]["referer"] == "http://r/"
    assert records[1]["body_bytes_sent"] == 5 and records[1]["bytes_sent"] > 5
    assert records[1]["remote_addr"] == "127.0.0.1"
    assert isinstance(records[1]["request_time"], float) and 0 <= records[1]["request_time"] < 5
    assert records[1]["pid"] == served.process.pid
    assert re.match(r"^\d{4}-\d\d-\d\dT", records[1]["time"])


def test_asgi_app_lines(site: Path, backend: str) -> None:
    with serving(site, backend, "logged_asgi:app", "--interface", "asgi") as served:
        with httpx.Client(base_url=served.url) as client:
            assert client.get("/").text == "asgi!"  # answered whole, in the turn
            assert client.get("/stream").content == b"123456"  # sent in pieces
            assert client.head("/").status_code == 202
        with WsConnection(served.port) as ws:
            ws.open("/ws")
        lines = served.wait_lines(4)
    rows = [parsed(line) for line in lines]
    assert [(r["request"], r["status"], r["body"]) for r in rows] == [
        ("GET / HTTP/1.1", "202", "5"),
        ("GET /stream HTTP/1.1", "201", "6"),
        ("HEAD / HTTP/1.1", "202", "0"),
        ("GET /ws HTTP/1.1", "101", "0"),
    ]


def test_lines_pending_at_sigterm_are_written(site: Path, backend: str) -> None:
    """A streamed answer still going when SIGTERM comes is finished by the graceful shutdown;
    its line (made at its end, just before the exit) is in the output."""
    port = free_port()
    process, _ = start_cli("logged_app:app", "--port", str(port), "--parser", backend, cwd=site)
    output = OutputCollector(process)
    with Connection(port) as raw:
        raw.send(b"GET /slow-stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_until(lambda: b"first" in raw.buffer or raw._fill() and b"first" in raw.buffer, 5)
        os.kill(process.pid, 15)
        raw.read_until_close()
    assert process.wait(15) == 0
    output.join()
    lines = [line for line in output.lines if line.startswith("127.0.0.1 ")]
    assert len(lines) == 1 and '"GET /slow-stream HTTP/1.1" 200 9 ' in lines[0], output.text


# -- turning it off, and sending it elsewhere
def test_no_lines_with_no_access_log(site: Path, backend: str) -> None:
    with serving(site, backend, "logged_app:app", "--no-access-log") as served:
        for _ in range(3):
            assert httpx.get(served.url + "/").status_code == 200
        time.sleep(0.4)  # four timer periods
    assert served.lines() == []


def test_no_lines_at_log_level_warning(site: Path, backend: str) -> None:
    """At warning there is no startup line either: the port is polled instead."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wirespeed", "logged_app:app", "--port", str(port), "--parser", backend,
         "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=site,
    )
    output = OutputCollector(process)
    try:
        assert wait_until(lambda: _answers(port), 15), output.text
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        time.sleep(0.4)
    finally:
        assert stop_cli(process) == 0
        output.join()
    assert output.text == ""


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_log_config_routes_the_access_log_to_a_file(site: Path, backend: str) -> None:
    """The README's example file, as it is shown, but for the path of the log file."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (shown,) = [block for block in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if "wirespeed.access" in block]
    config = json.loads(shown)
    log_file = site / "access.log"
    config["handlers"]["access_file"]["filename"] = str(log_file)
    (site / "logging.json").write_text(json.dumps(config))
    with serving(site, backend, "logged_app:app", "--log-config", "logging.json") as served:
        httpx.get(served.url + "/")
        httpx.get(served.url + "/missing")
        assert wait_until(lambda: log_file.exists() and log_file.read_text().count("\n") >= 2, 5)
    lines = log_file.read_text().splitlines()
    assert [parsed(line)["status"] for line in lines] == ["200", "404"]
    assert served.lines() == []  # not on stdout or stderr


@pytest.mark.skipif(sys.platform != "linux", reason="fileConfig paths")
def test_log_config_ini(site: Path, backend: str) -> None:
    log_file = site / "access.log"
    (site / "logging.ini").write_text(
        textwrap.dedent(
            f"""
            [loggers]
            keys=root,access
            [handlers]
            keys=file,console
            [formatters]
            keys=bare
            [logger_root]
            level=INFO
            handlers=console
            [logger_access]
            level=INFO
            handlers=file
            propagate=0
            qualname=wirespeed.access
            [handler_console]
            class=StreamHandler
            args=(sys.stderr,)
            [handler_file]
            class=FileHandler
            formatter=bare
            args=({str(log_file)!r},)
            [formatter_bare]
            format=%(message)s
            """
        )
    )
    with serving(site, backend, "logged_app:app", "--log-config", "logging.ini") as served:
        httpx.get(served.url + "/status/418")
        assert wait_until(lambda: log_file.exists() and " 418 " in log_file.read_text(), 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--access-log-format", "$remote_addr $nope"], "unknown variable $nope"),
        (["--log-config", "missing.json"], "no such file"),
        (["--log-config", "broken.json"], "broken.json"),
        (["--log-config", "broken.ini"], "broken.ini"),
        (["--log-config", "list.json"], "dictConfig"),
    ],
    ids=["unknown-variable", "missing-file", "bad-json", "bad-ini", "not-a-mapping"],
)
def test_startup_errors_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "broken.ini").write_text("[loggers]\nkeys=nothing\n")
    (tmp_path / "list.json").write_text("[1, 2]")
    done = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--port", str(free_port()), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("wirespeed: error: "), done.stderr
    assert message in done.stderr


# -- the format compiler
class FakeConnection:
    """What a formatter reads of a connection (and a request of its connection)."""

    state = SimpleNamespace(proxy_trust=None)  # proxy headers off
    scheme = "http"

    def __init__(self, client: tuple[str, int] | None = ("10.1.2.3", 5555), number: int = 7) -> None:
        self.client = self.client_address = client
        self.number = number
        self.logged = 0
        self.began: tuple[Request, float] | None = None
        self.arrived: dict[int, float] | None = None


CONNECTION = FakeConnection()
REQUEST = Request.build(
    "GET",
    "/a%20b/c?x=1&y=2",
    1,
    [
        (b"host", b"Example.COM:8443"),
        (b"user-agent", b'ua "1"'),
        (b"referer", b"http://r/\x01"),
        (b"x-forwarded-for", b"1.2.3.4"),
    ],
    connection=CONNECTION,  # type: ignore[arg-type]
)
START, END = 1_700_000_000.25, 1_700_000_000.5
ARGS = (REQUEST, CONNECTION, 201, 42, 180, START, END, 3)

VARIABLE_CASES = [
    ("remote_addr", "10.1.2.3"),
    ("remote_port", "5555"),
    ("remote_user", "-"),
    ("time_local", time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(int(END)))),
    ("time_iso8601", None),  # checked below by pattern
    ("msec", "1700000000.500"),
    ("request", "GET /a%20b/c?x=1&y=2 HTTP/1.1"),
    ("request_method", "GET"),
    ("request_uri", "/a%20b/c?x=1&y=2"),
    ("uri", "/a%20b/c"),
    ("args", "x=1&y=2"),
    ("host", "example.com"),
    ("scheme", "http"),
    ("server_protocol", "HTTP/1.1"),
    ("status", "201"),
    ("body_bytes_sent", "42"),
    ("bytes_sent", "180"),
    ("request_time", "0.250"),
    ("connection", "7"),
    ("connection_requests", "3"),
    ("pid", str(os.getpid())),
]


def test_every_variable_is_in_the_table() -> None:
    assert {name for name, _ in VARIABLE_CASES} == set(VARIABLES)


@pytest.mark.parametrize(("name", "expected"), VARIABLE_CASES, ids=[name for name, _ in VARIABLE_CASES])
def test_variable(name: str, expected: str | None) -> None:
    value = compile_format(f"${name}")(*ARGS)
    if expected is None:
        assert re.match(r"^2023-11-1\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", value), value
    else:
        assert value == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("$http_user_agent", "ua \\x22" + "1\\x22"),
        ("$http_referer", "http://r/\\x01"),
        ("$http_x_forwarded_for", "1.2.3.4"),
        ("$http_x_missing", "-"),
        ("${http_host}", "Example.COM:8443"),
    ],
)
def test_header_variables(fmt: str, expected: str) -> None:
    assert compile_format(fmt)(*ARGS) == expected


def test_values_without_a_request_or_an_address() -> None:
    """The line for bytes that were no request (a parse error) and a Unix-socket peer."""
    line = compile_format("$remote_addr $remote_port $request $request_method $http_user_agent $server_protocol")
    assert line(None, FakeConnection(None), 400, 10, 100, START, END, 1) == "- - - - - -"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("$$", "$"),  # a doubled $ is one literal $
        ("cost: $$$status", "cost: $201"),
        ("a $ b", "a $ b"),  # a $ that starts no name is literal
        ("end $", "end $"),
        ("${status}ms", "201ms"),  # braces end a name where letters follow
        ("{$status}", "{201}"),  # braces of the format itself are literal
        ('"q" \\n', '"q" \\n'),  # quotes and backslashes of the format itself are literal
        ("", ""),
    ],
)
def test_literal_text(fmt: str, expected: str) -> None:
    assert compile_format(fmt)(*ARGS) == expected


@pytest.mark.parametrize("fmt", ["$nope", "$remote_addr $statusx", "${}", "${unknown_thing}", "$http_"])
def test_unknown_variable_is_an_error(fmt: str) -> None:
    with pytest.raises(ValueError, match="access_log_format"):
        compile_format(fmt)


def test_presets() -> None:
    combined = compile_format("combined")(*ARGS)
    assert combined.startswith("10.1.2.3 - - [")
    assert combined.endswith('] "GET /a%20b/c?x=1&y=2 HTTP/1.1" 201 42 "http://r/\\x01" "ua \\x221\\x22"')
    assert compile_format("common")(*ARGS) == combined.rsplit(' "http', 1)[0]
    record = json.loads(compile_format("json")(*ARGS))
    assert record["status"] == 201 and record["body_bytes_sent"] == 42 and record["request_time"] == 0.25
    assert record["connection"] == 7 and record["connection_requests"] == 3
    assert parse_format("common") == parse_format(PRESETS["common"])


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        (b"plain text", "plain text"),
        (b'"', "\\x22"),
        (b"\\", "\\x5C"),
        (b"\x00\x1f", "\\x00\\x1F"),
        (b"\x7f\xff", "\\x7F\\xFF"),
        ("é".encode(), "\\xC3\\xA9"),
    ],
)
def test_escape_as_nginx(raw: bytes, logged: str) -> None:
    assert escape(raw) == logged


# -- the batches
class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def answer(status: int, body: bytes) -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)


def test_batch_keeps_order_and_is_written_on_close() -> None:
    """Entries of every shape come out in the order they were recorded, with their times;
    close() writes what is pending, as one record."""
    logger = logging.getLogger("wirespeed.access.test")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    loop = asyncio.new_event_loop()
    try:
        log = AccessLog("$request_uri $status $body_bytes_sent $bytes_sent $request_time", loop, logger=logger)
        connection = FakeConnection()

        def request(target: str) -> Request:
            return Request.build("GET", target, connection=connection)  # type: ignore[arg-type]

        first = answer(200, b"hello")
        log.answered(connection, request("/a"), first)  # made at once: 0.000
        second = request("/b")
        connection.began = (second, monotonic() - 0.5)  # handed to its handler 0.5 s ago
        log.answered(connection, second, answer(404, b"no"))
        log.sent(connection, None, 400, 11, 120)
        log.pending.append((request("/c"), 206, 7, 99, 12.0, 12.125, connection))
        log.pending.append((request("/d"), 6, 50, 14.0))  # the fast path's 200
        log.close()
        assert len(handler.records) == 1
        lines = handler.records[0].getMessage().split("\n")
        assert lines[0] == f"/a 200 5 {len(first)} 0.000"
        assert lines[1].startswith(f"/b 404 2 {len(answer(404, b'no'))} 0.5")
        assert lines[2:] == ["- 400 11 120 0.000", "/c 206 7 99 0.125", "/d 200 6 50 0.000"]
        assert connection.logged == 0  # counted only for a format with $connection_requests
        assert log.pending == []
        log.write()  # nothing pending: no record
        assert len(handler.records) == 1
    finally:
        loop.close()
        logger.removeHandler(handler)


def test_off_when_the_logger_drops_info() -> None:
    logger = logging.getLogger("wirespeed.access.test-off")
    logger.setLevel(logging.WARNING)
    assert not AccessLog.enabled(True, logger)
    assert not AccessLog.enabled(False, logger)
    logger.setLevel(logging.INFO)
    assert AccessLog.enabled(True, logger)


def test_workers_each_log_their_own_lines(site: Path, backend: str) -> None:
    """Under --workers 2 each worker writes the lines of the answers it made, with its $pid
    (not the supervisor's), and every answer is logged once."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wirespeed", "logged_app:app", "--workers", "2", "--port", str(port),
         "--parser", backend, "--access-log-format", "pid=$pid $request_uri"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=site,
    )
    output = OutputCollector(process)
    try:
        assert wait_until(lambda: output.text.count("serving on") >= 2, 20), output.text
        for number in range(20):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"http://127.0.0.1:{port}/?n={number}").status_code == 200
        assert wait_until(lambda: output.text.count("pid=") >= 20, 5), output.text
    finally:
        assert stop_cli(process) == 0
        output.join()
    lines = [line.split() for line in output.lines if line.startswith("pid=")]
    assert sorted(int(uri.split("=")[-1]) for _, uri in lines) == list(range(20))
    pids = {int(pid.removeprefix("pid=")) for pid, _ in lines}
    assert process.pid not in pids and pids  # the workers' own


# -- the native lines of the default formats (rust/python_access.rs), against the Python batch
access_sink = native.access_sink

# Field-value bytes the Rust parser takes (obs-text included); names in any case.
VALUE_BYTES = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100)) + b" \t"
TARGET_CHARS = "abcXYZ019/?&=%-._~!$'()*+,;:@"
FIELD_NAMES = [b"referer", b"user-agent", b"accept", b"x-a"]
BASE = 100.0  # the entries' times (monotonic) start here
# One second's text for every time: the native sink reads the time itself, so the two sides
# are compared with clocks that never change second.
FIXED_LOCAL = "06/Dec/2026:12:00:00 +0000"


def fixed(clock: _Clock) -> _Clock:
    """`clock` set to one second that holds every time."""
    clock.since, clock.until, clock.local = float("-inf"), float("inf"), FIXED_LOCAL
    return clock


def fast_path_answer(body: int) -> bytes:
    """A fast-path 200 with `body` bytes of body."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (body, b"x" * body)


def no_line(*entry: Any) -> None:
    """A fallback that makes no line."""


def recorded(sink: Any, batch: list[tuple[Any, ...]]) -> list[str]:
    """The batch's entries recorded through the sink's functions, in order, and its lines taken."""
    record_answer, record_entry, take = sink
    for entry in batch:
        if len(entry) == 4:
            assert len(fast_path_answer(entry[1])) == entry[2]
            record_answer(entry[0], fast_path_answer(entry[1]))
        else:
            request, status, body, sent, _start, _end, connection = entry
            record_entry(request, status, body, sent, connection)
    text = take()
    return text.split("\n") if text else []


def raw_value() -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(VALUE_BYTES), max_size=12).map(lambda chars: bytes(chars).strip(b" \t"))


@st.composite
def parsed_request(draw: st.DrawFn, connection: FakeConnection) -> Request:
    """A request as the Rust parser hands it over: its fields a `RawHeaders`."""
    target = "/" + draw(st.text(TARGET_CHARS, max_size=12))
    lines = []
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=5)):
        spelled = bytes(c ^ 0x20 if c >= 0x61 and draw(st.booleans()) else c for c in name)  # any case
        lines.append(spelled + b": " + draw(raw_value()) + b"\r\n")
    head = f"GET {target} HTTP/1.1\r\n".encode() + b"Host: h\r\n" + b"".join(lines) + b"\r\n"
    parser: Any = native.RequestParser(Config())  # type: ignore[arg-type]
    [event] = parser.feed(head)
    assert type(event[3]).__name__ == "RawHeaders"
    return Request((*event[:6], connection))


@st.composite
def built_request(draw: st.DrawFn, connection: FakeConnection) -> Request:
    """A request made in Python: fields a list of any bytes, a target of any text."""
    fields = draw(st.lists(st.tuples(st.sampled_from(FIELD_NAMES), st.binary(max_size=12)), max_size=5))
    method = draw(st.sampled_from(["GET", "POST", "M\u00e9", "\u20ac\x01"]))
    target = draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=16))
    return Request.build(method, target, draw(st.sampled_from([0, 1])), fields, connection=connection)  # type: ignore[arg-type]


@st.composite
def pending_batch(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Entries as AccessLog.pending holds them: the fast path's (request, body, bytes, time),
    its answer `fast_path_answer(body)`, and any other answer's 7 items."""
    connections = [FakeConnection(client) for client in [("10.0.0.1", 80), ("::1", 2), None]]  # type: ignore[arg-type]
    unseen = FakeConnection()
    unseen.client_address = False  # type: ignore[assignment]  # not looked up yet
    connections.append(unseen)
    entries: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(0, 12))):
        connection = draw(st.sampled_from(connections))
        request = draw(st.one_of(parsed_request(connection), built_request(connection)))
        end = BASE + draw(st.floats(0.0, 3.0))
        if draw(st.booleans()):
            body = draw(st.integers(0, 300))
            entries.append((request, body, len(fast_path_answer(body)), end))
        else:
            start = end - draw(st.floats(0.0, 1.0))
            status = draw(st.integers(100, 999))
            body, sent = draw(st.integers(0, 10**12)), draw(st.integers(0, 10**12))
            answered: Request | None = draw(st.sampled_from([request, None]))
            entries.append((answered, status, body, sent, start, end, connection))
    return entries


@pytest.mark.parametrize("preset", ["combined", "common"])
@settings(max_examples=150, deadline=None)
@given(batch=pending_batch())
def test_native_lines_are_the_python_lines(preset: str, batch: list[tuple[Any, ...]]) -> None:
    """The same answers, recorded natively one by one and made by the Python batch function,
    give the same lines, without a fallback."""
    python_batch = compile_batch(preset)
    fixed(python_batch.__globals__["clock"])
    fallen_back: list[tuple[Any, ...]] = []

    def fallback(*entry: Any) -> None:
        fallen_back.append(entry)

    sink = access_sink(preset == "common", fixed(_Clock()), fallback, 1 << 20)
    assert recorded(sink, batch) == python_batch(batch, 1_700_000_000.0)
    assert fallen_back == []
    assert all(connection.logged == 0 for connection in {entry[-1] for entry in batch if len(entry) == 7})


class CountingClock(_Clock):
    __slots__ = ("__weakref__", "updates")

    def __init__(self) -> None:
        super().__init__()
        self.updates = 0

    def update(self, when: float) -> None:
        self.updates += 1
        super().update(when)


def test_native_lines_make_the_time_once_a_second() -> None:
    """The time of each answer is read when it is recorded (here from `now`), and its text is
    made once a second, by the shared clock."""
    clock = CountingClock()
    times = iter([1_700_000_010.1, 1_700_000_010.9, 1_700_000_011.0, 1_700_000_011.5])
    record_answer, _, take = access_sink(True, clock, no_line, 1 << 20, lambda: next(times))
    request = Request.build("GET", "/", connection=CONNECTION)  # type: ignore[arg-type]
    for _ in range(4):
        record_answer(request, fast_path_answer(5))
    assert clock.updates == 2
    stamps = [time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(1_700_000_000 + second)) for second in (10, 11)]
    assert take().split("\n") == [f'10.1.2.3 - - [{stamps[second]}] "GET / HTTP/1.1" 200 5' for second in (0, 0, 1, 1)]
    assert take() == ""  # taken: none after


def test_native_lines_read_the_system_clock() -> None:
    """Without `now`, the time is the system's (the clock is asked for the second it is in)."""
    clock = CountingClock()
    record_answer, _, take = access_sink(True, clock, no_line, 1 << 20)
    before = time.time()
    record_answer(REQUEST, fast_path_answer(1))
    after = time.time()
    assert clock.updates == 1
    assert int(before) <= clock.since <= int(after) and clock.until == clock.since + 1
    assert f"[{clock.local}]" in take()


class Text(str):
    """A str subclass (the Python function formats it as it is)."""


ODD = Request.build("GET", "/\ud800", connection=CONNECTION)  # type: ignore[arg-type]  # a lone surrogate
# Answers whose values the native code does not take: (why, which function, its arguments).
ODD_ANSWERS = [
    ("the request is a list, not a tuple", "entry", (list(REQUEST), 200, 5, 50, CONNECTION)),
    ("the status is a str", "entry", (REQUEST, "200", 5, 50, CONNECTION)),
    ("a size is a bool (str(True) is 'True')", "entry", (REQUEST, 200, True, 50, CONNECTION)),
    ("the target is not Unicode (a lone surrogate)", "answer", (ODD, fast_path_answer(5))),
    ("the method is a str subclass", "entry", (Request((Text("GET"), *REQUEST[1:])), 200, 5, 50, CONNECTION)),
    ("the connection has no client address", "entry", (REQUEST, 200, 5, 50, object())),
    ("the client address is not a tuple", "entry", (REQUEST, 200, 5, 50, FakeConnection("10.0.0.1"))),  # type: ignore[arg-type]
    ("an answer to no request", "answer", (None, fast_path_answer(5))),
]


@pytest.mark.parametrize(("call", "arguments"), [row[1:] for row in ODD_ANSWERS], ids=[row[0] for row in ODD_ANSWERS])
def test_native_lines_leave_what_they_do_not_expect_to_the_fallback(call: str, arguments: tuple[Any, ...]) -> None:
    """An answer with a value of another type is not guessed at: the fallback is given it
    (status and sizes as ints for the fast path's, connection None) and its line is kept, in
    order between the native ones."""
    given_to_fallback: list[tuple[Any, ...]] = []

    def fallback(*entry: Any) -> str:
        given_to_fallback.append(entry)
        return "made by the fallback"

    record_answer, record_entry, take = access_sink(True, fixed(_Clock()), fallback, 1 << 20)
    record_answer(REQUEST, fast_path_answer(5))
    (record_answer if call == "answer" else record_entry)(*arguments)
    record_entry(None, 400, 11, 120, CONNECTION)
    native_line = f'10.1.2.3 - - [{FIXED_LOCAL}] "GET /a%20b/c?x=1&y=2 HTTP/1.1" 200 5'
    assert take().split("\n") == [native_line, "made by the fallback", f'10.1.2.3 - - [{FIXED_LOCAL}] "-" 400 11']
    expected = (arguments[0], 200, 5, len(arguments[1]), None) if call == "answer" else arguments
    assert given_to_fallback == [expected]


def test_a_fallback_without_a_line_and_one_that_raises() -> None:
    _, record_entry, take = access_sink(False, fixed(_Clock()), no_line, 1 << 20)
    record_entry(ODD, 200, 5, 50, CONNECTION)
    assert take() == ""  # the fallback's None: no line

    def failing(*entry: Any) -> str:
        raise LookupError("the fallback's own error")

    _, record_entry, take = access_sink(False, fixed(_Clock()), failing, 1 << 20)
    with pytest.raises(LookupError, match="own error"):
        record_entry(ODD, 200, 5, 50, CONNECTION)
    record_entry(REQUEST, 200, 5, 50, CONNECTION)  # the sink goes on
    assert take().startswith("10.1.2.3 - - [")


@pytest.mark.parametrize(
    ("call", "arguments", "error"),
    [
        ("answer", (REQUEST,), "takes 2 arguments"),
        ("answer", (REQUEST, "not bytes"), "bytes"),
        ("entry", (REQUEST, 200, 5, 50), "takes 5 arguments"),
    ],
)
def test_native_sink_refuses_a_wrong_call(call: str, arguments: tuple[Any, ...], error: str) -> None:
    """A caller's mistake (not an answer's odd value) raises, and records nothing."""
    record_answer, record_entry, take = access_sink(True, fixed(_Clock()), no_line, 1 << 20)
    with pytest.raises(TypeError, match=error):
        (record_answer if call == "answer" else record_entry)(*arguments)
    assert take() == ""


def test_native_sink_says_when_its_lines_are_due() -> None:
    """answer/entry say True once the text reaches the limit (bytes); taking it starts over."""
    record_answer, record_entry, take = access_sink(True, fixed(_Clock()), no_line, 200)
    line = f'10.1.2.3 - - [{FIXED_LOCAL}] "GET /a%20b/c?x=1&y=2 HTTP/1.1" 200 5'
    due = [record_answer(REQUEST, fast_path_answer(5)) for _ in range(4)]
    assert len(line) + 1 == 80  # so 2 lines make 160 bytes and 3 make 240
    assert due == [False, False, True, True]
    assert take() == "\n".join([line] * 4)
    assert record_entry(REQUEST, 200, 5, 50, CONNECTION) is False


def test_native_sink_releases_what_it_holds() -> None:
    """The clock, the fallback and the last client address go when the sink's functions go."""
    clock = CountingClock()
    connection = FakeConnection(("10.9.9.9", 1))
    address = connection.client_address

    def fallback(*entry: Any) -> None:
        return None

    functions = access_sink(False, clock, fallback, 1 << 20)
    functions[1](None, 400, 1, 2, connection)
    held: list[weakref.ref[Any]] = [weakref.ref(clock), weakref.ref(fallback)]
    references = sys.getrefcount(address)
    del functions, clock, fallback
    assert [ref() for ref in held] == [None, None]
    assert sys.getrefcount(address) == references - 1


def test_access_log_with_a_native_sink_keeps_order_and_falls_back_per_answer() -> None:
    """A server's log on the Rust backend: every kind of answer in the order recorded, an odd
    one made by the Python batch function (alone), one that neither can make logged as an
    error and left out, and the rest kept."""
    logger = logging.getLogger("wirespeed.access.test-native")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    errors = ListHandler()
    logging.getLogger("wirespeed.error").addHandler(errors)
    loop = asyncio.new_event_loop()
    try:
        log = AccessLog("common", loop, logger=logger, backend="rust")
        assert log.native and log.pending == []
        log.record_answer(REQUEST, fast_path_answer(5))
        log.answered(CONNECTION, REQUEST, answer(404, b"no"))  # type: ignore[arg-type]
        log.record_answer(ODD, fast_path_answer(6))  # the Python batch's: "?" for the surrogate
        log.sent(CONNECTION, None, 400, 11, 120)  # type: ignore[arg-type]
        log.sent(FakeConnection(object()), REQUEST, 200, 1, 2)  # type: ignore[arg-type]  # neither can make it
        log.rejected(CONNECTION, answer(431, b""))  # type: ignore[arg-type]
        assert log.pending == []
        log.close()
        [record] = handler.records
        lines = record.getMessage().split("\n")
        assert [line.split('"')[1:] for line in lines] == [
            ["GET /a%20b/c?x=1&y=2 HTTP/1.1", " 200 5"],
            ["GET /a%20b/c?x=1&y=2 HTTP/1.1", " 404 2"],
            ["GET /? HTTP/1.1", " 200 6"],
            ["-", " 400 11"],
            ["-", " 431 0"],
        ]
        assert all(line.startswith("10.1.2.3 - - [") for line in lines)
        assert [error.getMessage() for error in errors.records] == ["access log line could not be made"]
    finally:
        loop.close()
        logger.removeHandler(handler)
        logging.getLogger("wirespeed.error").removeHandler(errors)


def test_the_native_writer_writes_a_full_batch_at_the_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path's writer: its answers are the plain writer's bytes, recorded, and once
    the lines reach MAX_PENDING_BYTES they are written at the next loop turn (not at the
    timer)."""
    monkeypatch.setattr(access_log, "MAX_PENDING_BYTES", 1000)
    logger = logging.getLogger("wirespeed.access.test-due")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    loop = asyncio.new_event_loop()
    try:
        log = AccessLog("combined", loop, logger=logger, backend="rust")
        writer = log.response_writer("wirespeed")
        assert isinstance(writer, LoggingResponseWriter) and writer.access is log
        plain = ResponseWriter("wirespeed")
        answers = [writer.keep_alive_result("hi", REQUEST) for _ in range(3)]
        assert answers == [plain.keep_alive_result("hi")] * 3
        loop.run_until_complete(asyncio.sleep(0))
        assert handler.records == []  # under the limit: the timer's (not started here)
        while not log._soon:  # the batch is due
            writer.keep_alive_result("hi", REQUEST)
        loop.run_until_complete(asyncio.sleep(0))
        [record] = handler.records
        lines = record.getMessage().split("\n")
        assert len(lines) == -(-1000 // (len(lines[0]) + 1))  # the fewest lines of 1000 bytes or more
        assert all(line.endswith('" 200 2 "http://r/\\x01" "ua \\x221\\x22"') for line in lines)
    finally:
        loop.close()
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("fmt", "backend", "proxy_headers", "expected"),
    [
        ("combined", "rust", False, True),
        ("common", "rust", False, True),
        (PRESETS["combined"], "rust", False, True),  # the preset's text is the preset
        ("combined", "httptools", False, False),  # the Python backend keeps Python lines
        ("combined", "rust", True, False),  # $remote_addr is then the request's client
        ("json", "rust", False, False),
        ("$remote_addr $status", "rust", False, False),
    ],
)
def test_native_lines_where_they_apply(fmt: str, backend: str, proxy_headers: bool, expected: bool) -> None:
    loop = asyncio.new_event_loop()
    try:
        assert AccessLog(fmt, loop, proxy_headers=proxy_headers, backend=backend).native is expected
    finally:
        loop.close()


def test_the_rust_backend_server_makes_native_lines(backend: str) -> None:
    """A server's access log (as the command line builds it) makes its lines natively on the
    Rust backend, in Python on httptools."""
    logger = logging.getLogger("wirespeed.access")
    level = logger.level
    logger.setLevel(logging.INFO)  # as the command line sets it
    loop = asyncio.new_event_loop()
    try:
        config = Config(parser=backend, access_log=True)  # type: ignore[arg-type]
        state = ServerState(wirespeed.App(), config, loop)
        assert state.access_log is not None
        assert state.access_log.native is (backend == "rust")
    finally:
        loop.close()
        logger.setLevel(level)


@pytest.mark.parametrize("make", [native.recording, access_log._recording], ids=["native", "python"])
def test_recording_answers_then_records(make: Any) -> None:
    """`recording` (native, and its Python twin for a server without the extension): the
    answer's bytes, recorded with the request, `due` called only when the record says so;
    what the answer raises is raised, unrecorded."""
    calls: list[tuple[Any, ...]] = []

    def answer(result: Any) -> bytes:
        if result is None:
            raise TypeError("no answer")
        return b"answer to " + result

    def record(request: Any, data: bytes) -> bool:
        calls.append(("record", request, data))
        return request == "full"

    keep_alive_result = make(answer, record, lambda: calls.append(("due",)))
    assert keep_alive_result(b"a", "req") == b"answer to a"
    assert keep_alive_result(b"b", "full") == b"answer to b"
    assert keep_alive_result(b"c") == b"answer to c"  # no request: recorded as None
    with pytest.raises(TypeError, match="no answer"):
        keep_alive_result(None, "req")
    assert calls == [
        ("record", "req", b"answer to a"),
        ("record", "full", b"answer to b"),
        ("due",),
        ("record", None, b"answer to c"),
    ]


def test_a_recording_in_a_cycle_is_collected() -> None:
    """The access log's writer holds the function `recording` made from its own method: a
    cycle, which the garbage collector sees through (the function's parts are a tuple)."""
    import gc

    def answer(result: Any) -> bytes:
        return b""

    made = native.recording(answer, lambda request, data: False, lambda: None)
    answer.made = made  # type: ignore[attr-defined]  # answer -> made -> answer
    gone = weakref.ref(answer)
    del answer, made
    gc.collect()
    assert gone() is None
