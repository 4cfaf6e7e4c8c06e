"""The access log: one line per answer, in nginx's `log_format` language, written in batches.

Strategy: this module owns what is said about each answer and when it is written. The request
path writes nothing: the lines go to the logger `wirespeed.access` in batches, as ONE record
at INFO whose message is the lines joined by newlines. One record per batch, not per line, is
what keeps the log within its budget: a `logging` record costs more than a whole plaintext
request. A handler for this logger should therefore format with "%(message)s" (the command
line's own handler does).
A loop timer (`interval`, 100 ms) writes the batch, or the next loop turn once it is full.
Lines still recorded when the server stops are written by `close`.

The protocol's fast path does not even test for the log: it hands the request it answers to
the server's writer along with the result, and while the log is on that writer
(`response_writer`) records the answers made there. Other answers are recorded by the
connection code (`answered`, `sent`, `rejected`).

How an answer is recorded depends on the format:
- the default formats ("combined", "common"), with the Rust parser backend and proxy_headers
  off (then $remote_addr is the connection's peer), have a native twin,
  `wirespeed._parser.access_sink` (rust/python_access.rs): each answer is made into its line
  when it is recorded, into a text the batch takes whole, so nothing of the request is kept
  (`native_sink`). The bytes are those of the batch function compiled here, which makes the
  line of an answer the native code does not expect (a value of another type);
- every other format records a small tuple in `pending` (the request, the status and sizes of
  the answer, and a read of the monotonic clock), and the format, compiled once into a Python
  function, turns the batch into lines. The values that repeat from line to line (request
  lines, user agents, referers) are escaped once and kept.

The format is nginx's: `$name` or `${name}` variables between literal text, `$$` for a literal
`$` (a `$` that starts no name is literal too); an unknown variable is an error when the format
is compiled (at startup). Presets by name: "combined" (the default: nginx's default, which log
analysers read as it is), "common", and "json" (one JSON object a line). Values taken from the
client (the request line, headers) are escaped as nginx does: `"`, `\\` and bytes outside
printable ASCII become `\\xHH`.

Times ($request_time): from when the request was handed to its handler (or queued behind
another) to when its answer was handed to the transport, or its last byte sent (a streamed or
file body). An answer made at once, in the turn its request arrived, is logged as such: 0.000,
as nginx logs the answers it makes from memory.

Whether the server logs at all is settled when it starts (`enabled`): off, or a logger that
would drop INFO records, and the connections record nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable
from time import monotonic
from types import MethodType
from typing import TYPE_CHECKING, Any

from .writer import ResponseWriter


if TYPE_CHECKING:
    from .protocol import HttpProtocol
    from .request import Request

access_logger = logging.getLogger("wirespeed.access")

PRESETS: dict[str, str] = {
    "combined": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"',
    "common": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
}
JSON_PRESET = "json"
DEFAULT_FORMAT = "combined"

# How often pending lines are written, and how many may wait before they are written sooner
# (at the next loop turn). An entry holds its request until then, and with it an inline body
# of up to inline_body_size: the bound keeps what a flood of answered requests can hold small.
WRITE_INTERVAL = 0.1
MAX_PENDING = 256
# The native sink holds lines, not requests: its batch is written once it has this many bytes.
MAX_PENDING_BYTES = 64 * 1024

# A formatter: (request or None, connection, status, body bytes, bytes sent, start, end,
# the connection's count of requests) -> the line.
LineFormatter = Callable[["Request | None", "HttpProtocol", int, int, int, float, float, int], str]

_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+)|(\$))")

# nginx's escaping of logged values (ngx_http_log_escape): `"`, `\`, and bytes below 0x20 or
# from 0x7f up become \xHH (upper-case hex).
_ESCAPED = re.compile(rb'["\\\x00-\x1f\x7f-\xff]')


def _escape_byte(match: re.Match[bytes]) -> bytes:
    return b"\\x%02X" % match[0][0]


# Values logged are mostly the same few (user agents, referers, request lines): their logged
# form is kept, up to this many of each kind (then the memory starts over).
CACHE_SIZE = 1024
_escaped: dict[bytes, str] = {}
_request_lines: dict[tuple[str, str, int], str] = {}


def _escape(value: bytes) -> str:
    if _ESCAPED.search(value) is not None:
        value = _ESCAPED.sub(_escape_byte, value)
    return value.decode("ascii")


def escape(value: bytes) -> str:
    """A value from the client as nginx logs it (ASCII out, whatever came in)."""
    text = _escaped.get(value)
    if text is None:
        if len(_escaped) >= CACHE_SIZE:
            _escaped.clear()
        text = _escaped[value] = _escape(value)
    return text


def _escape_text(value: str) -> str:
    return escape(value.encode("latin-1", "replace"))


# -- the values behind the variables
def _header(request: Request | None, name: bytes) -> bytes | None:
    if request is None:
        return None
    for field, value in request[3]:  # RAW_HEADERS
        if field == name:
            return value  # type: ignore[no-any-return]
    return None


def logged(value: bytes | None) -> str:
    """A header's value as logged: escaped, or "-" when there is none."""
    if value is None:
        return "-"
    text = _escaped.get(value)
    return escape(value) if text is None else text


