"""The listening sockets: which ones a Config asks for, binding them, naming them, closing them.

Strategy: this module owns every listening socket the server opens or is handed, for the
single-process server and the workers alike, so that there is one path from a Config to the
sockets. Where they come from, first match wins:

1. systemd socket activation: LISTEN_PID is this process and LISTEN_FDS is set; the
   descriptors 3 .. 3+LISTEN_FDS-1 are served (LISTEN_FDNAMES only names them in the log).
   The three variables are removed from the environment once looked at (whether or not they
   were for this process), as sd_listen_fds(1) does, so that no child takes them for its own;
2. `Config.fd`: one listening socket inherited as that descriptor, of whatever family;
3. `Config.uds`: a Unix domain socket at that path, with the file mode `Config.uds_mode`;
4. `Config.host`/`Config.port`: a TCP socket for every address the host resolves to
   ("localhost": 127.0.0.1 and ::1), all on the port the first one got when the port is 0.

A source lower in the list that was also given is ignored, with a warning. The host "::"
binds one socket with IPV6_V6ONLY off (dual stack: IPv4 clients come in as ::ffff:a.b.c.d);
every other IPv6 address is bound IPv6-only, so that "0.0.0.0" and "::" from the same name
can both be bound. (asyncio's create_server sets IPV6_V6ONLY on every IPv6 socket, which is
why the sockets are bound here and handed to it.)

A Unix socket path is bound only when it is free: nothing there, or a stale socket (a socket
file nobody listens on any more: a connection to it is refused), which is removed first. A
socket somebody listens on is "address in use"; anything that is not a socket (a file, a
directory) is never removed. The socket file is removed when its listener is closed, if it is
still the one that was bound there.

Whoever opens the listeners closes them: the single-process server, or the supervisor of the
workers. A TCP listener can be bound again with SO_REUSEPORT (`Listener.rebind`), which is how
each worker gets a socket of its own on Linux; the others (a Unix socket, an inherited
descriptor) cannot, so the workers accept from the supervisor's socket.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
import sys
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .config import Config

logger = logging.getLogger("wirespeed")

# The first descriptor systemd passes (SD_LISTEN_FDS_START).
SYSTEMD_FIRST_FD = 3
# Unix domain sockets: not on Windows, where --uds is refused in one line.
AF_UNIX: int | None = getattr(socket, "AF_UNIX", None)


class ListenError(OSError):
    """A listening socket that could not be opened; `address` names it as the operator gave it
    (127.0.0.1:8080, unix:/run/app.sock, fd 3), `reason` says why in a few words."""

    def __init__(self, address: str, reason: str, code: int | None = None) -> None:
        super().__init__(code or 0, reason)
        self.address = address
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot listen on {self.address}: {self.reason}"


@dataclass
class Listener:
    """One listening socket and what the log and the workers need to know of it."""

    sock: socket.socket
    # How the log names it: http://127.0.0.1:8080, unix:/run/app.sock, fd 3 (...).
    label: str
    # Bound here from host/port: a worker may bind the same address again with SO_REUSEPORT.
    rebindable: bool = False
    # The Unix socket file bound here, removed on close: (path, device, inode).
    socket_file: tuple[str, int, int] | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def family(self) -> int:
        return int(self.sock.family)

    def rebind(self) -> socket.socket:
        """A new socket bound to this listener's address with SO_REUSEPORT (not listening)."""
        assert self.rebindable
        address = self.sock.getsockname()
        dual_stack = self.family == socket.AF_INET6 and not self.sock.getsockopt(
            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
        )
        return _bind_tcp(self.family, address, reuse_port=True, dual_stack=dual_stack, label=self.label)

    def close(self) -> None:
        """Close the socket, and remove the socket file if it is still the one bound here."""
        if self._closed:
            return
        self._closed = True
        self.sock.close()
        if self.socket_file is not None:
            path, device, inode = self.socket_file
            try:
                info = os.lstat(path)
                if (info.st_dev, info.st_ino) == (device, inode):
                    os.unlink(path)
            except OSError:
                pass


def open_listeners(
    config: Config, *, reuse_port: bool = False, environ: MutableMapping[str, str] | None = None
) -> list[Listener]:
    """The listening sockets `config` (and systemd) ask for. TCP sockets bound from host/port
    are bound, with SO_REUSEPORT when `reuse_port`, but not listening yet (`listen` does it);
    the others are listening. Raises ListenError naming the address that failed."""
    environ = os.environ if environ is None else environ
    activated = systemd_descriptors(environ)
    ignored = [flag for flag, value in (("--fd", config.fd), ("--uds", config.uds)) if value is not None]
    if activated is not None:
        if ignored:
            logger.warning("%s ignored: serving on the sockets systemd passed", " and ".join(ignored))
        return [_adopt(fd, name) for fd, name in activated]
    if config.fd is not None:
        if config.uds is not None:
            logger.warning("--uds ignored: serving on fd %d", config.fd)
        return [_adopt(config.fd, None)]
    if config.uds is not None:
        return [_bind_unix(config.uds, config.uds_mode, config.backlog)]
    return _bind_host(config.host, config.port, reuse_port=reuse_port)


def listen(listeners: Iterable[Listener], backlog: int) -> None:
    """Make every listener listen (a no-op for those that already do)."""
    for listener in listeners:
        if not _is_listening(listener.sock):
            try:
                listener.sock.listen(backlog)
            except OSError as error:
                raise ListenError(listener.label, _reason(error), error.errno) from error


def close_all(listeners: Iterable[Listener]) -> None:
    for listener in listeners:
        listener.close()


