"""The `wirespeed` command: parse flags into a Config, load the app, serve it.

Strategy: this module owns the command line only: flags map one to one onto `Config` fields,
`module:attribute` names an app, and every user error (a bad app path, an address in use,
named as it was given: host:port, unix:PATH, fd N; an unknown parser) ends in one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

from .app import App
from .asgi import LifespanFailure, serving_app
from .asgi.lifespan import STARTUP_FAILED
from .config import Config
from .listeners import ListenError
from .static import StaticFiles

DEFAULTS = Config()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirespeed",
        description="An HTTP/1.1 server for Python. With no APP, serves the demo.",
    )
    parser.add_argument(
        "app",
        nargs="?",
        help="the app to serve, as module:attribute: a wirespeed.App or an ASGI app (default: the demo)",
    )
    asgi = parser.add_argument_group("the app")
    asgi.add_argument(
        "--interface",
        choices=("auto", "native", "asgi"),
        default=DEFAULTS.interface,
        help="what APP is: a wirespeed.App (native), an ASGI 3 app or ASGI 2 class (asgi), "
        "or auto to tell from the object (default auto)",
    )
    asgi.add_argument("--factory", action="store_true", help="APP is a function that returns the app: call it")
    asgi.add_argument(
        "--lifespan",
        choices=("auto", "on", "off"),
        default=DEFAULTS.lifespan,
        help="the ASGI lifespan protocol: on requires it, off skips it, auto uses it when the app "
        "supports it (default auto)",
    )
    asgi.add_argument(
        "--root-path", default=DEFAULTS.root_path, help="the path an ASGI app is mounted at behind a proxy"
    )
    static = parser.add_argument_group("static files")
    static.add_argument(
        "--static", metavar="DIR", help="serve the files under DIR at / (instead of an app), like nginx would"
    )
    static.add_argument("--static-show-hidden", action="store_true", help="serve names that start with a dot")
    static.add_argument(
        "--static-follow-symlinks", action="store_true", help="serve symlinks that point outside DIR"
    )
    static.add_argument(
        "--static-cache-control", metavar="VALUE", help='a Cache-Control header for every file, e.g. "max-age=3600"'
    )
    parser.add_argument("--version", action="version", version=version_line(), help="print the version and exit")
    server = parser.add_argument_group("the server")
    server.add_argument(
        "--host",
        default=DEFAULTS.host,
        help="address to bind; a name is bound on every address it resolves to (localhost: 127.0.0.1 "
        "and ::1); '::' is one dual-stack socket that serves IPv4 clients too, '::1' IPv6 only, "
        f"0.0.0.0 IPv4 only (default {DEFAULTS.host})",
    )
    server.add_argument("--port", type=int, default=DEFAULTS.port, help=f"port to bind (default {DEFAULTS.port})")
    server.add_argument(
        "--parser",
        choices=("auto", "rust", "httptools"),
        default=DEFAULTS.parser,
        help="request parser backend (default auto: rust when built, else httptools)",
    )
    server.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default=DEFAULTS.loop, help="event loop (default auto)"
    )
    server.add_argument("--server-header", default=DEFAULTS.server_header, help="value of the Server header")
    server.add_argument("--no-server-header", action="store_true", help="send no Server header")
    server.add_argument(
        "--workers",
        type=int,
        default=DEFAULTS.workers,
        help="worker processes sharing the port under a supervisor that restarts them; "
        "0 or 1 serves in this process (default 0)",
    )
    limits = parser.add_argument_group("limits")
    for name, help_text in (
        ("max_head_size", "bytes in a request head before 431"),
        ("max_headers", "header fields in a request before 431"),
        ("max_target_length", "bytes in a request target before 414"),
        ("max_body_size", "bytes in a request body before 413"),
        ("inline_body_size", "bodies up to this size arrive whole with their request (unless held back for 100 Continue)"),
        ("max_buffered_body", "unread body bytes held before reading pauses"),
        ("max_pipelined", "queued pipelined requests before reading pauses"),
        ("max_connections", "open connections before new ones get 503, 0 for no limit"),
        ("max_requests_per_connection", "requests answered on one connection, 0 for no limit"),
        ("backlog", "listen backlog"),
        ("client_error_log_rate", "lines a second logged about rejected requests"),
        ("static_cache_size", "bytes of small static files kept in memory, 0 for none (sendfile only)"),
        ("static_cache_file_size", "largest static file kept in memory; larger ones go by sendfile"),
        ("max_ranges", "byte ranges in one Range field before the whole file is sent, 0 for no ranges"),
    ):
        _add_setting(limits, name, int, help_text)
    timeouts = parser.add_argument_group("timeouts (seconds, 0 for none)")
    for name, help_text in (
        ("header_timeout", "for a request head to arrive (then 408, or a close if nothing came)"),
        ("body_timeout", "between bytes of a request body (then 408)"),
        ("keep_alive_timeout", "for the next request on a kept-alive connection (then a close)"),
        ("write_timeout", "for a client to read what was written to it (then the connection is cut)"),
        ("shutdown_timeout", "in-flight requests get on SIGTERM"),
        ("lingering_timeout", "a closing connection keeps reading what the client still sends"),
    ):
        _add_setting(timeouts, name, float, help_text)
    websockets = parser.add_argument_group("WebSockets")
    websockets.add_argument(
        "--ws",
        choices=("auto", "on", "off"),
        default=DEFAULTS.ws,
        help="answer `Upgrade: websocket` requests: on, off (served as plain HTTP), or auto: on for ASGI apps "
        "and for apps with a WebSocket route (default auto)",
    )
    for name, kind, help_text in (
        ("ws_max_message_size", int, "bytes in a message, after decompression, before a close with 1009"),
        ("ws_max_frame_size", int, "bytes a frame may announce before a close with 1009"),
        ("ws_max_queued", int, "bytes of outgoing messages queued before send() waits for the client"),
        ("ws_ping_interval", float, "seconds between the server's keep-alive pings, 0 for none"),
        ("ws_ping_timeout", float, "seconds a pong may take before the connection is closed (1011)"),
        ("ws_close_timeout", float, "seconds a closing handshake may take before the connection is cut"),
    ):
        _add_setting(websockets, name, kind, help_text)
    websockets.add_argument(
        "--ws-per-message-deflate",
        type=_on_off,
        default=DEFAULTS.ws_per_message_deflate,
        metavar="{true,false}",
        help="accept permessage-deflate compression when a client offers it (default true)",
    )
    proxy = parser.add_argument_group("behind a proxy")
    proxy.add_argument(
        "--forwarded-allow-ips",
        default=DEFAULTS.forwarded_allow_ips,
        metavar="LIST",
        help="the peers trusted to say who the client is: comma-separated IP addresses, CIDR networks, "
        f"'*' for any, 'unix' for Unix-socket peers (default {DEFAULTS.forwarded_allow_ips})",
    )
    proxy.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.proxy_headers,
        help="take the client's address, the scheme and the host from X-Forwarded-For/-Proto/-Host and "
        "Forwarded (which wins when both are sent), for requests from the peers --forwarded-allow-ips trusts "
        "(default off)",
    )
    proxy.add_argument(
        "--proxy-protocol",
        action="store_true",
        help="every connection begins with a PROXY protocol header (v1 or v2, as HAProxy's send-proxy and "
        "cloud load balancers send it), read within --header-timeout; only peers in --forwarded-allow-ips "
        "may send one",
    )
    sockets = parser.add_argument_group(
        "listening sockets",
        "instead of --host/--port; the first that applies wins: the sockets systemd passes (socket "
        "activation: LISTEN_PID and LISTEN_FDS), then --fd, then --uds, then --host/--port",
    )
    sockets.add_argument(
        "--uds",
        metavar="PATH",
        help="listen on a Unix domain socket at PATH (a stale socket file there is replaced, "
        "anything else is an error); removed on shutdown",
    )
    sockets.add_argument(
        "--uds-mode",
        type=_octal_mode,
        default=DEFAULTS.uds_mode,
        metavar="MODE",
        help=f"file mode of the --uds socket, in octal (default {DEFAULTS.uds_mode:o})",
    )
    sockets.add_argument(
        "--fd",
        type=int,
        metavar="N",
        help="serve on the listening socket inherited as file descriptor N (TCP or Unix)",
    )
    tls = parser.add_argument_group("TLS", "a certificate turns HTTPS on (TLS 1.2 and 1.3, ALPN http/1.1)")
    tls.add_argument("--ssl-certfile", metavar="FILE", help="the server's certificate (PEM), its chain after it")
    tls.add_argument(
        "--ssl-keyfile", metavar="FILE", help="the certificate's private key (PEM; default: in --ssl-certfile)"
    )
    tls.add_argument("--ssl-keyfile-password", metavar="PASSWORD", help="the password of an encrypted key")
    tls.add_argument(
        "--ssl-ca-certs", metavar="FILE", help="the CA certificates (PEM) client certificates are checked against"
    )
    tls.add_argument(
        "--ssl-cert-reqs",
        choices=("none", "optional", "required"),
        default=DEFAULTS.ssl_cert_reqs,
        help="client certificates: none asks for none, optional checks one if sent, required refuses "
        f"clients without one (default {DEFAULTS.ssl_cert_reqs})",
    )
    tls.add_argument(
        "--ssl-ciphers", metavar="LIST", help="an OpenSSL cipher list for TLS 1.2 (default: OpenSSL's)"
    )
    _add_setting(tls, "ssl_handshake_timeout", float, "seconds a client has to finish the TLS handshake")
    development = parser.add_argument_group("development")
    development.add_argument(
        "--reload",
        action="store_true",
        help="restart the server when a watched file changes (needs watchfiles: pip install 'wirespeed[reload]'; "
        "APP as module:attribute; not with --workers)",
    )
    development.add_argument(
        "--reload-dir",
        dest="reload_dirs",
        action="append",
        metavar="DIR",
        help="a folder to watch, again for more (default the current folder)",
    )
    development.add_argument(
        "--reload-include",
        dest="reload_includes",
        action="append",
        metavar="GLOB",
        help=f"file names that count, besides {' '.join(DEFAULTS.reload_includes)}; again for more",
    )
    development.add_argument(
        "--reload-exclude",
        dest="reload_excludes",
        action="append",
        metavar="GLOB",
        help=f"names of files or folders that never count, besides {' '.join(DEFAULTS.reload_excludes)}; "
        "again for more",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default=None,
        help=f"log level of the server's loggers (default {DEFAULTS.log_level}; with --log-config, "
        "the file's levels unless given)",
    )
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.access_log,
        help="a line per answer through the logger wirespeed.access at info, to stdout unless "
        "--log-config routes it (default on)",
    )
    logs.add_argument(
        "--access-log-format",
        default=DEFAULTS.access_log_format,
        metavar="FORMAT",
        help="nginx log_format variables ($remote_addr, $status, $request_time, $http_user_agent, ...) "
        f"or a preset: combined, common, json (default {DEFAULTS.access_log_format})",
    )
    logs.add_argument(
        "--log-config",
        metavar="FILE",
        help="configure logging from FILE: a logging dictConfig in .json (or .yaml/.yml with PyYAML), "
        "or a fileConfig .ini/.conf; replaces the default handlers",
    )
    return parser


def _octal_mode(value: str) -> int:
    try:
        mode = int(value.removeprefix("0o"), 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an octal file mode such as 660, not {value!r}") from None
    if not 0 <= mode <= 0o7777:
        raise argparse.ArgumentTypeError(f"expected an octal file mode such as 660, not {value!r}")
    return mode


def _on_off(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "on", "yes", "1"):
        return True
    if lowered in ("false", "off", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")


def version_line() -> str:
    """`wirespeed 0.1.0 (parser: rust, Python 3.11.7, Linux)`: the version, the parser backend
    `--parser auto` would use, and what it runs on."""
    from . import __version__
    from .parser import resolve_backend

    try:
        backend = resolve_backend("auto")
    except Exception as error:  # noqa: BLE001 - a version line must not fail
        backend = f"none ({error})"
    return f"wirespeed {__version__} (parser: {backend}, {platform.python_implementation()} {platform.python_version()}, {platform.system()})"


def _add_setting(group: Any, name: str, kind: type, help_text: str) -> None:
    """A flag for the Config field `name`, with its default in the help."""
    default = getattr(DEFAULTS, name)
    shown = "the file-descriptor limit less 64" if default is None else f"{default:g}" if kind is float else str(default)
    group.add_argument(
        "--" + name.replace("_", "-"), type=kind, default=default, help=f"{help_text} (default {shown})"
    )


class AppLoadError(Exception):
    pass


def load_app(spec: str, factory: bool = False) -> Any:
    """Import `module:attribute` (attribute defaults to `app`) from the current directory: a
    wirespeed.App or an ASGI app. `factory`: the attribute is called, and what it returns is
    the app."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise AppLoadError(f"invalid app {spec!r}: expected module:attribute")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise AppLoadError(f"cannot import module {module_name!r}") from None
        raise
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if factory:
        if not callable(target):
            raise AppLoadError(f"{spec!r} is not callable, so it cannot be a factory")
        target = target()
    if not isinstance(target, App) and not callable(target):
        raise AppLoadError(f"{spec!r} is a {type(target).__name__}, not a wirespeed.App or an ASGI app")
    return target


