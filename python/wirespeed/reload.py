"""`wirespeed --reload`: restart the server whenever its source files change (development).

Strategy: this module owns the reloading supervisor and nothing of HTTP. The process started
with --reload never imports the app: it starts the real server as a child process, a fresh
interpreter running `python -m wirespeed` with the same arguments less the reload ones (so
every module of the app is imported anew), and watches the folders of `Config.reload_dirs`
with watchfiles. When a file that counts (`ReloadFilter`) changes it logs
"changes detected in <files>: restarting", stops the child gracefully (SIGTERM, the server's
own graceful shutdown, then SIGKILL if it still runs `shutdown_timeout` + KILL_GRACE seconds
later) and starts a new one. A child that exits on its own (a syntax error in the app, a port
in use) is logged and started again on the next change; the supervisor keeps watching.
SIGINT and SIGTERM (and SIGHUP) to the supervisor stop the child the same graceful way and end
it.

The child runs in a session of its own, so a terminal's Ctrl-C reaches only the supervisor,
which stops the child with one SIGTERM (two signals would force the server's shutdown). On
Linux the child also gets SIGTERM if the supervisor dies without stopping it (SIGKILL), so it
never serves on unsupervised. Reloading runs one server process: `workers` > 1 is refused
(Config).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .config import Config

logger = logging.getLogger("wirespeed.reload")

# The command-line flags of this module, left out of the child's arguments.
RELOAD_FLAGS = ("--reload", "--reload-dir", "--reload-include", "--reload-exclude")
# Seconds a stopping child may run past its shutdown_timeout (its shutdown hooks) before SIGKILL.
KILL_GRACE = 1.0
# How often (ms) the watcher wakes with no change, to notice a child that exited or a signal.
POLL_MS = 250


class ReloadFilter:
    """Which changed paths restart the server: the file name matches an include glob, and
    neither it nor any folder between it and its watched folder matches an exclude glob."""

    def __init__(self, roots: Sequence[Path], includes: Sequence[str], excludes: Sequence[str]) -> None:
        self.roots = [root.resolve() for root in roots]
        self.includes = tuple(includes)
        self.excludes = tuple(excludes)

    def __call__(self, change: Any, path: str) -> bool:
        return self.counts(Path(path))

    def counts(self, path: Path) -> bool:
        parts = self.relative_parts(path)
        if not parts or not any(fnmatch.fnmatchcase(parts[-1], glob) for glob in self.includes):
            return False
        return not any(fnmatch.fnmatchcase(part, glob) for part in parts for glob in self.excludes)

    def relative_parts(self, path: Path) -> tuple[str, ...]:
        absolute = path if path.is_absolute() else Path.cwd() / path
        for root in self.roots:
            try:
                return absolute.relative_to(root).parts
            except ValueError:
                continue
        return (absolute.name,)


def child_arguments(argv: Sequence[str]) -> list[str]:
    """`argv` without the reload flags (and their values), for the child server. A flag may
    be written `--reload-dir DIR`, `--reload-dir=DIR`, or abbreviated as argparse allows."""
    kept: list[str] = []
    skip_value = False
    for index, argument in enumerate(argv):
        if skip_value:
            skip_value = False
            continue
        if argument == "--":
            kept.extend(argv[index:])
            break
        name, has_value, _ = argument.partition("=")
        matches = [flag for flag in RELOAD_FLAGS if flag.startswith(name)] if name.startswith("--reload") else []
        if not matches:
            kept.append(argument)
            continue
        # "--reload" is a whole flag of its own even though it starts the others.
        takes_value = name != "--reload" and all(flag != "--reload" for flag in matches)
        skip_value = takes_value and not has_value
    return kept


def watched_dirs(config: Config) -> list[Path]:
    """The folders to watch (the current one when none is set); ValueError for a missing one."""
    dirs = [Path(name) for name in config.reload_dirs] or [Path.cwd()]
    for directory in dirs:
        if not directory.is_dir():
            raise ValueError(f"cannot watch {str(directory)!r} for --reload: not a directory")
    return [directory.resolve() for directory in dirs]


def _preexec_linux() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel for SIGTERM when the supervisor dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)


class Reloader:
    """The supervisor: `run()` returns (0) once a signal has stopped it and its child."""

    def __init__(self, config: Config, argv: Sequence[str]) -> None:
        if os.environ.get("LISTEN_FDS"):
            raise ValueError("--reload cannot hand systemd's sockets (LISTEN_FDS) on to a new process each time")
        self.config = config
        self.command = [sys.executable, "-m", "wirespeed", *child_arguments(argv)]
        self.dirs = watched_dirs(config)
        self.filter = ReloadFilter(self.dirs, config.reload_includes, config.reload_excludes)
        self.child: subprocess.Popen[bytes] | None = None
        self._exit_reported = False
        self._stop = threading.Event()
        self._stop_signal = ""

    # -- the child
    def start_child(self) -> None:
        options: dict[str, Any] = {}
        if self.config.fd is not None:  # the inherited listening socket goes on to each server
            options["pass_fds"] = (self.config.fd,)
        if os.name == "posix":
            options["start_new_session"] = True
            if sys.platform.startswith("linux"):
                options["preexec_fn"] = _preexec_linux
        self.child = subprocess.Popen(self.command, **options)
        self._exit_reported = False
        logger.info("started the server process (pid %d)", self.child.pid)

    def stop_child(self) -> None:
        """SIGTERM (the server's graceful stop), SIGKILL if it is still there after
        shutdown_timeout + KILL_GRACE; then it is reaped."""
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(self.config.shutdown_timeout + KILL_GRACE)
        except subprocess.TimeoutExpired:
            logger.warning("the server process (pid %d) did not stop in time: killing it", child.pid)
            child.kill()
            child.wait()

    def _check_child(self) -> None:
        child = self.child
        if child is None or self._exit_reported:
            return
        code = child.poll()
        if code is not None:
            self._exit_reported = True
            logger.error(
                "the server process (pid %d) exited with code %d: it is started again on the next change",
                child.pid,
                code,
            )

    # -- signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signal.Signals(signum).name
        self._stop.set()

    def _install_signal_handlers(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None:
                previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    # -- the loop
    def run(self) -> int:
        try:
            import watchfiles
        except ImportError:
            raise ImportError("--reload needs watchfiles: pip install 'wirespeed[reload]'") from None
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # its own "N changes detected"
        previous = self._install_signal_handlers()
        try:
            logger.info(
                "wirespeed reloader (pid %d) watching %s for changes to %s",
                os.getpid(),
                ", ".join(str(directory) for directory in self.dirs),
                " ".join(self.filter.includes),
            )
            self.start_child()
            for changes in watchfiles.watch(
                *self.dirs,
                watch_filter=self.filter,
                stop_event=self._stop,
                rust_timeout=POLL_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
                debounce=400,
            ):
                if self._stop.is_set():
                    break
                if not changes:
                    self._check_child()
                    continue
                logger.warning("changes detected in %s: restarting", self._describe(path for _, path in changes))
                self.stop_child()
                if self._stop.is_set():
                    break
                self.start_child()
            logger.info("%s: stopping the server process", self._stop_signal or "stopped")
        finally:
            self.stop_child()
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        return 0

    def _describe(self, paths: Iterable[str]) -> str:
        shown = []
        for path in sorted(set(paths)):
            parts = self.filter.relative_parts(Path(path))
            shown.append(os.path.join(*parts) if parts else path)
        return ", ".join(shown)


def run_reloader(config: Config, argv: Sequence[str]) -> int:
    """Serve through a reloading supervisor: `argv` is the command line of `wirespeed`."""
    return Reloader(config, argv).run()
