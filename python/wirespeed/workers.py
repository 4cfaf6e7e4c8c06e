"""Pre-forked worker processes under a supervisor (`Config.workers` > 1).

Strategy: this module owns the processes of a multi-worker server and nothing of HTTP. The
supervisor (the process that called `run`, with the app already imported) forks `workers`
children that each serve the app with a `server.Server` on an event loop of their own; it
runs no event loop itself. It restarts a worker that dies while no shutdown was asked for (at once
when the worker had run a while, else after a back-off that doubles up to a few seconds, so a
worker that crashes at start does not spin), turns its first SIGTERM or SIGINT into a SIGTERM
to every worker (each then stops gracefully and runs the app's shutdown hooks) and a second
one into SIGKILL, reaps every child, and returns once all of them have exited.

The sockets: the supervisor opens every listening socket (listeners.py) before forking. For
each TCP address bound from host/port on Linux, each worker binds its own listening socket with
SO_REUSEPORT and the kernel spreads new connections over them; the supervisor keeps one more
such socket bound but never listening, which reserves the address (and resolves port 0) while
workers come and go. Elsewhere (SO_REUSEPORT does not balance connections on macOS or the
BSDs), and for the sockets a worker cannot bind again (a Unix socket, a descriptor inherited
with --fd or from systemd), the supervisor listens and every worker accepts from that
inherited socket; the supervisor alone closes them (and removes a Unix socket's file).
Windows cannot fork: there `supervise` refuses with a ValueError (the module still imports).

Signals in a worker: SIGINT is ignored and any number of SIGTERMs is one graceful stop, so a
signal sent to the whole process group (a terminal's Ctrl-C, `timeout`, systemd's default
KillMode) that reaches a worker both directly and through the supervisor stops it gracefully
once; forcing is the supervisor's SIGKILL alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn

from .app import App
from .asgi.adapter import AsgiApp
from .asgi.lifespan import STARTUP_FAILED, LifespanFailure
from .config import Config
from .listeners import Listener, close_all, describe, listen, open_listeners
from .server import Server, new_event_loop

logger = logging.getLogger("wirespeed.workers")

# A worker that dies within STABLE_AFTER seconds of its start is restarted after a back-off
# that starts at RESTART_DELAY_MIN and doubles up to RESTART_DELAY_MAX; one that ran longer
# is restarted at once (and its back-off starts over).
STABLE_AFTER = 5.0
RESTART_DELAY_MIN = 0.1
RESTART_DELAY_MAX = 5.0
# Workers still running this long after shutdown_timeout (a stuck shutdown hook) are killed.
KILL_GRACE = 5.0
# How often a worker checks that its supervisor is still there (else it stops gracefully).
PARENT_CHECK_INTERVAL = 1.0

# SIGCHLD only wakes the supervisor up; there is no such signal on Windows, where this module
# still imports (supervise() says it cannot run there).
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGCHLD") if hasattr(signal, name)
)


def fork_supported() -> bool:
    """Whether worker processes can be forked here: not on Windows."""
    return hasattr(os, "fork") and hasattr(signal, "pthread_sigmask")


def reuse_port_supported() -> bool:
    """SO_REUSEPORT with load balancing between the listening sockets: Linux."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


@dataclass
class _Worker:
    """One worker slot: the process serving in it now, and when to start the next one."""

    index: int
    pid: int = 0  # 0: no process in this slot
    started: float = 0.0
    delay: float = 0.0  # the back-off before the next restart
    restart_at: float | None = None


def supervise(app: App | AsgiApp, config: Config, *, reuse_port: bool | None = None) -> None:
    """Serve `app` from `config.workers` worker processes until SIGINT/SIGTERM.

    reuse_port: share the port with SO_REUSEPORT (None: where the kernel balances it, Linux)
    rather than through one listening socket inherited from the supervisor. Raises OSError
    when the port cannot be bound, before any worker starts.
    """
    if not fork_supported():
        raise ValueError(
            f"workers > 1 forks worker processes, which this platform ({sys.platform}) cannot do: "
            "serve with workers 0, or run one server per port behind a load balancer"
        )
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("workers > 1 must be started from the main thread")
    if reuse_port is None:
        reuse_port = reuse_port_supported()
    supervisor = Supervisor(app, config, reuse_port=reuse_port)
    supervisor.run()
    if supervisor.startup_failed:
        raise LifespanFailure("application startup failed in a worker (see its log): not serving")