def header_value(request: Request | None, name: bytes) -> str:
    value = _header(request, name)
    return "-" if value is None else escape(value)


def request_line(request: Request | None) -> str:
    if request is None:
        return "-"
    key = (request[0], request[1], request[2])  # METHOD, TARGET, VERSION
    line = _request_lines.get(key)
    if line is None:
        if len(_request_lines) >= CACHE_SIZE:
            _request_lines.clear()
        line = _request_lines[key] = _escape_text(f"{request[0]} {request[1]} HTTP/1.{request[2]}")
    return line


def request_uri(request: Request | None) -> str:
    return "-" if request is None else _escape_text(request[1])


def request_path(request: Request | None) -> str:
    if request is None:
        return "-"
    target = request[1]
    return _escape_text(target.partition("?")[0])


def request_args(request: Request | None) -> str:
    if request is None:
        return "-"
    return _escape_text(request[1].partition("?")[2])


def request_method(request: Request | None) -> str:
    return "-" if request is None else _escape_text(request[0])


def server_protocol(request: Request | None) -> str:
    return "-" if request is None else f"HTTP/1.{request[2]}"


def _client(request: Request | None, connection: HttpProtocol) -> tuple[str, int] | None:
    """The request's client (the one a trusted proxy names, with proxy_headers on, like nginx's
    realip module), else the connection's peer."""
    if request is None or connection.state.proxy_trust is None:
        return connection.client
    return request.client


def remote_addr(request: Request | None, connection: HttpProtocol) -> str:
    client = _client(request, connection)
    return "-" if client is None else client[0]


def remote_port(request: Request | None, connection: HttpProtocol) -> str:
    client = _client(request, connection)
    return "-" if client is None else str(client[1])


def scheme(request: Request | None, connection: HttpProtocol) -> str:
    return connection.scheme if request is None else request.scheme


def host(request: Request | None) -> str:
    """The Host field without its port, lower-cased."""
    value = _header(request, b"host")
    if value is None:
        return "-"
    colon = value.rfind(b":")
    if colon > value.rfind(b"]"):  # a port (an IPv6 literal's colons are inside brackets)
        value = value[:colon]
    return escape(value.lower())


class _Clock:
    """Times as text, made once a second (many lines share the second): `local` and `iso` are
    the texts of the second from `since` (included) to `until` (excluded)."""

    __slots__ = ("iso", "local", "since", "until")

    def __init__(self) -> None:
        self.since = self.until = 0.0
        self.local = self.iso = ""

    def update(self, when: float) -> None:
        second = int(when)
        self.since, self.until = float(second), float(second + 1)
        stamp = time.localtime(second)
        offset = time.strftime("%z", stamp)
        self.local = time.strftime("%d/%b/%Y:%H:%M:%S ", stamp) + offset
        self.iso = time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + offset[:3] + ":" + offset[3:]

    def time_local(self, when: float) -> str:
        if not self.since <= when < self.until:
            self.update(when)
        return self.local

    def time_iso8601(self, when: float) -> str:
        if not self.since <= when < self.until:
            self.update(when)
        return self.iso


