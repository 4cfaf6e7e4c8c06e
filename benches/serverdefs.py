"""Which servers the benchmarks run, how each is started, and what each must answer.

This module owns the server definitions (command line, version, availability, the workloads
each can serve), the nginx config rendering, and the workloads themselves (URL path, wrk
script or WebSocket load, and the check each server's answers must pass before it is timed).
The apps live in benches/servers/, one file per server, each written for that server's native
interface.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import ws_load
from harness import (
    HOST,
    LUA_DIR,
    REPO,
    SERVERS_DIR,
    BenchError,
    HTTPResponse,
    build_request,
    command_version,
    http_exchange,
)

PYTHON = sys.executable
NGINX_MODULES = Path("/usr/lib/nginx/modules")
ECHO_MODULE = NGINX_MODULES / "ngx_http_echo_module.so"
JS_MODULE = NGINX_MODULES / "ngx_http_js_module.so"
PIPELINE_DEPTH = 16
ECHO_SIZE = 4096
JSON_ID = "12345"


# --- workloads -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WsLoad:
    """A WebSocket workload's load (benches/ws_load.py): echoes of `size`-byte messages over
    `connections` WebSockets, each keeping `window` messages in flight."""

    size: int
    binary: bool
    connections: int
    window: int

    def args(self, path: str, raw: bool) -> list[str]:
        argv = ["--path", path, "--size", str(self.size), "--connections", str(self.connections)]
        argv += ["--window", str(self.window)]
        return argv + (["--binary"] if self.binary else []) + (["--raw"] if raw else [])


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    title: str
    path: str
    script: Path | None = None
    script_args: tuple[str, ...] = ()
    file_size: int | None = None  # static workloads: the size of the file at `path`
    static: bool = False  # timed for at most --static-duration seconds
    ws: WsLoad | None = None  # a WebSocket workload, driven by benches/ws_load.py instead of wrk
    tls: bool = False  # served over TLS with the bench's certificate (bench_certificate)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


# The static workloads GET one file of a tree the bench writes into its scratch directory
# (static_root(scratch)/static/...). Every server serves that same directory.
STATIC_FILES = {"static-4k": 4096, "static-1m": 1024 * 1024}


# ws-echo: small messages, many in flight (the server's per-message cost). ws-1m: big messages
# echoed, so the server's data path both ways (unmasking, framing, copies); enough in flight to
# keep the loopback busy, few enough that the buffers stay in the caches' reach.
WS_ECHO = WsLoad(32, False, 64, 16)
WS_1M = WsLoad(1024 * 1024, True, 8, 2)

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("plaintext", "plaintext GET /, keep-alive", "/"),
        Workload(
            "pipelined", f"plaintext, {PIPELINE_DEPTH} pipelined", "/", LUA_DIR / "pipeline.lua", (str(PIPELINE_DEPTH),)
        ),
        Workload("json", "GET /users/{id} -> JSON", f"/users/{JSON_ID}"),
        Workload("echo", "POST /echo, 4 KiB body", "/echo", LUA_DIR / "post_echo.lua"),
        Workload("static-4k", "GET of a 4 KiB file", "/static/4k.bin", file_size=4096, static=True),
        Workload("static-1m", "GET of a 1 MiB file", "/static/1m.bin", file_size=1024 * 1024, static=True),
        # The plaintext app over TLS: wirespeed and nginx with the same certificate (ECDSA
        # P-256), and the same TLS version and cipher suite, checked before the run (TLS_EXPECTED).
        # wrk's connections are kept alive, so this is the cost of the record layer, not of
        # handshakes.
        Workload("tls-plaintext", "plaintext GET / over TLS 1.3 (AES-256-GCM), keep-alive", "/", tls=True),
        # ASGI servers only (wirespeed-asgi, uvicorn, granian), each serving the same ASGI app:
        # servers/asgi_app.py for asgi-*, servers/fastapi_app.py for fastapi-json.
        Workload("asgi-plaintext", "ASGI app: plaintext GET /", "/"),
        Workload(
            "asgi-pipelined",
            f"ASGI app: plaintext, {PIPELINE_DEPTH} pipelined",
            "/",
            LUA_DIR / "pipeline.lua",
            (str(PIPELINE_DEPTH),),
        ),
        Workload("fastapi-json", "FastAPI: GET /users/{id} -> JSON", f"/users/{JSON_ID}"),
        # WebSocket echo at /ws: servers/asgi_app.py on the ASGI servers, servers/wirespeed_app.py
        # on wirespeed; the raw TCP echo (ws-limit) gets the same bytes without the WebSocket.
        Workload(
            "ws-echo",
            f"WebSocket echo: {WS_ECHO.size}-byte text, {WS_ECHO.connections} conns x {WS_ECHO.window} in flight",
            "/ws",
            ws=WS_ECHO,
        ),
        Workload(
            "ws-1m",
            f"WebSocket echo: 1 MiB binary, {WS_1M.connections} conns x {WS_1M.window} in flight",
            "/ws",
            ws=WS_1M,
        ),
    )
}
STATIC = frozenset(name for name, workload in WORKLOADS.items() if workload.static)
# The workloads whose app is an ASGI module served as is by every ASGI server, and that module.
ASGI_APPS = {"asgi-plaintext": "asgi_app:app", "asgi-pipelined": "asgi_app:app", "fastapi-json": "fastapi_app:app"}
ASGI = frozenset(ASGI_APPS)
PIPELINED = frozenset({"pipelined", "asgi-pipelined"})
WS = frozenset(name for name, workload in WORKLOADS.items() if workload.ws)
TLS = frozenset(name for name, workload in WORKLOADS.items() if workload.tls)
# What every server must negotiate with a client that offers OpenSSL's defaults, as wrk does:
# so the servers are compared on the same protocol and cipher suite.
TLS_EXPECTED = ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
WS_APP = "asgi_app:app"  # the ASGI app with the /ws echo
WS_MAX_SIZE = 32 * 1024 * 1024  # the largest message a server is told to accept (peers' defaults vary)


def static_content(size: int) -> bytes:
    """The deterministic content of a static workload's file (SHAKE-256 of a fixed seed)."""
    return hashlib.shake_256(b"wirespeed static bench").digest(size)


