"""Every limit, timeout and switch of the server, in one frozen object.

Strategy: this module owns the names and defaults of all settings. Both parser backends,
the protocol, the server and the CLI read their limits from a `Config`; nothing else in the
package defines a limit of its own. It must not import any other wirespeed module.

Defaults follow what production servers use: nginx reads request heads in 8 KiB lines
(`large_client_header_buffers 4 8k`), h11 and uvicorn cap a head at 16 KiB, and 100 fields
is the common cap on the number of header fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

ParserName = Literal["auto", "rust", "httptools"]
InterfaceName = Literal["auto", "native", "asgi"]
LifespanMode = Literal["auto", "on", "off"]
LoopName = Literal["auto", "uvloop", "asyncio"]
WebSocketMode = Literal["auto", "on", "off"]
CertReqs = Literal["none", "optional", "required"]


@dataclass(frozen=True, slots=True)
class Config:
    """Settings for one server. Frozen: build a new one with `Config.replace`."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Parser backend: "rust" (the extension), "httptools" (the twin), or "auto" (Rust when
    # the extension imports, else httptools). The WIRESPEED_PARSER environment variable
    # overrides "auto".
    parser: ParserName = "auto"
    loop: LoopName = "auto"
    # Value of the Server header on every response; None leaves the header out.
    server_header: str | None = "wirespeed"
    log_level: str = "info"
    # What the app is: "native" (a wirespeed.App), "asgi" (an ASGI 3 app, or an ASGI 2 class),
    # or "auto" to tell from the object.
    interface: InterfaceName = "auto"
    # The ASGI lifespan protocol: "on" requires the app to take part, "off" never starts it,
    # "auto" starts it and goes on without it if the app does not support it.
    lifespan: LifespanMode = "auto"
    # The path an ASGI app is mounted at behind a proxy: the scope's root_path, and the start
    # of every scope's path.
    root_path: str = ""
    # Lines logged (at info) about rejected requests in any one second; the rest are counted
    # and summarised, so a flood of garbage cannot flood the log.
    client_error_log_rate: int = 10
    backlog: int = 2048
    # On SIGTERM/SIGINT, how long responses in flight may take before connections are cut.
    shutdown_timeout: float = 30.0
    # After the last answer on a connection the server closes, how long it keeps reading (and
    # dropping) what the client still sends, so the client can read that answer (RFC 9112
    # §9.6). 0 closes at once.
    lingering_timeout: float = 5.0

    # Timeouts, in seconds (0 turns one off). They are checked by one sweep over the
    # connections a few times a second, so they hold to within a fraction of a second.
    # A request head (from accept, or from its first byte on a kept-alive connection) must
    # arrive within header_timeout: 408 if part of it came, a plain close if nothing did.
    header_timeout: float = 10.0
    # The longest gap between bytes of a request body a handler is waiting for -> 408.
    body_timeout: float = 30.0
    # How long a kept-alive connection may wait for its next request; then a plain close.
    keep_alive_timeout: float = 5.0
    # How long a client may leave written bytes unread (the transport's buffer full); then
    # the connection is cut.
    write_timeout: float = 30.0

    # Connection limits.
    # Open connections at most; a connection past it is answered 503 and closed. None: the
    # process's file-descriptor limit (soft RLIMIT_NOFILE) less 64, so accepting never fails
    # for want of descriptors; 0: no limit.
    max_connections: int | None = None
    # Requests answered on one connection; the last one says Connection: close. 0: no limit.
    max_requests_per_connection: int = 10_000
    # Worker processes: 0 (or 1) serves in this process; N > 1 pre-forks N workers sharing the
    # port under a supervisor that restarts any that die.
    workers: int = 0

    # Request parsing limits, honoured identically by both parser backends.
    max_head_size: int = 16 * 1024  # request line + fields + blank line -> 431
    max_headers: int = 100  # number of header fields -> 431
    max_target_length: int = 8 * 1024  # request-target bytes -> 414
    max_body_size: int = 16 * 1024 * 1024  # decoded body bytes -> 413
    # Bodies with a Content-Length up to this size are delivered whole with their request;
    # larger and chunked bodies, and any a client holds back for 100 Continue, are delivered
    # as chunks while they arrive.
    inline_body_size: int = 64 * 1024
    # Body bytes held for a handler that has not read them yet; beyond this, reading pauses.
    max_buffered_body: int = 1024 * 1024
    # Pipelined requests waiting behind a running one; beyond this, reading pauses.
    max_pipelined: int = 128

    # Static files. Files up to static_cache_file_size are kept in memory, up to
    # static_cache_size bytes for each mounted folder in each process, and checked against the
    # disk (one stat) on every request; larger files, and all of them when static_cache_size
    # is 0, are sent from the page cache with sendfile(2).
    static_cache_size: int = 32 * 1024 * 1024
    static_cache_file_size: int = 64 * 1024
    # Byte ranges in one Range field answered as ranges (coalesced, one part or a
    # multipart/byteranges 206); a field with more is ignored and the whole file sent (200).
    # 200 is Apache's MaxRanges (nginx's max_ranges has no limit unless set): more than
    # clients ask for, few enough that one request cannot cost much.
    # 0 turns ranges off (Accept-Ranges: none).
    max_ranges: int = 200

    # WebSockets (RFC 6455). "on" answers every `Upgrade: websocket` request as a handshake
    # (a route without a WebSocket handler declines it); "off" serves such requests as plain
    # HTTP, Upgrade ignored (RFC 9110 §7.8); "auto" is on for ASGI apps and for a native App
    # with at least one WebSocket route.
    ws: WebSocketMode = "auto"
    # A message larger than this (after decompression) ends the connection with 1009.
    ws_max_message_size: int = 16 * 1024 * 1024
    # A frame that announces a payload larger than this ends the connection with 1009, before
    # any of its payload is read.
    ws_max_frame_size: int = 16 * 1024 * 1024
    # Outgoing bytes a WebSocket may have queued in the transport before `send` waits for the
    # client to read (the transport's high-water mark).
    ws_max_queued: int = 1024 * 1024
    # permessage-deflate (RFC 7692): offered compression is accepted unless this is False.
    ws_per_message_deflate: bool = True
    # Server pings to keep an idle WebSocket alive and find a dead peer: one every
    # ws_ping_interval seconds (0: never); no pong within ws_ping_timeout ends the connection.
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    # How long a closing handshake may take (our close sent, the client's awaited, or the
    # client's answered and its TCP close awaited) before the connection is cut.
    ws_close_timeout: float = 10.0

    # Behind a proxy. The peers trusted to say who the client is (through the proxy headers or
    # the PROXY protocol): comma-separated IP addresses, CIDR networks, "*" for any peer, and
    # "unix" for peers on a Unix socket (trust.py).
    forwarded_allow_ips: str = "127.0.0.1"
    # Read the client's address, the scheme and the host from X-Forwarded-For/-Proto/-Host and
    # RFC 7239 Forwarded, for requests whose peer forwarded_allow_ips trusts (forwarded.py).
    proxy_headers: bool = False

    # Listening sockets (listeners.py), besides host and port. The first of these that is set
    # is served, and the rest ignored: the sockets systemd passed (socket activation: the
    # LISTEN_PID and LISTEN_FDS environment variables, not a field), then `fd`, then `uds`,
    # then host/port. host resolves to every address it names, all bound; "::" is one socket
    # that takes IPv4 clients too.
    # A listening socket inherited as this file descriptor (TCP or Unix).
    fd: int | None = None
    # A Unix domain socket at this path; a stale socket file there (nobody listening) is
    # replaced, anything else in the way is an error. Removed on shutdown.
    uds: str | None = None
    # The file mode of the Unix socket (who may connect): 0o666 lets every local user.
    uds_mode: int = 0o666

    # TLS (tls.py). A certificate turns it on: every connection is then HTTPS (TLS 1.2 at
    # least, ALPN http/1.1). The certificate file may hold the chain after the certificate,
    # and the key too when ssl_keyfile is None; ssl_keyfile_password decrypts an encrypted key.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_keyfile_password: str | None = None
    # Client certificates: "none" asks for none; "optional" asks, and checks one that is sent;
    # "required" refuses a client without one. Checked against the CAs in ssl_ca_certs.
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: CertReqs = "none"
    # An OpenSSL cipher list for TLS 1.2 (TLS 1.3's suites are OpenSSL's); None: its defaults.
    ssl_ciphers: str | None = None
    # Seconds a client has from accept to the end of the TLS handshake; then it is closed.
    ssl_handshake_timeout: float = 10.0

    # Development (reload.py). With reload, the `wirespeed` command runs the server in a child
    # process and starts a new one whenever a watched file changes. It watches the folders of
    # reload_dirs (none given: the current directory); a changed file counts when its name
    # matches one of the reload_includes globs and neither its name nor any folder between it
    # and the watched folder matches one of the reload_excludes globs.
    reload: bool = False
    reload_dirs: tuple[str, ...] = ()
    reload_includes: tuple[str, ...] = ("*.py",)
    reload_excludes: tuple[str, ...] = (
        ".*", "*.py[cod]", "__pycache__", ".venv", "venv", "target", "node_modules", "*~",
    )

    # The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2), for HAProxy and
    # cloud load balancers: every connection must begin with a PROXY header. A trusted peer's
    # header (forwarded_allow_ips) gives the client and server addresses; a header from any
    # other peer, a missing or malformed one closes the connection (proxy_reader.py). The
    # header has no timeout of its own: header_timeout, counted from accept, bounds the header
    # and the first request head together.
    proxy_protocol: bool = False

    # Logging. The access log: a line per answer through the logger "wirespeed.access" at
    # info (on by default, like uvicorn's; it is written only when that logger takes info
    # records), in access_log_format: nginx's log_format variables ($remote_addr, $status,
    # $http_user_agent, ...), or a preset: "combined" (nginx's default), "common", "json".
    # The variables are checked when the server starts (access_log.py).
    access_log: bool = True
    access_log_format: str = "combined"

    def __post_init__(self) -> None:
        for name in ("max_head_size", "max_headers", "max_target_length", "max_body_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout", "write_timeout",
                     "max_connections", "max_requests_per_connection", "workers",
                     "static_cache_size", "static_cache_file_size", "max_ranges"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.client_error_log_rate < 0:
            raise ValueError("client_error_log_rate must not be negative")
        if self.inline_body_size < 0:
            raise ValueError("inline_body_size must not be negative")
        if self.parser not in ("auto", "rust", "httptools"):
            raise ValueError(f"unknown parser {self.parser!r}: use auto, rust or httptools")
        if self.interface not in ("auto", "native", "asgi"):
            raise ValueError(f"unknown interface {self.interface!r}: use auto, native or asgi")
        if self.lifespan not in ("auto", "on", "off"):
            raise ValueError(f"unknown lifespan mode {self.lifespan!r}: use auto, on or off")
        if self.root_path and not self.root_path.startswith("/"):
            raise ValueError("root_path must start with /")
        if self.ws not in ("auto", "on", "off"):
            raise ValueError(f"unknown WebSocket mode {self.ws!r}: use auto, on or off")
        for name in ("ws_max_message_size", "ws_max_frame_size", "ws_max_queued"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("ws_ping_interval", "ws_ping_timeout", "ws_close_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.loop not in ("auto", "uvloop", "asyncio"):
            raise ValueError(f"unknown loop {self.loop!r}: use auto, uvloop or asyncio")
        _check_trust_list(self.forwarded_allow_ips)
        if self.fd is not None and self.fd < 0:
            raise ValueError("fd must not be negative")
        if self.uds is not None and not self.uds:
            raise ValueError("uds must be a path")
        if not 0 <= self.uds_mode <= 0o7777:
            raise ValueError(f"uds_mode must be a file mode (0 to 0o7777), not {self.uds_mode:#o}")
        if self.reload and self.workers > 1:
            raise ValueError("reload runs one server process: it cannot be combined with workers > 1")
        for name in ("reload_dirs", "reload_includes", "reload_excludes"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(item, str) and item for item in value):
                raise ValueError(f"{name} must be a sequence of non-empty strings")
        self._check_tls()
        if not isinstance(self.access_log_format, str) or not self.access_log_format:
            raise ValueError("access_log_format must be a format or a preset (combined, common, json)")

    def _check_tls(self) -> None:
        if self.ssl_cert_reqs not in ("none", "optional", "required"):
            raise ValueError(f"unknown ssl_cert_reqs {self.ssl_cert_reqs!r}: use none, optional or required")
        if not self.ssl_handshake_timeout > 0:
            raise ValueError("ssl_handshake_timeout must be positive")
        if self.ssl_certfile is None:
            for name in ("ssl_keyfile", "ssl_keyfile_password", "ssl_ca_certs", "ssl_ciphers"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} needs ssl_certfile (the server's certificate)")
            if self.ssl_cert_reqs != "none":
                raise ValueError("ssl_cert_reqs needs ssl_certfile (the server's certificate)")
            return
        if not self.ssl_certfile:
            raise ValueError("ssl_certfile must name a file")
        if self.ssl_cert_reqs != "none" and not self.ssl_ca_certs:
            raise ValueError(f"ssl_cert_reqs {self.ssl_cert_reqs} needs ssl_ca_certs (the CAs client certificates are checked against)")
        if self.ssl_ca_certs and self.ssl_cert_reqs == "none":
            raise ValueError("ssl_ca_certs checks client certificates only with ssl_cert_reqs optional or required")
        if self.ssl_ciphers is not None and not self.ssl_ciphers.strip():
            raise ValueError("ssl_ciphers must not be empty (None keeps OpenSSL's defaults)")
        # (Here TLS is on.) The PROXY header comes before the TLS handshake, but the TLS layer
        # reads a connection's first bytes before the protocol sees any.
        if self.proxy_protocol:
            raise ValueError("proxy_protocol cannot be used with TLS (ssl_certfile): the PROXY header would come "
                             "before the TLS handshake; let the load balancer terminate TLS")

    def replace(self, **changes: Any) -> Config:
        """A copy of this config with some settings changed."""
        return dataclasses.replace(self, **changes)


def _check_trust_list(spec: str) -> None:
    """Raise ValueError when `spec` is not a valid forwarded_allow_ips list (the same parse as
    trust.py's, kept here so that this module imports no other wirespeed module)."""
    import ipaddress

    for entry in (part.strip() for part in spec.split(",")):
        if not entry or entry in ("*", "unix"):
            continue
        try:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise ValueError(
                f"forwarded_allow_ips: {entry!r} is not an IP address, a network (such as 10.0.0.0/8), '*' or 'unix'"
            ) from None