# Every variable: the Python expression of its value, in terms of the formatter's arguments
# (r: request or None, c: connection, status, body, sent, start, end, n: the count of requests
# on the connection), this module's helpers, and the locals that the statements of PRELUDES
# set first (each once, whichever variables need them). $http_NAME is handled apart.
VARIABLES: dict[str, str] = {
    "remote_addr": "(cl[0] if cl else DASH)",
    "remote_port": "(cl[1] if cl else DASH)",
    "remote_user": "DASH",
    "time_local": "clock.local",
    "time_iso8601": "clock.iso",
    "msec": "msec(end)",
    "request": "rl",
    "request_method": "request_method(r)",
    "request_uri": "request_uri(r)",
    "uri": "request_path(r)",
    "args": "request_args(r)",
    "host": "host(r)",
    "scheme": "scheme(r, c)",
    "server_protocol": "server_protocol(r)",
    "status": "status",
    "body_bytes_sent": "body",
    "bytes_sent": "sent",
    "request_time": "request_time(start, end)",
    "connection": "c.number",
    "connection_requests": "n",
    "pid": "pid",
}


# What some variables need computed first (the line function's opening statements).
PRELUDES: dict[str, str] = {
    # The connection's peer, looked up when it was accepted (`client_address`), unless a
    # trusted proxy's word is taken (PROXY_HEADERS: Config.proxy_headers, fixed when compiled).
    "remote_addr": "cl = c.client_address if r is None or not PROXY_HEADERS else r.client",
    "time_local": "if not clock.since <= end < clock.until:\n        clock.update(end)",
    "request": "rl = DASH if r is None else RL.get((r[0], r[1], r[2])) or request_line(r)",
}
PRELUDES["remote_port"] = PRELUDES["remote_addr"]
PRELUDES["time_iso8601"] = PRELUDES["time_local"]


def _prelude(names: list[str]) -> str:
    statements = dict.fromkeys(PRELUDES[name] for name in names if name in PRELUDES)
    return "".join(f"    {statement}\n" for statement in statements) + _header_prelude(names)


def _expression(name: str) -> str:
    """The Python expression of a variable's value (with no quotes or backslashes: it goes
    inside an f-string). A header's value is a local of the function, found by its prelude
    (`_header_prelude`); its name a constant of the function's namespace."""
    if name.startswith("http_") and len(name) > 5:
        value = f"h_{name[5:].lower()}"
        return f"(DASH if {value} is None else ESC.get({value}) or escape({value}))"
    expression = VARIABLES.get(name)
    if expression is None:
        raise ValueError(f"access_log_format: unknown variable ${name}")
    return expression


def parse_format(spec: str) -> list[tuple[bool, str]]:
    """The format as (is_variable, text) parts: a preset's name stands for its format.
    Raises ValueError for an unknown variable."""
    spec = PRESETS.get(spec, spec)
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _VARIABLE.finditer(spec):
        if match.start() > position:
            parts.append((False, spec[position : match.start()]))
        position = match.end()
        if match[3] is not None:
            parts.append((False, "$"))
            continue
        name = match[1] if match[1] is not None else match[2]
        if not name:
            raise ValueError("access_log_format: empty variable name ${}")
        _expression(name)  # unknown -> ValueError
        parts.append((True, name))
    if position < len(spec):
        parts.append((False, spec[position:]))
    merged: list[tuple[bool, str]] = []
    for part in parts:  # literal pieces side by side become one
        if merged and not part[0] and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + part[1])
        else:
            merged.append(part)
    return merged