def static_root(scratch: Path) -> Path:
    """The directory every server serves the static workloads from (its files are under static/)."""
    return scratch / "www"


def write_static_tree(scratch: Path) -> Path:
    """Write the static workloads' files under static_root(scratch); returns that root."""
    root = static_root(scratch)
    for name in STATIC:
        workload = WORKLOADS[name]
        assert workload.file_size is not None
        target = root / workload.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(static_content(workload.file_size))
    return root


def bench_certificate(scratch: Path) -> tuple[Path, Path]:
    """The certificate and key every server of the TLS workloads uses (ECDSA P-256, for
    127.0.0.1), made with the openssl command line on first use under `scratch`."""
    directory = scratch / "tls"
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not cert.exists():
        directory.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={HOST}",
             "-addext", f"subjectAltName=IP:{HOST}"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"openssl could not make the bench certificate: {done.stderr.strip()}")
    return cert, key


def tls_client(scratch: Path) -> ssl.SSLContext:
    """A client context with OpenSSL's defaults (as wrk's), trusting the bench certificate."""
    context = ssl.create_default_context(cafile=str(bench_certificate(scratch)[0]))
    context.set_alpn_protocols(["http/1.1"])
    return context


HELLO = b"Hello, World!"


def _expect(condition: bool, what: str, response: HTTPResponse | None = None) -> None:
    if not condition:
        detail = ""
        if response is not None:
            detail = f" (got {response.status}, {response.headers.get('content-type', '-')!r}, {response.body[:80]!r})"
        raise BenchError(what + detail)


def _check_hello(response: HTTPResponse) -> None:
    _expect(response.status == 200, "GET / must answer 200", response)
    _expect(response.body == HELLO, "GET / must answer 'Hello, World!'", response)
    _expect(response.headers.get("content-type", "").startswith("text/plain"), "GET / must be text/plain", response)
    _expect(response.headers.get("connection", "").lower() != "close", "GET / must keep the connection", response)