class Supervisor:
    """The parent of the worker processes. `run()` returns when every worker has exited."""

    def __init__(self, app: App | AsgiApp, config: Config, *, reuse_port: bool) -> None:
        self.app = app
        self.config = config
        self.reuse_port = reuse_port
        self.workers = [_Worker(index) for index in range(max(config.workers, 1))]
        self._listeners: list[Listener] = []
        self._signals: list[int] = []
        self._stopping = False
        # A worker could not start the app (its lifespan startup failed): a restart would fail
        # the same way, so every worker is stopped instead.
        self.startup_failed = False
        self._forced = False
        self._kill_at: float | None = None
        self._pid = os.getpid()
        self._wake_r = self._wake_w = -1
        self._previous_wakeup_fd = -1
        self._previous_handlers: dict[int, Any] = {}

    # -- the supervisor's loop
    def run(self) -> None:
        # Open every listening socket here, so that an address in use is an OSError for the
        # caller rather than workers failing one after another. The TCP sockets bound from
        # host/port are only reservations when reuse_port (each worker binds its own); the
        # rest listen here and every worker accepts from them.
        self._listeners = open_listeners(self.config, reuse_port=self.reuse_port)
        try:
            shared = [listener for listener in self._listeners if not self._per_worker(listener)]
            listen(shared, self.config.backlog)
            tcp = [listener for listener in self._listeners if listener.rebindable]
            if tcp:  # port 0: the port the supervisor got, for every worker
                self.config = self.config.replace(port=tcp[0].sock.getsockname()[1])
            self._install_signal_handlers()
            try:
                how = []
                if len(shared) < len(self._listeners):
                    how.append("SO_REUSEPORT")
                if shared:
                    how.append("inherited sockets" if len(shared) > 1 else "one inherited socket")
                logger.info(
                    "wirespeed supervisor (pid %d) starting %d workers on %s (%s)",
                    os.getpid(),
                    len(self.workers),
                    describe(self._listeners),
                    ", ".join(how),
                )
                for worker in self.workers:
                    self._spawn(worker)
                self._loop()
            finally:
                self._kill_all()  # only when leaving on an error: the loop ends with none left
                self._restore_signal_handlers()
        finally:
            close_all(self._listeners)

    def _per_worker(self, listener: Listener) -> bool:
        """Whether each worker binds a socket of its own for `listener` (SO_REUSEPORT)."""
        return self.reuse_port and listener.rebindable

    def _loop(self) -> None:
        while True:
            while self._signals:
                self._on_shutdown_signal(self._signals.pop(0))
            self._reap()
            now = time.monotonic()
            if self._stopping:
                if not self._alive():
                    logger.info("all workers have stopped")
                    return
                if self._kill_at is not None and now >= self._kill_at:
                    logger.warning("workers still running %.0f s past the shutdown timeout: killing them", KILL_GRACE)
                    self._force()
            else:
                for worker in self.workers:
                    if worker.restart_at is not None and now >= worker.restart_at:
                        self._spawn(worker)
            self._sleep(self._next_timeout(now))

    def _next_timeout(self, now: float) -> float:
        """Seconds until something is due (a restart, the kill deadline); at most 1."""
        due = [w.restart_at for w in self.workers if w.restart_at is not None and not self._stopping]
        if self._kill_at is not None:
            due.append(self._kill_at)
        return max(0.0, min([1.0, *(at - now for at in due)]))

    def _sleep(self, timeout: float) -> None:
        """Wait for a signal (written to the wake-up pipe) or the timeout."""
        readable, _, _ = select.select([self._wake_r], [], [], timeout)
        if readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass

    # -- signals
    def _install_signal_handlers(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in _SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        for signum, previous in self._previous_handlers.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Runs between two bytecodes of the loop; the loop acts on it (SIGCHLD only wakes it).
        if signum in (signal.SIGINT, signal.SIGTERM):
            self._signals.append(signum)

    def _on_shutdown_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self._stopping:
            self._stop_all(name)
        elif not self._forced:
            logger.warning("second signal (%s): killing %d worker(s) now", name, len(self._alive()))
            self._force()

    def _stop_all(self, why: str) -> None:
        """Stop every worker gracefully, and restart none."""
        self._stopping = True
        self._kill_at = time.monotonic() + self.config.shutdown_timeout + KILL_GRACE
        logger.info("%s: stopping %d worker(s) gracefully", why, len(self._alive()))
        for worker in self._alive():
            _kill(worker.pid, signal.SIGTERM)

    def _force(self) -> None:
        self._forced = True
        self._kill_at = None
        for worker in self._alive():
            _kill(worker.pid, signal.SIGKILL)

    # -- workers
    def _alive(self) -> list[_Worker]:
        return [worker for worker in self.workers if worker.pid]

    def _reap(self) -> None:
        """Collect every worker that has exited, and plan its restart unless stopping."""
        for worker in self._alive():
            try:
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (the app's own waitpid(-1))
                pid, status = worker.pid, 0
            if pid == 0:
                continue
            worker.pid = 0
            now = time.monotonic()
            how = _describe(status)
            if self._stopping:
                expected = os.waitstatus_to_exitcode(status) == 0 or (self._forced and how == "SIGKILL")
                log = logger.info if expected else logger.warning
                log("worker %d (pid %d) exited: %s", worker.index, pid, how)
                continue
            if os.waitstatus_to_exitcode(status) == STARTUP_FAILED:
                logger.error("worker %d (pid %d) could not start the app: stopping every worker", worker.index, pid)
                self.startup_failed = True
                self._stop_all("startup failure")
                continue
            uptime = now - worker.started
            if uptime >= STABLE_AFTER:
                worker.delay = 0.0
            else:
                worker.delay = min(max(worker.delay * 2, RESTART_DELAY_MIN), RESTART_DELAY_MAX)
            worker.restart_at = now + worker.delay
            logger.warning(
                "worker %d (pid %d) died (%s) after %.1f s; restarting it in %.1f s",
                worker.index, pid, how, uptime, worker.delay,
            )

    def _spawn(self, worker: _Worker) -> None:
        # Signals stay blocked across fork, so a child never runs the supervisor's handlers.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                self._worker_main(worker.index, mask)
        except OSError as error:
            worker.delay = min(max(worker.delay * 2, RESTART_DELAY_MIN), RESTART_DELAY_MAX)
            worker.restart_at = time.monotonic() + worker.delay
            logger.error("cannot start worker %d: %s; trying again in %.1f s", worker.index, error, worker.delay)
            return
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        worker.pid = pid
        worker.started = time.monotonic()
        worker.restart_at = None
        logger.info("worker %d started (pid %d)", worker.index, pid)

    def _kill_all(self) -> None:
        """SIGKILL and reap every worker still running (when the loop ended on an error)."""
        for worker in self._alive():
            _kill(worker.pid, signal.SIGKILL)
            try:
                os.waitpid(worker.pid, 0)
            except ChildProcessError:
                pass
            worker.pid = 0

    # -- in the child
    def _worker_main(self, index: int, mask: Iterable[int]) -> NoReturn:
        """Serve as worker `index` until SIGTERM; never returns (it ends the process)."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for signum, previous in self._previous_handlers.items():
                signal.signal(signum, signal.SIG_DFL if previous is None else previous)
            # A Ctrl-C reaches the whole process group: the supervisor's copy is the one acted on.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.close(self._wake_r)
            os.close(self._wake_w)
            sockets: list[Listener] = []
            for listener in self._listeners:
                if self._per_worker(listener):
                    sockets.append(Listener(listener.rebind(), listener.label))
                    listener.sock.close()  # the supervisor's reservation, never listened on
                else:
                    # The supervisor's socket, as a Listener without its file: the worker's
                    # server closes its copy and never removes the file.
                    sockets.append(Listener(listener.sock, listener.label))
            loop = new_event_loop(self.config.loop)
            try:
                worker_config = self.config.replace(workers=0)
                loop.run_until_complete(_serve_worker(self.app, worker_config, sockets, mask, self._pid))
            finally:
                loop.close()
            status = 0
        except LifespanFailure as error:
            logger.error("worker %d (pid %d): %s", index, os.getpid(), error)
            status = STARTUP_FAILED
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            logger.exception("worker %d (pid %d) failed", index, os.getpid())
        finally:
            try:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(status)


async def _serve_worker(
    app: App | AsgiApp, config: Config, sockets: list[Listener], mask: Iterable[int], supervisor: int
) -> None:
    """`server.serve` for a worker, but any number of SIGTERMs is one graceful stop: forcing is
    the supervisor's SIGKILL, so a SIGTERM sent to the whole process group (or cgroup), which
    reaches a worker both directly and through the supervisor, does not cut its requests short.
    It also stops when its supervisor is gone, rather than serve on unsupervised."""
    loop = asyncio.get_running_loop()
    server = Server(app, config)
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            server.request_shutdown()

    def check_parent() -> None:
        if os.getppid() != supervisor:
            logger.warning("worker pid %d: the supervisor (pid %d) is gone: stopping", os.getpid(), supervisor)
            stop()
        else:
            loop.call_later(PARENT_CHECK_INTERVAL, check_parent)

    loop.add_signal_handler(signal.SIGTERM, stop)
    # Blocked since before the fork: a SIGTERM that came meanwhile is delivered now, to stop().
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    loop.call_later(PARENT_CHECK_INTERVAL, check_parent)
    await server.start(sockets)
    try:
        await server.wait_for_shutdown_request()
    finally:
        await server.shutdown()


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # exited already; reaped on the next pass
        pass


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