def msec(end: float) -> str:
    return f"{end:.3f}"


def request_time(start: float, end: float) -> str:
    return f"{max(end - start, 0.0):.3f}"


def _namespace(pid: int, names: list[str], proxy_headers: bool) -> dict[str, Any]:
    headers = {
        f"HTTP_{name[5:].lower()}": name[5:].lower().replace("_", "-").encode("ascii")
        for name in names
        if name.startswith("http_")
    }
    return {
        **headers,
        "DASH": "-",
        "PROXY_HEADERS": proxy_headers,
        "scheme": scheme,
        "msec": msec,
        "request_time": request_time,
        "remote_addr": remote_addr,
        "remote_port": remote_port,
        "request_line": request_line,
        "request_method": request_method,
        "request_uri": request_uri,
        "request_path": request_path,
        "request_args": request_args,
        "server_protocol": server_protocol,
        "header_value": header_value,
        "logged": logged,
        "escape": escape,
        "ESC": _escaped,
        "RL": _request_lines,
        "host": host,
        "clock": _Clock(),
        "pid": pid,
        "json_dumps": json.dumps,
    }


def _header_prelude(names: list[str]) -> str:
    """The start of a line function that has $http_ variables: one pass over the request's
    fields finds all of them (the first of each name), as locals h_NAME."""
    wanted = list(dict.fromkeys(name[5:].lower() for name in names if name.startswith("http_")))
    if not wanted:
        return ""
    lines = ["    " + " = ".join(f"h_{name}" for name in wanted) + " = None\n"]
    lines.append("    if r is not None:\n        for field, value in r[3]:\n")
    for index, name in enumerate(wanted):
        keyword = "if" if index == 0 else "elif"
        lines.append(f"            {keyword} field == HTTP_{name}:\n")
        lines.append(f"                if h_{name} is None:\n                    h_{name} = value\n")
    return "".join(lines)


def _compiled(spec: str, pid: int, proxy_headers: bool = False) -> tuple[dict[str, Any], str, str]:
    """The format as (namespace, prelude statements indented by 4, the line's expression)."""
    if spec == JSON_PRESET:
        names = ["http_referer", "http_user_agent"]
        expression = (
            "json_dumps({"
            "'time': clock.time_iso8601(end), 'remote_addr': remote_addr(r, c), 'remote_port': remote_port(r, c), "
            "'request': request_line(r), 'method': request_method(r), 'uri': request_uri(r), "
            "'protocol': server_protocol(r), 'status': status, 'body_bytes_sent': body, 'bytes_sent': sent, "
            "'request_time': round(max(end - start, 0.0), 3), 'referer': logged(h_referer), "
            "'user_agent': logged(h_user_agent), 'connection': c.number, "
            "'connection_requests': n, 'pid': pid})"
        )
        return _namespace(pid, names, proxy_headers), _header_prelude(names), expression
    parts = parse_format(spec)
    names = [text for is_variable, text in parts if is_variable]
    pieces = []
    for is_variable, text in parts:
        if is_variable:
            pieces.append("{" + _expression(text) + "}")
        else:
            pieces.append(text.replace("{", "{{").replace("}", "}}"))
    return _namespace(pid, names, proxy_headers), _prelude(names), "f" + repr("".join(pieces))