def static_app(directory: str, show_hidden: bool, follow_symlinks: bool, cache_control: str | None) -> App:
    """An app that serves `directory` at "/" and nothing else."""
    app = App()
    files = StaticFiles(
        directory, show_hidden=show_hidden, follow_symlinks=follow_symlinks, cache_control=cache_control
    )
    app.mount("/", files)
    return app


def config_from_args(args: argparse.Namespace) -> Config:
    """The Config of the parsed flags: every field that has a flag of its name."""
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(Config) if hasattr(args, field.name)}
    values["server_header"] = None if args.no_server_header else args.server_header
    values.update(_reload_settings(args))
    values["log_level"] = args.log_level or DEFAULTS.log_level
    return Config(**values)


def _address(args: argparse.Namespace) -> str:
    """The address the flags ask for, as an error names it."""
    if args.fd is not None:
        return f"fd {args.fd}"
    if args.uds is not None:
        return f"unix:{args.uds}"
    return f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"


def _reload_settings(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """The reload folders and globs of the flags. Includes and excludes add to the defaults,
    and a glob given to --reload-include is taken out of the excludes (so that
    `--reload-include '*.pyc'`, say, works)."""
    includes = _unique([*DEFAULTS.reload_includes, *(args.reload_includes or ())])
    excludes = _unique([*DEFAULTS.reload_excludes, *(args.reload_excludes or ())])
    return {
        "reload_dirs": tuple(args.reload_dirs or ()),
        "reload_includes": includes,
        "reload_excludes": tuple(glob for glob in excludes if glob not in (args.reload_includes or ())),
    }


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class LogConfigError(Exception):
    pass


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_level: str | None, log_config: str | None) -> None:
    """The server's logging: from `log_config` (a file) when given, else lines on stderr at
    `log_level` and the access log's bare lines on stdout. Raises LogConfigError."""
    if log_config is None:
        logging.basicConfig(level=(log_level or DEFAULTS.log_level).upper(), format=LOG_FORMAT)
        access = logging.getLogger("wirespeed.access")
        if not access.handlers:
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(logging.Formatter("%(message)s"))  # the lines are whole already
            access.addHandler(handler)
            access.propagate = False
        return
    load_log_config(log_config)
    if log_level is not None:
        logging.getLogger("wirespeed").setLevel(log_level.upper())