def verify(
    workload: str,
    port: int,
    fixed_response: bool = False,
    chunked_files: bool = False,
    raw_echo: bool = False,
    scratch: Path | None = None,
) -> None:
    """Check a server's answers for one workload; raise BenchError on the first wrong one.

    Each check sends what wrk will send (one request at a time on a keep-alive connection, or
    batches of 16 for the pipelined workload), twice on the same connection. A static file must
    come with its exact Content-Length, unless `chunked_files` (a peer that streams files
    chunked): then chunked framing is accepted; the body must be the file's in both cases. A
    WebSocket workload: the opening handshake must get 101 with the right accept key, two
    messages sent in one write must come back byte for byte with their opcode, and a close must
    be answered; for the raw TCP echo (`raw_echo`), the same client frames must come back as sent.
    A TLS workload: the plaintext checks over TLS (the certificate under `scratch`), after the
    server has negotiated TLS_EXPECTED's version and cipher suite.
    """
    spec = WORKLOADS.get(workload)
    if spec is not None and spec.ws is not None:
        try:
            if raw_echo:
                ws_load.check_raw_echo(HOST, port, spec.ws.size, spec.ws.binary)
            else:
                ws_load.check_echo(HOST, port, spec.path, spec.ws.size, spec.ws.binary)
        except (ws_load.Unsupported, ws_load.ProtocolError, OSError) as error:
            kind = "binary" if spec.ws.binary else "text"
            raise BenchError(
                f"WebSocket echo of {spec.ws.size}-byte {kind} messages at {spec.path}: {error}"
            ) from error
        return
    if workload in ("plaintext", "asgi-plaintext"):
        one = build_request("GET", "/", port)
        for response in http_exchange(port, [(one, 1), (one, 1)]):
            _check_hello(response)
    elif workload in TLS:
        assert scratch is not None, "a TLS workload is verified with the bench certificate"
        context = tls_client(scratch)
        try:
            negotiated = _negotiated(port, context)
            _expect(negotiated == TLS_EXPECTED, f"TLS must be {' with '.join(TLS_EXPECTED)} (got {negotiated})")
            one = build_request("GET", "/", port)
            for response in http_exchange(port, [(one, 1), (one, 1)], tls=context):
                _check_hello(response)
        except (ssl.SSLError, OSError) as error:
            raise BenchError(f"GET / over TLS failed: {error}") from error
    elif workload in PIPELINED:
        batch = build_request("GET", "/", port) * PIPELINE_DEPTH
        responses = http_exchange(port, [(batch, PIPELINE_DEPTH), (batch, PIPELINE_DEPTH)])
        for response in responses:
            _check_hello(response)
    elif workload in ("json", "fastapi-json"):
        ids = [JSON_ID] if fixed_response else [JSON_ID, "abc-42"]
        writes = [(build_request("GET", f"/users/{user_id}", port), 1) for user_id in ids]
        for user_id, response in zip(ids, http_exchange(port, writes), strict=True):
            _expect(response.status == 200, f"GET /users/{user_id} must answer 200", response)
            _expect(
                response.headers.get("content-type", "").startswith("application/json"),
                f"GET /users/{user_id} must be application/json",
                response,
            )
            try:
                document = json.loads(response.body)
            except ValueError:
                document = None
            _expect(
                document == {"user_id": user_id},
                f'GET /users/{user_id} must answer {{"user_id":"{user_id}"}}',
                response,
            )
    elif workload == "echo":
        bodies = [bytes(range(256)) * (ECHO_SIZE // 256), b"x" * (ECHO_SIZE - 1) + b"!"]
        writes = [(build_request("POST", "/echo", port, body, "application/octet-stream"), 1) for body in bodies]
        for body, response in zip(bodies, http_exchange(port, writes), strict=True):
            _expect(response.status == 200, "POST /echo must answer 200", response)
            _expect(response.body == body, f"POST /echo must send the {len(body)}-byte body back", response)
    elif workload in STATIC:
        spec = WORKLOADS[workload]
        assert spec.file_size is not None
        digest = hashlib.sha256(static_content(spec.file_size)).hexdigest()
        one = build_request("GET", spec.path, port)
        for response in http_exchange(port, [(one, 1), (one, 1)], timeout=10.0):
            what = f"GET {spec.path}"
            _expect(response.status == 200, f"{what} must answer 200", response)
            chunked = chunked_files and response.headers.get("transfer-encoding", "").lower() == "chunked"
            if not chunked:
                _expect(
                    response.headers.get("content-length") == str(spec.file_size),
                    f"{what} must say Content-Length: {spec.file_size} "
                    f"(got {response.headers.get('content-length')!r})",
                )
                _expect("transfer-encoding" not in response.headers, f"{what} must not be chunked", response)
            _expect("content-encoding" not in response.headers, f"{what} must be sent as is", response)
            _expect(
                hashlib.sha256(response.body).hexdigest() == digest,
                f"{what} must send the file's {spec.file_size} bytes (sha256 {digest[:16]}...)",
            )
            _expect(response.headers.get("connection", "").lower() != "close", f"{what} must keep the connection")
    else:
        raise BenchError(f"unknown workload {workload!r}")


def _negotiated(port: int, context: ssl.SSLContext) -> tuple[str, str]:
    """The TLS version and cipher suite a server picks for `context`'s offer."""
    import socket

    with socket.create_connection((HOST, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=HOST) as conn:
        cipher = conn.cipher()
        return conn.version() or "", cipher[0] if cipher else ""


# --- servers -------------------------------------------------------------------------------------


def _python_module_missing(module: str) -> str | None:
    """None when `module` imports in a fresh interpreter, else the reason it does not."""
    if importlib.util.find_spec(module) is None:
        return f"python package {module!r} is not installed"
    done = subprocess.run(
        [PYTHON, "-c", f"import {module}"], capture_output=True, text=True, timeout=60, check=False, cwd=SERVERS_DIR
    )
    if done.returncode != 0:
        lines = (done.stderr.strip() or "import failed").splitlines()
        return f"import {module} failed: {lines[-1]}"
    return None


def _dist_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclasses.dataclass
class ServerDef:
    name: str
    label: str
    workloads: frozenset[str]
    argv: Callable[[int, str, Path], list[str]]  # (port, workload, scratch dir) -> command
    unavailable: Callable[[], str | None]
    version: Callable[[], str]
    note: str = ""
    fixed_response: bool = False  # answers without routing (the uvloop limit)
    chunked_files: bool = False  # sends static files chunked, without Content-Length (granian)
    raw_echo: bool = False  # a TCP echo without WebSocket (the ws-* limit): ws_load --raw
    # For the WebSocket workloads: None when this server can serve them here, else why not (they
    # are then skipped with that note, the server's other workloads run).
    ws_unavailable: Callable[[], str | None] = lambda: None
    # Workloads with the same variant are served by one start of the server.
    variant: Callable[[str], str] = lambda workload: ""
    # A label for the workloads the server runs differently (granian: asgi instead of rsgi).
    workload_labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def label_of(self, workload: str) -> str:
        return self.workload_labels.get(workload, self.label)


def _static_variant(workload: str) -> str:
    return "static" if workload in STATIC else "tls" if workload in TLS else ""


def _tls_variant(workload: str) -> str:
    return "tls" if workload in TLS else ""


ALL = frozenset(WORKLOADS)
# The HTTP workloads each server runs with its own app; the TLS ones only wirespeed and nginx.
NATIVE = ALL - ASGI - WS - TLS


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (str(Path("/usr/sbin/nginx")) if Path("/usr/sbin/nginx").exists() else None)


def nginx_echo_mode() -> str | None:
    """'echo' (echo module), 'njs', or None when nginx cannot echo a body here."""
    if ECHO_MODULE.exists():
        return "echo"
    if JS_MODULE.exists():
        return "njs"
    return None


def render_nginx_conf(port: int, prefix: Path, static_dir: Path, tls: tuple[Path, Path] | None = None) -> Path:
    """Write nginx.conf for one run under `prefix` (which also holds its pid, log and temp dirs).

    `static_dir` is the root of the static workloads' tree (served at /static/); `tls`, a
    certificate and its key: the server listens with TLS (1.2 and 1.3, OpenSSL's ciphers).
    """
    template = (SERVERS_DIR / "nginx.conf").read_text()
    binary = nginx_binary() or "nginx"
    compiled = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=30, check=False).stderr
    temp_paths = []
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in compiled:
            temp_paths.append(f"    {module}_temp_path {prefix}/{module};")
    mode = nginx_echo_mode()
    if mode == "echo":
        load_module = f"load_module {ECHO_MODULE};"
        echo = "            echo_read_request_body;\n            echo_request_body;"
    elif mode == "njs":
        load_module = f"load_module {JS_MODULE};"
        echo = "            js_content echo.echo;"
        temp_paths.append(f"    js_import echo from {SERVERS_DIR / 'nginx_echo.js'};")
    else:
        load_module = ""
        echo = "            return 501;"
    user = "user root root;" if os.geteuid() == 0 else ""
    text = (
        template.replace("@LOAD_MODULE@", load_module)
        .replace("@USER@", user)
        .replace("@PREFIX@", str(prefix))
        .replace("@TEMP_PATHS@", "\n".join(temp_paths))
        .replace("@PORT@", str(port))
        .replace("@ECHO@", echo)
        .replace("@STATIC_ROOT@", str(static_dir))
        .replace("@SSL@", "ssl " if tls else "")
        .replace(
            "@TLS@",
            f"        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;"
            if tls
            else "",
        )
    )
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "client_body").mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def _nginx_argv(port: int, workload: str, scratch: Path) -> list[str]:
    prefix = scratch / f"nginx-{port}"
    tls = bench_certificate(scratch) if workload in TLS else None
    conf = render_nginx_conf(port, prefix, static_root(scratch), tls)
    return [nginx_binary() or "nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]


def _nginx_unavailable() -> str | None:
    return None if nginx_binary() else "nginx is not installed"


def _nginx_version() -> str:
    binary = nginx_binary()
    if not binary:
        return "not installed"
    version = command_version([binary, "-v"]).replace("nginx version: ", "")
    mode = nginx_echo_mode()
    return f"{version} (echo via {mode or 'nothing'})"


def _limit_argv(port: int, workload: str, scratch: Path) -> list[str]:
    argv = [PYTHON, str(SERVERS_DIR / "uvloop_limit.py"), str(port)]
    if workload == "json":
        argv.append("--json")
    return argv


def _asgi_app(workload: str) -> str:
    """The ASGI app (module:attribute under benches/servers/) an ASGI server serves for `workload`."""
    return ASGI_APPS.get(workload, "asgi_app:app")


def _uvicorn_argv(port: int, workload: str, scratch: Path) -> list[str]:
    return [
        PYTHON,
        "-m",
        "uvicorn",
        _asgi_app(workload),
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
        *(
            # The websockets library's implementation, as asked for by name; no compression
            # (the client offers none either); 1 MiB messages well under the size limit.
            ["--ws", "websockets", "--ws-per-message-deflate", "false", "--ws-max-size", str(WS_MAX_SIZE)]
            if workload in WS
            else []
        ),
    ]


def _uvicorn_variant(workload: str) -> str:
    return "ws" if workload in WS else _asgi_app(workload)


def _granian_argv(port: int, workload: str, scratch: Path) -> list[str]:
    # Its native RSGI app, or for the ASGI workloads the same ASGI app as the other ASGI servers;
    # the same flags either way: one worker, one runtime thread, one blocking thread (the only
    # value granian accepts for ASGI and RSGI, set here to say so). WebSockets are on by default
    # (--ws) and have no size limit to raise: tungstenite's 64 MiB per message.
    asgi = workload in ASGI or workload in WS
    return [
        PYTHON,
        "-m",
        "granian",
        "--interface",
        "asgi" if asgi else "rsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--runtime-threads",
        "1",
        "--blocking-threads",
        "1",
        "--http",
        "1",
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "--no-access-log",
        *(
            # granian's own static file serving (in Rust, before the app is called).
            ["--static-path-route", "/static", "--static-path-mount", str(static_root(scratch) / "static")]
            if workload in STATIC
            else []
        ),
        _asgi_app(workload) if asgi else "rsgi_app:app",
    ]


def _granian_variant(workload: str) -> str:
    return _asgi_app(workload) if workload in ASGI | WS else _static_variant(workload)


def _socketify_argv(port: int, workload: str, scratch: Path) -> list[str]:
    return [PYTHON, str(SERVERS_DIR / "socketify_app.py"), str(port)]


def _wirespeed_argv(port: int, workload: str, scratch: Path) -> list[str]:
    if workload in STATIC:
        return wirespeed_static_argv(static_root(scratch), port)
    if workload in TLS:
        cert, key = bench_certificate(scratch)
        return wirespeed_cli_argv(port, "wirespeed_app:app", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    return wirespeed_cli_argv(port, "wirespeed_app:app")


def wirespeed_cli_argv(port: int, *args: str) -> list[str]:
    """`python -m wirespeed ARGS` on the bench's host and `port`, logging warnings only.

    The access log is off, deliberately: nginx.conf says `access_log off`, so both sides are
    compared without one. Its cost is measured apart, by wirespeed-accesslog against wirespeed.
    (Flags given later in ARGS win: `--access-log` turns it back on.)"""
    return [
        PYTHON, "-m", "wirespeed", "--no-access-log", *args, "--host", HOST, "--port", str(port), "--log-level", "warning"
    ]


ACCESS_LOG_CONFIG = "access-log-config.json"


def _wirespeed_accesslog_argv(port: int, workload: str, scratch: Path) -> list[str]:
    """wirespeed with its access log on (the default combined format), written as a production
    server writes it: to a file on disk through a logging.FileHandler, by --log-config. The
    server's other loggers stay at warning; the file is in the bench's scratch directory."""
    config = scratch / ACCESS_LOG_CONFIG
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"line": {"format": "%(message)s"}},
                "handlers": {
                    "access_file": {
                        "class": "logging.FileHandler",
                        "filename": str(scratch / "access.log"),
                        "formatter": "line",
                    },
                    "stderr": {"class": "logging.StreamHandler"},
                },
                "loggers": {
                    "wirespeed": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
                    "wirespeed.access": {"level": "INFO", "handlers": ["access_file"], "propagate": False},
                },
            }
        )
    )
    return wirespeed_cli_argv(port, "wirespeed_app:app", "--access-log", "--log-config", str(config))