def _function(spec: str, source: str, namespace: dict[str, Any], name: str) -> Any:
    exec(compile(source, f"<access_log_format {spec[:40]!r}>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace[name]


def compile_format(spec: str, pid: int | None = None) -> LineFormatter:
    """The format (or a preset's name) compiled into one function that makes a line.
    Raises ValueError for an unknown variable."""
    namespace, prelude, expression = _compiled(spec, os.getpid() if pid is None else pid)
    source = f"def line(r, c, status, body, sent, start, end, n):\n{prelude}    return {expression}\n"
    return _function(spec, source, namespace, "line")  # type: ignore[no-any-return]


# The batch: AccessLog's entries (see there) as lines, the line's code inlined in the loop.
_BATCH = """def lines(pending, offset):
    made = []
    append = made.append
    for entry in pending:
        r = entry[0]
        if len(entry) == 4:
            c = r[6]
            status = 200
            body = entry[1]
            sent = entry[2]
            start = end = entry[3] + offset
        else:
            _, status, body, sent, start, end, c = entry
            start += offset
            end += offset
{count}{prelude}        append({expression})
    return made
"""


def compile_batch(
    spec: str, pid: int | None = None, proxy_headers: bool = False
) -> Callable[[list[Any], float], list[str]]:
    """The format compiled into a function that makes the lines of a batch of entries.
    proxy_headers: the server's Config.proxy_headers ($remote_addr is then the request's client)."""
    namespace, prelude, expression = _compiled(spec, os.getpid() if pid is None else pid, proxy_headers)
    prelude = "".join("    " + line + "\n" for line in prelude.splitlines())
    counted = spec == JSON_PRESET or "connection_requests" in spec
    count = "        n = c.logged = c.logged + 1\n" if counted else ""
    source = _BATCH.format(prelude=prelude, expression=expression, count=count)
    return _function(spec, source, namespace, "lines")  # type: ignore[no-any-return]


# The presets that `wirespeed._parser.access_sink` makes: name -> its `common` argument.
NATIVE_PRESETS: dict[str, bool] = {"combined": False, "common": True}

# A native sink's functions: answer(request, data), entry(request, status, body, sent,
# connection) (each True when the lines are due to be written), take() -> the lines' text.
NativeSink = tuple[Callable[[Any, bytes], bool], Callable[[Any, int, int, int, Any], bool], Callable[[], str]]


def native_sink(
    spec: str,
    python_batch: Callable[[list[Any], float], list[str]],
    backend: str,
    proxy_headers: bool = False,
    now: Callable[[], float] | None = None,
) -> NativeSink | None:
    """The native twin of `python_batch` (the function `compile_batch(spec)` made), or None
    when there is none: a format other than the presets "combined" and "common" (by name or by
    their text), proxy_headers on, or a parser backend other than "rust" (`backend`: the
    server's, as `wirespeed.parser.resolve_backend` names it). `python_batch` makes the line of
    an answer the native code does not expect; `now` is the time source (default: the system
    clock, read natively)."""
    common = NATIVE_PRESETS.get(spec)
    if common is None:
        common = next((value for name, value in NATIVE_PRESETS.items() if PRESETS[name] == spec), None)
    if common is None or proxy_headers or backend != "rust":
        return None
    try:
        from ._parser import access_sink  # only with the Rust backend
    except ImportError:
        return None
    clock = python_batch.__globals__["clock"]  # one clock for both

    def fallback(request: Any, status: int, body: int, sent: int, connection: Any) -> str | None:
        """The line of one answer, made by the Python batch function (None: no line)."""
        end = time.time() if now is None else now()  # wall-clock: made with an offset of 0
        if connection is None:  # the fast path's
            entry: tuple[Any, ...] = (request, body, sent, end)
        else:
            entry = (request, status, body, sent, end, end, connection)
        try:
            [line] = python_batch([entry], 0.0)
        except Exception:  # a faulty line must not stop the server, or the log's other lines
            logging.getLogger("wirespeed.error").exception("access log line could not be made")
            return None
        return line

    return access_sink(common, clock, fallback, MAX_PENDING_BYTES, now)  # type: ignore[no-any-return]


def check_format(spec: str) -> None:
    """Raise ValueError when `spec` is not a valid access log format."""
    compile_format(spec, 0)


# The status of an answer from the bytes of its status line ("HTTP/1.1 200 ...": bytes 9-12).
_STATUS_CODES = {b"%d" % code: code for code in range(100, 1000)}


def _answer_sizes(data: bytes) -> tuple[int, int, int]:
    """(status, body bytes, bytes) of one whole answer as it went on the wire."""
    head_end = data.find(b"\r\n\r\n")
    size = len(data)
    return _STATUS_CODES[data[9:12]], (size - head_end - 4 if head_end >= 0 else 0), size


class AccessLog:
    """The access log of one server (in one process): the answers recorded and their writing.

    With a native sink (`native`), each answer's line is made when it is recorded. Otherwise
    `pending` holds an entry per answer, with its times read from the monotonic clock (turned
    into wall-clock times when lines are made), and sizes, never the answer's bytes:
    - (request, body bytes, bytes, time): a 200 made by the protocol's fast path and handed
      to the transport at that time (`record_answer`);
    - (request, status, body bytes, bytes, start, end, connection): any other answer, whole
      (`answered`) or sent in pieces (`sent`), or one to bytes that were not a request
      (request None, `rejected`).
    """

    __slots__ = (
        "_entry",
        "_interval",
        "_lines",
        "_logger",
        "_loop",
        "_soon",
        "_take",
        "_timer",
        "connections",
        "pending",
        "record_answer",
    )

    def __init__(
        self,
        spec: str,
        loop: asyncio.AbstractEventLoop,
        logger: logging.Logger = access_logger,
        interval: float = WRITE_INTERVAL,
        proxy_headers: bool = False,
        backend: str = "httptools",
    ) -> None:
        """backend: the server's parser backend ("rust": the default formats' lines are made
        natively, `native_sink`)."""
        self._lines = compile_batch(spec, proxy_headers=proxy_headers)
        sink = native_sink(spec, self._lines, backend, proxy_headers)
        # The fast path's recorder: answer(request, data) -> whether the batch is due.
        self.record_answer: Callable[[Any, bytes], bool]
        self._entry: Callable[[Any, int, int, int, Any], bool] | None
        self._take: Callable[[], str] | None
        if sink is None:
            self.record_answer, self._entry, self._take = self._pend_answer, None, None
        else:
            self.record_answer, self._entry, self._take = sink
        self._logger = logger
        self._loop = loop
        self._interval = interval
        self._timer: asyncio.TimerHandle | None = None
        self._soon = False
        self.pending: list[Any] = []
        self.connections = 0  # connections numbered so far ($connection)

    @staticmethod
    def enabled(on: bool, logger: logging.Logger = access_logger) -> bool:
        """Whether a server should keep an access log: it is on and its records would go out."""
        return on and logger.isEnabledFor(logging.INFO)

    def response_writer(self, server_header: str | None) -> ResponseWriter:
        """The server's writer while this log is on: it records the fast path's answers."""
        return LoggingResponseWriter(server_header, self)

    # -- the connections' side
    def start_of(self, connection: HttpProtocol, request: Request) -> float:
        """When `request` arrived: as noted when it was handed to its handler or queued, or
        (a request answered in the turn it came in) now."""
        began = connection.began
        if began is not None and began[0] is request:
            return began[1]  # type: ignore[no-any-return]
        arrived = connection.arrived
        if arrived:
            start = arrived.pop(id(request), None)
            if start is not None:
                return start  # type: ignore[no-any-return]
        return monotonic()

    def answered(self, connection: HttpProtocol, request: Request, data: bytes) -> None:
        """A whole answer to `request`, written now (its sizes are kept, not its bytes: a
        client that pipelines requests for large answers must not make the log hold them)."""
        start = self.start_of(connection, request)
        self._add(request, *_answer_sizes(data), start, connection)

    def sent(self, connection: HttpProtocol, request: Request | None, status: int, body: int, size: int) -> None:
        """An answer whose last byte has just gone (request None: to bytes that were no request)."""
        start = None if request is None else self.start_of(connection, request)
        self._add(request, status, body, size, start, connection)

    def rejected(self, connection: HttpProtocol, data: bytes) -> None:
        """An error answer to bytes that were not a request (a parse error, a refusal)."""
        self._add(None, *_answer_sizes(data), None, connection)

    def _add(
        self, request: Request | None, status: int, body: int, size: int, start: float | None, connection: HttpProtocol
    ) -> None:
        """One answer that ends now (start None: it began now too)."""
        entry = self._entry
        if entry is not None:
            due = entry(request, status, body, size, connection)
        else:
            end = monotonic()
            pending = self.pending
            pending.append((request, status, body, size, end if start is None else start, end, connection))
            due = len(pending) >= MAX_PENDING
        if due:
            self.write_soon()

    def _pend_answer(self, request: Request, data: bytes) -> bool:
        """`record_answer` without a native sink: the fast path's 200, as an entry (its head
        ends at its first blank line)."""
        size = len(data)
        pending = self.pending
        pending.append((request, size - data.find(b"\r\n\r\n") - 4, size, monotonic()))
        return len(pending) >= MAX_PENDING

    def write_soon(self) -> None:
        """Write the batch at the next loop turn (a full batch)."""
        if not self._soon:
            self._soon = True
            self._loop.call_soon(self.write)

    # -- writing
    def start(self) -> None:
        self._timer = self._loop.call_later(self._interval, self._tick)

    def _tick(self) -> None:
        self.write()
        self._timer = self._loop.call_later(self._interval, self._tick)

    def close(self) -> None:
        """Stop the timer and write whatever is recorded."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.write()

    def text(self) -> str:
        """The lines recorded, in order, joined by newlines ("" for none), and none recorded
        after."""
        self._soon = False
        take = self._take
        if take is not None:
            return take()
        pending = self.pending
        if not pending:
            return ""
        self.pending = []
        return "\n".join(self._lines(pending, time.time() - monotonic()))  # monotonic -> wall clock

    @property
    def native(self) -> bool:
        """Whether the lines are made natively (`native_sink`)."""
        return self._take is not None

    def write(self) -> None:
        """Write the lines recorded as one record (dropped if the logger no longer takes INFO)."""
        try:
            text = self.text()
        except Exception:  # a faulty line must not stop the server, or the log's other lines
            logging.getLogger("wirespeed.error").exception("access log lines could not be made")
            return
        if text and self._logger.isEnabledFor(logging.INFO):
            self._logger.info(text)

    def next_connection(self) -> int:
        self.connections += 1
        return self.connections


def _recording(
    answer: Callable[[Any], bytes], record: Callable[[Any, bytes], bool], due: Callable[[], object]
) -> Callable[..., bytes]:
    """`keep_alive_result(result, request=None)`: `answer(result)`, recorded by `record`, and
    `due()` when that says the lines are due (the twin of `wirespeed._parser.recording`)."""

    def keep_alive_result(result: Any, request: Any = None) -> bytes:
        data = answer(result)
        if record(request, data):
            due()
        return data

    return keep_alive_result


try:
    from ._parser import recording
except ImportError:  # no extension: the Python twin
    recording = _recording


class LoggingResponseWriter(ResponseWriter):
    """The server's writer while the access log is on: its `keep_alive_result` (the answers
    the protocol's fast path makes, to which it hands the request it answers) also records
    them with the log's `record_answer`. So the fast path itself tests nothing for the log, and
    costs nothing more when it is off. That method is a `recording` function made for this
    writer (held in a slot of its name): the answer and its record in one native call, where
    a method would cost a Python frame per answer."""

    __slots__ = ("access", "keep_alive_result")

    def __init__(self, server_header: str | None, access: AccessLog) -> None:
        super().__init__(server_header)
        self.access = access
        answer = MethodType(ResponseWriter.keep_alive_result, self)
        self.keep_alive_result = recording(answer, access.record_answer, access.write_soon)  # type: ignore[method-assign]


__all__ = [
    "DEFAULT_FORMAT",
    "JSON_PRESET",
    "PRESETS",
    "VARIABLES",
    "AccessLog",
    "LoggingResponseWriter",
    "access_logger",
    "check_format",
    "compile_batch",
    "compile_format",
    "escape",
    "native_sink",
    "parse_format",
]
