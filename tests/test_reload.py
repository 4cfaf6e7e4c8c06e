"""`wirespeed --reload`, as real processes: the reloading supervisor started with
`python -m wirespeed mod:app --reload --reload-dir DIR` on a free port, an app module written
into a temporary folder, then edited; the answers fetched over HTTP show which code serves.
The server's process is found as the supervisor's child (/proc), to check a restart made a new
one and that stopping the supervisor leaves none behind. Reloading is about processes, not
parsing: these run on one parser backend.

Every app edit changes the length of the file as well as its text: Python's cached bytecode is
keyed on the source's size and its modification time in whole seconds, and a test edits
faster than that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import OutputCollector, child_pid, free_port, wait_until
from wirespeed.cli import build_parser, config_from_args
from wirespeed.reload import ReloadFilter, child_arguments

pytest.importorskip("watchfiles")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds child processes in /proc")

APP = """\
import wirespeed

app = wirespeed.App()


@app.get("/")
def index(request):
    return {answer!r}
"""


class Reloading:
    """A `wirespeed --reload` supervisor serving `mod:app` from `folder`."""

    def __init__(self, folder: Path, *flags: str, listener: socket.socket | None = None) -> None:
        self.folder = folder
        if listener is None:
            self.port = free_port()
            where = ["--port", str(self.port)]
        else:
            self.port = listener.getsockname()[1]
            where = ["--fd", str(listener.fileno())]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wirespeed", "mod:app", *where, "--reload",
             "--reload-dir", str(folder), "--shutdown-timeout", "2", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=folder,
            pass_fds=() if listener is None else (listener.fileno(),),
        )
        self.output = OutputCollector(self.process)

    def serving_lines(self) -> int:
        return self.output.text.count("serving on")

    def wait_serving(self, count: int = 1, timeout: float = 5) -> None:
        assert wait_until(lambda: self.serving_lines() >= count, timeout), self.output.text

    def get(self) -> str | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=2).text
        except httpx.TransportError:
            return None

    def answer_becomes(self, expected: str, timeout: float = 5) -> bool:
        return wait_until(lambda: self.get() == expected, timeout)

    def server_pid(self) -> int | None:
        return child_pid(self.process.pid)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
            self.output.join()


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    (tmp_path / "mod.py").write_text(APP.format(answer="old"))
    return tmp_path


@pytest.fixture
def reloading(app_folder: Path) -> Iterator[list[Reloading]]:
    started: list[Reloading] = []
    yield started
    for supervisor in started:
        supervisor.stop()


def start(started: list[Reloading], folder: Path, *flags: str, listener: socket.socket | None = None) -> Reloading:
    supervisor = Reloading(folder, *flags, listener=listener)
    started.append(supervisor)
    supervisor.wait_serving()
    return supervisor


def test_an_edited_module_is_served_by_a_new_server_process(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder)
    assert supervisor.get() == "old"
    first = supervisor.server_pid()
    (app_folder / "mod.py").write_text(APP.format(answer="brand new"))
    assert supervisor.answer_becomes("brand new"), supervisor.output.text
    assert "changes detected in mod.py: restarting" in supervisor.output.text
    assert supervisor.server_pid() not in (None, first)


def test_an_inherited_listening_socket_serves_every_new_server_process(
    app_folder: Path, reloading: list[Reloading]
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        supervisor = start(reloading, app_folder, listener=listener)
        assert supervisor.get() == "old"
        (app_folder / "mod.py").write_text(APP.format(answer="same socket"))
        assert supervisor.answer_becomes("same socket"), supervisor.output.text


def test_a_file_that_is_not_included_does_not_restart_it(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder)
    (app_folder / "notes.txt").write_text("not code")
    (app_folder / "__pycache__").mkdir(exist_ok=True)
    (app_folder / "__pycache__" / "ignored.py").write_text("x = 1\n")
    time.sleep(0.6)  # past the watcher's grouping of changes: these would restart it alone
    (app_folder / "mod.py").write_text(APP.format(answer="edited"))
    assert supervisor.answer_becomes("edited"), supervisor.output.text
    text = supervisor.output.text
    assert text.count("changes detected") == 1, text
    assert "changes detected in mod.py: restarting" in text
    assert "notes.txt" not in text and "ignored.py" not in text


def test_reload_include_makes_other_files_count(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder, "--reload-include", "*.txt")
    first = supervisor.server_pid()
    (app_folder / "notes.txt").write_text("now it counts")
    supervisor.wait_serving(2)
    assert "changes detected in notes.txt: restarting" in supervisor.output.text
    assert supervisor.get() == "old"
    assert supervisor.server_pid() not in (None, first)


def test_a_syntax_error_is_logged_and_the_fix_is_served(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder)
    (app_folder / "mod.py").write_text("def broken(:\n")
    assert wait_until(lambda: "exited with code 1" in supervisor.output.text, 5), supervisor.output.text
    assert "SyntaxError" in supervisor.output.text
    assert supervisor.get() is None  # nothing serves while the app cannot be imported
    assert supervisor.process.poll() is None  # but the supervisor is still there, watching
    (app_folder / "mod.py").write_text(APP.format(answer="fixed again"))
    assert supervisor.answer_becomes("fixed again"), supervisor.output.text


def test_sigterm_stops_the_server_process_too(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder)
    server = supervisor.server_pid()
    assert server is not None and supervisor.get() == "old"
    assert supervisor.stop() == 0
    assert not _running(server)
    assert "SIGTERM: stopping the server process" in supervisor.output.text


def test_a_killed_supervisor_leaves_no_server_behind(app_folder: Path, reloading: list[Reloading]) -> None:
    supervisor = start(reloading, app_folder)
    server = supervisor.server_pid()
    assert server is not None
    supervisor.process.kill()
    supervisor.process.wait(5)
    assert wait_until(lambda: not _running(server), 5)
    assert wait_until(lambda: supervisor.get() is None, 2)


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_reload_with_workers_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--reload", "--workers", "2"],
        check=False, capture_output=True, text=True, timeout=15,
    )
    assert result.returncode == 2
    assert "reload runs one server process: it cannot be combined with workers > 1" in result.stderr


def test_a_missing_reload_dir_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--reload", "--reload-dir", str(tmp_path / "nowhere")],
        check=False, capture_output=True, text=True, timeout=15,
    )
    assert result.returncode == 2
    assert "not a directory" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "child"),
    [
        (["mod:app", "--reload"], ["mod:app"]),
        (["--reload", "mod:app", "--port", "9"], ["mod:app", "--port", "9"]),
        (["mod:app", "--reload-dir", "src", "--reload", "--reload-dir=lib"], ["mod:app"]),
        (["mod:app", "--reload-include", "*.txt", "--reload-exclude", "x", "--workers", "0"],
         ["mod:app", "--workers", "0"]),
        (["mod:app", "--reload-d", "src", "--reload"], ["mod:app"]),  # abbreviated, as argparse allows
        (["mod:app", "--root-path", "/reload"], ["mod:app", "--root-path", "/reload"]),
    ],
)
def test_child_arguments_leave_out_the_reload_flags(argv: list[str], child: list[str]) -> None:
    build_parser().parse_args(argv)  # every row is a valid command line
    assert child_arguments(argv) == child


@pytest.mark.parametrize(
    ("relative", "counts"),
    [
        ("app.py", True),
        ("pkg/views.py", True),
        ("notes.txt", False),
        ("app.pyc", False),
        ("__pycache__/app.cpython-311.pyc", False),
        ("__pycache__/app.py", False),
        (".venv/lib/site.py", False),
        (".git/hooks/x.py", False),
        (".hidden.py", False),
        ("target/build.py", False),
        ("app.py~", False),
    ],
)
def test_the_default_filter(tmp_path: Path, relative: str, counts: bool) -> None:
    config = config_from_args(build_parser().parse_args([]))
    watcher = ReloadFilter([tmp_path], config.reload_includes, config.reload_excludes)
    assert watcher.counts(tmp_path / relative) is counts


def test_include_flags_add_to_the_defaults_and_win_over_excludes(tmp_path: Path) -> None:
    config = config_from_args(
        build_parser().parse_args(["--reload-include", "*.txt", "--reload-include", "*.py[cod]",
                                   "--reload-exclude", "drafts"])
    )
    assert config.reload_includes == ("*.py", "*.txt", "*.py[cod]")
    assert "*.py[cod]" not in config.reload_excludes and "drafts" in config.reload_excludes
    watcher = ReloadFilter([tmp_path], config.reload_includes, config.reload_excludes)
    assert watcher.counts(tmp_path / "notes.txt")
    assert watcher.counts(tmp_path / "app.pyc")
    assert not watcher.counts(tmp_path / "drafts" / "app.py")
    assert os.fspath(tmp_path) in str(watcher.roots[0])