def wirespeed_static_argv(directory: Path, port: int, *flags: str) -> list[str]:
    """`wirespeed --static DIR`: the directory at "/" through StaticFiles, as a user runs it."""
    return wirespeed_cli_argv(port, "--static", str(directory), *flags)


def _wirespeed_asgi_argv(port: int, workload: str, scratch: Path) -> list[str]:
    return wirespeed_cli_argv(port, _asgi_app(workload), "--interface", "asgi")


def _wirespeed_asgi_unavailable() -> str | None:
    """None when this wirespeed's command line serves ASGI apps (`--interface asgi`)."""
    missing = _python_module_missing("wirespeed")
    if missing:
        return missing
    done = subprocess.run(
        [PYTHON, "-m", "wirespeed", "--help"], capture_output=True, text=True, timeout=60, check=False, cwd=SERVERS_DIR
    )
    if done.returncode != 0:
        return f"`wirespeed --help` failed: {(done.stderr.strip() or 'no output').splitlines()[-1]}"
    if "--interface" not in done.stdout:
        return "this wirespeed has no ASGI mode (`wirespeed --help` lists no --interface)"
    return None


def _wirespeed_ws_unavailable() -> str | None:
    """None when this wirespeed's App has WebSocket routes (servers/wirespeed_app.py adds /ws)."""
    done = subprocess.run(
        [PYTHON, "-c", "import wirespeed, sys; sys.exit(0 if hasattr(wirespeed.App, 'websocket') else 3)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=SERVERS_DIR,
    )
    if done.returncode == 3:
        return "this wirespeed has no WebSocket routes (no App.websocket)"
    if done.returncode != 0:
        return f"import wirespeed failed: {(done.stderr.strip() or 'no output').splitlines()[-1]}"
    return None


def _wirespeed_asgi_ws_unavailable() -> str | None:
    """None when this wirespeed's ASGI mode serves the websocket scope: its source handles the
    "websocket.accept" message, which an ASGI server of WebSockets cannot do without."""
    spec = importlib.util.find_spec("wirespeed")
    if spec is None or not spec.submodule_search_locations:
        return "python package 'wirespeed' is not installed"
    for location in spec.submodule_search_locations:
        for source in Path(location).rglob("*.py"):
            if '"websocket.accept"' in source.read_text(errors="replace"):
                return None
    return "this wirespeed's ASGI mode does not serve the websocket scope (nothing handles websocket.accept)"


def _ws_limit_argv(port: int, workload: str, scratch: Path) -> list[str]:
    return [PYTHON, str(SERVERS_DIR / "tcp_echo_limit.py"), str(port)]


def _wirespeed_version() -> str:
    commit = command_version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return f"{_dist_version('wirespeed')} ({commit})"


SERVERS: dict[str, ServerDef] = {
    s.name: s
    for s in (
        ServerDef(
            "nginx",
            "nginx (1 worker)",
            NATIVE | TLS,
            _nginx_argv,
            _nginx_unavailable,
            _nginx_version,
            note="return 200; JSON from a regex location; echo module (or njs) for POST /echo; "
            "static files with sendfile on, tcp_nopush on, no open_file_cache; "
            "TLS with the bench certificate, ssl_protocols TLSv1.2 TLSv1.3, OpenSSL's ciphers",
            variant=_tls_variant,
        ),
        ServerDef(
            "limit",
            "uvloop, no parsing (limit)",
            frozenset({"plaintext", "pipelined", "json"}),
            _limit_argv,
            lambda: _python_module_missing("uvloop"),
            lambda: _dist_version("uvloop"),
            note="fixed response per b'\\r\\n\\r\\n'; cannot echo or serve files (n/a)",
            fixed_response=True,
            variant=lambda workload: "json" if workload == "json" else "text",
        ),
        ServerDef(
            "socketify",
            "socketify",
            NATIVE - STATIC,
            _socketify_argv,
            lambda: _python_module_missing("socketify"),
            lambda: _dist_version("socketify"),
            note="static files not benchmarked",
        ),
        ServerDef(
            "granian",
            "granian (rsgi)",
            ALL - TLS,
            _granian_argv,
            lambda: _python_module_missing("granian"),
            lambda: _dist_version("granian"),
            note="static files by granian's own --static-path-mount (sent chunked, no Content-Length); "
            "the ASGI and WebSocket workloads with --interface asgi and the ASGI app",
            chunked_files=True,
            variant=_granian_variant,
            workload_labels={workload: "granian (asgi)" for workload in ASGI | WS},
        ),
        ServerDef(
            "uvicorn",
            "uvicorn + httptools",
            ALL - STATIC - TLS,
            _uvicorn_argv,
            lambda: _python_module_missing("uvicorn") or _python_module_missing("httptools"),
            lambda: _dist_version("uvicorn"),
            note="static files not benchmarked (uvicorn serves none itself)",
            variant=_uvicorn_variant,
            ws_unavailable=lambda: _python_module_missing("websockets"),
            workload_labels={workload: "uvicorn + websockets" for workload in WS},
        ),
        ServerDef(
            "wirespeed",
            "wirespeed (App)",
            NATIVE | WS | TLS,
            _wirespeed_argv,
            lambda: _python_module_missing("wirespeed"),
            _wirespeed_version,
            note="static files by `wirespeed --static DIR` (StaticFiles, default cache)",
            variant=_static_variant,
            ws_unavailable=_wirespeed_ws_unavailable,
        ),
        ServerDef(
            "wirespeed-accesslog",
            "wirespeed, access log on",
            frozenset({"plaintext", "pipelined"}),
            _wirespeed_accesslog_argv,
            lambda: _python_module_missing("wirespeed"),
            _wirespeed_version,
            note="the access log on (combined format) to a file through a FileHandler (--log-config); "
            "its cost is the ratio to wirespeed, whose access log is off",
        ),
        ServerDef(
            "wirespeed-nocache",
            "wirespeed, static cache off",
            STATIC,
            lambda port, workload, scratch: wirespeed_static_argv(
                static_root(scratch), port, "--static-cache-size", "0"
            ),
            lambda: _python_module_missing("wirespeed"),
            _wirespeed_version,
            note="static workloads only (`wirespeed --static DIR --static-cache-size 0`)",
        ),
        ServerDef(
            "wirespeed-asgi",
            "wirespeed (ASGI)",
            ASGI | WS,
            _wirespeed_asgi_argv,
            _wirespeed_asgi_unavailable,
            _wirespeed_version,
            note="ASGI and WebSocket workloads only (`wirespeed MODULE:app --interface asgi`)",
            variant=_asgi_app,
            ws_unavailable=_wirespeed_asgi_ws_unavailable,
        ),
        ServerDef(
            "ws-limit",
            "uvloop TCP echo, no WebSocket (limit)",
            WS,
            _ws_limit_argv,
            lambda: _python_module_missing("uvloop"),
            lambda: _dist_version("uvloop"),
            note="WebSocket workloads only: the client's frames echoed as they came, no handshake or framing",
            raw_echo=True,
        ),
    )
}