def load_log_config(path: str) -> None:
    """Apply a logging configuration file, as uvicorn does: .json (dictConfig), .yaml/.yml
    (dictConfig, with PyYAML), anything else through logging.config.fileConfig. A dictConfig
    that does not say otherwise leaves the loggers that exist already enabled."""
    import logging.config

    if not os.path.isfile(path):
        raise LogConfigError(f"--log-config: no such file: {path}")
    extension = os.path.splitext(path)[1].lower()
    try:
        if extension in (".json", ".yaml", ".yml"):
            with open(path, encoding="utf-8") as file:
                if extension == ".json":
                    import json

                    settings = json.load(file)
                else:
                    try:
                        import yaml  # type: ignore[import-untyped]
                    except ImportError:
                        raise LogConfigError(f"--log-config: {path} is YAML, and PyYAML is not installed") from None
                    settings = yaml.safe_load(file)
            if not isinstance(settings, dict):
                raise LogConfigError(f"--log-config: {path} does not hold a dictConfig mapping")
            settings.setdefault("disable_existing_loggers", False)
            logging.config.dictConfig(settings)
        else:
            logging.config.fileConfig(path, disable_existing_loggers=False)
    except LogConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - any fault of the file is the user's: one line
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LogConfigError(f"--log-config: {path}: {reason}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "wirespeed"
    try:
        configure_logging(args.log_level, args.log_config)
    except LogConfigError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
        if config.reload:
            from .reload import run_reloader

            return run_reloader(config, sys.argv[1:] if argv is None else argv)
        if args.static is not None:
            if args.app:
                raise AppLoadError("give an app or --static DIR, not both")
            app = static_app(
                args.static, args.static_show_hidden, args.static_follow_symlinks, args.static_cache_control
            )
        elif args.app:
            app = load_app(args.app, args.factory)
        else:
            from .demo import app
        from .server import run

        try:
            serving_app(app, config)  # an app the interface does not fit fails here, in one line
        except TypeError as error:
            raise AppLoadError(str(error)) from None
        run(app, config)
    except AppLoadError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except LifespanFailure as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return STARTUP_FAILED
    except (ValueError, ImportError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except ListenError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        print(f"{prog}: error: cannot listen on {_address(args)}: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