def describe(listeners: Iterable[Listener]) -> str:
    return ", ".join(listener.label for listener in listeners)


def socket_label(sock: socket.socket) -> str:
    """http://127.0.0.1:8080, http://[::1]:8080, http://[::]:8080 (IPv4 too), unix:/path."""
    if sock.family == AF_UNIX:
        name = sock.getsockname()
        path = "@" + name[1:].decode(errors="replace") if isinstance(name, bytes) else str(name)  # @: abstract
        return f"unix:{path or '(unnamed)'}"
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        label = f"http://[{host}]:{port}"
        if not sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
            label += " (IPv4 too)"
        return label
    return f"http://{host}:{port}"


# -- systemd socket activation


def systemd_descriptors(environ: MutableMapping[str, str]) -> list[tuple[int, str | None]] | None:
    """The descriptors systemd passed to this process, with their names, or None when it
    passed none (no LISTEN_FDS, or LISTEN_PID is another process: they were meant for a
    parent). The three variables are removed from `environ` in every case, as
    sd_listen_fds(1) does."""
    pid = environ.pop("LISTEN_PID", None)
    count = environ.pop("LISTEN_FDS", None)
    names = environ.pop("LISTEN_FDNAMES", None)
    if pid is None or count is None:
        return None
    try:
        if int(pid) != os.getpid():
            return None
    except ValueError:
        return None
    try:
        number = int(count)
    except ValueError:
        raise ListenError("systemd sockets", f"LISTEN_FDS is not a number: {count!r}") from None
    if number <= 0:
        return None
    labels: list[str | None] = list(names.split(":")) if names else []
    labels += [None] * (number - len(labels))
    return [(SYSTEMD_FIRST_FD + index, labels[index] or None) for index in range(number)]


# -- inherited descriptors


def _adopt(fd: int, name: str | None) -> Listener:
    """A listening socket of our own for the inherited descriptor `fd` (which it takes over)."""
    where = f"fd {fd}" if name is None else f"fd {fd} ({name})"
    try:
        sock = socket.socket(fileno=fd)
    except OSError as error:
        raise ListenError(where, _reason(error), error.errno) from error
    if sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ListenError(where, "not a stream socket")
    sock.set_inheritable(False)  # a forked worker still has it; a program it runs does not
    try:
        label = f"{where} = {socket_label(sock)}"
    except OSError as error:
        sock.detach()
        raise ListenError(where, _reason(error), error.errno) from error
    return Listener(sock, label)


def _is_listening(sock: socket.socket) -> bool:
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:
        return False


# -- a Unix domain socket


def _bind_unix(path: str, mode: int, backlog: int) -> Listener:
    where = f"unix:{path}"
    if AF_UNIX is None:
        raise ValueError(f"cannot listen on {where}: this platform ({sys.platform}) has no Unix domain sockets")
    _clear_stale_socket(path, where)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        info = os.lstat(path)
        os.chmod(path, mode)
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        raise ListenError(where, _reason(error), error.errno) from error
    return Listener(sock, where, socket_file=(path, info.st_dev, info.st_ino))


def _clear_stale_socket(path: str, where: str) -> None:
    """Remove a socket file at `path` nobody listens on; refuse anything else in the way."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise ListenError(where, _reason(error), error.errno) from error
    if not stat.S_ISSOCK(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a file that is not a socket"
        raise ListenError(where, f"{kind} is in the way (it is left alone)", errno.EEXIST)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except ConnectionRefusedError:
        logger.info("removing the stale socket file %s (nothing listens on it)", path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise ListenError(where, f"cannot remove the stale socket file: {_reason(error)}", error.errno) from error
        return
    except FileNotFoundError:
        return
    except (TimeoutError, BlockingIOError):  # a full backlog: somebody listens
        pass
    except OSError as error:
        raise ListenError(where, _reason(error), error.errno) from error
    finally:
        probe.close()
    raise ListenError(where, "address already in use", errno.EADDRINUSE)


# -- TCP from host and port


def _bind_host(host: str, port: int, *, reuse_port: bool) -> list[Listener]:
    """A socket bound to every address `host` resolves to, all on one port."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ListenError(where, f"cannot resolve {host!r}: {error.strerror}") from error
    addresses: list[tuple[int, tuple[Any, ...]]] = []
    for info in infos:
        family, address = int(info[0]), tuple(info[4])
        if family in (socket.AF_INET, socket.AF_INET6) and (family, address) not in addresses:
            addresses.append((family, address))
    # "::" given as such: one socket for IPv6 and IPv4.
    dual_stack = host.strip("[]") == "::"
    listeners: list[Listener] = []
    try:
        for family, address in addresses:
            if listeners and port == 0:  # the port the first socket got, for all of them
                address = (address[0], listeners[0].sock.getsockname()[1], *address[2:])
            label = f"[{address[0]}]:{address[1]}" if family == socket.AF_INET6 else f"{address[0]}:{address[1]}"
            sock = _bind_tcp(family, address, reuse_port=reuse_port, dual_stack=dual_stack, label=label)
            listeners.append(Listener(sock, socket_label(sock), rebindable=True))
    except BaseException:
        close_all(listeners)
        raise
    if not listeners:
        raise ListenError(where, f"{host!r} resolves to no IPv4 or IPv6 address")
    return listeners


def _bind_tcp(family: int, address: Any, *, reuse_port: bool, dual_stack: bool, label: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual_stack else 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise ListenError(label.removeprefix("http://"), _reason(error), error.errno) from error
    except BaseException:
        sock.close()
        raise
    return sock


def _reason(error: OSError) -> str:
    return os.strerror(error.errno).lower() if error.errno else str(error)
