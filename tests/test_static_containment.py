"""Static files: nothing outside the root is ever served, as a table of hostile request targets.

Strategy: this module owns path containment of `StaticFiles` end to end. Each row of REFUSED is
the exact bytes of a request-target (with `{P}` standing for the mount prefix), the refusal it
must get, and where the attack is described. Rows go over a raw socket (httpx and curl would
normalise `..` away) to a live server on both parser backends, with the directory mounted at
"/static" (`app.static`) and at "/" (`StaticFiles(...).mount(app, "")`). For every row: the
status is the refusal (404; a row marked `parser_may_reject` may also be the parser's own 400),
the secret kept just outside the root (and in the dotfiles) never appears in the answer, and a
fresh connection is still served `public.txt` afterwards. SERVED holds the positive rows: what
must be served, with which options. Symlink rows also run with the small-file cache off; a
served file (or directory) swapped for a symlink pointing out is refused on the very next
request; a directory's redirect never names another host; a root given through a symlink
is still the root; and a directory swapped for a symlink pointing out, over and over while
requests run, never lets the secret out.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection, WireResponse
from wirespeed import App, StaticFiles

ServerFor = Callable[..., RunningServer]

SECRET = f"SECRET-{uuid.uuid4().hex}"
PUBLIC = "public file body\n"
INNER = "inner file body\n"
LITERAL = "a file literally named %2e%2e\n"
PASSWD_MARK = b"root:x:0:0"  # the first line of /etc/passwd, were it ever served


@dataclass(frozen=True)
class Layout:
    """The files of one test: `tmp/secret.txt` outside `tmp/root/`, the served directory."""

    tmp: Path
    root: Path

    @property
    def secret_path(self) -> Path:
        return self.tmp / "secret.txt"


def make_layout(tmp: Path) -> Layout:
    root = tmp / "root"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (tmp / "secret.txt").write_text(SECRET)
    (tmp / "outside").mkdir()
    (tmp / "outside" / "inner.txt").write_text(SECRET)
    (root / "public.txt").write_text(PUBLIC)
    (root / "sub" / "inner.txt").write_text(INNER)
    (root / ".env").write_text(f"TOKEN={SECRET}\n")
    (root / ".git" / "config").write_text(f"[core]\n\turl = {SECRET}\n")
    (root / "%2e%2e").write_text(LITERAL)
    (root / "linkdir").mkdir()
    os.symlink("../secret.txt", root / "out_file")
    os.symlink("..", root / "out_dir")
    os.symlink("public.txt", root / "in_link")
    os.symlink(".", root / "self")  # inside: the root itself
    os.symlink("../root/public.txt", root / "out_and_back")  # leaves and comes back: inside
    os.symlink("out_file", root / "chain")  # inside, to a link that points out
    os.symlink(str(tmp / "secret.txt"), root / "abs_link")  # an absolute target outside
    os.symlink(str(root / "public.txt"), root / "abs_in")  # an absolute target inside
    os.symlink("sub", root / "dir_link")  # a directory inside
    os.symlink("..", root / "sub" / "up")  # up to the root: inside
    os.symlink("loop", root / "loop")  # ELOOP
    os.symlink("../../secret.txt", root / "linkdir" / "index.html")  # a directory's index points out
    os.symlink("../secret.txt", root / "public.txt.br")  # a precompressed sibling points out
    return Layout(tmp, root)


@dataclass(frozen=True)
class Row:
    """A request-target that must be refused. `{P}` is replaced by the mount prefix and
    `{ABS}` by the secret's absolute path with every "/" written `%2f`."""

    id: str
    target: bytes
    reference: str
    # 404, or 400 where the HTTP parser itself must reject the raw bytes (RFC 9112 §3.2: a
    # target is visible ASCII only, so a raw NUL or non-ASCII byte never reaches the files).
    status: int = 404
    # Raw bytes the parser may accept or reject (a raw backslash is visible ASCII, but the
    # spec leaves the parser free to refuse it): its 400 is a refusal as good as the 404.
    parser_may_reject: bool = False
    # Extra request header lines.
    headers: bytes = b""
    # The option that makes this target legitimately served (it is then in SERVED too).
    waived_by: str | None = None


def _row(id: str, target: bytes, reference: str, **kwargs: Any) -> Any:
    return pytest.param(Row(id, target, reference, **kwargs), id=id)


RFC3986 = "RFC 3986 §5.2.4 (remove_dot_segments)"

REFUSED = [
    # `..` segments, in many positions (RFC 3986 §5.2.4; CWE-22, CWE-23 and its variants).
    _row("dotdot-first", b"{P}/../secret.txt", f"{RFC3986}; CWE-22, CWE-23"),
    _row("dotdot-after-sub", b"{P}/sub/../../secret.txt", f"{RFC3986}; CWE-27 'dir/../../filename'"),
    _row("dot-then-dotdot", b"{P}/./../secret.txt", f"{RFC3986}; CWE-23"),
    _row("dotdot-deep", b"{P}/sub/../sub/../../secret.txt", f"{RFC3986}; CWE-23"),
    _row("dotdot-many", b"{P}/../../../../../../../../etc/passwd", "CWE-23; CVE-2021-41773 class"),
    _row("dotdot-alone", b"{P}/..", f"{RFC3986}; CWE-23"),
    _row("dotdot-alone-slash", b"{P}/../", f"{RFC3986}; CWE-23"),
    _row("dotdot-out-and-back-in", b"{P}/../root/public.txt", f"{RFC3986}: no `..` segment is served"),
    _row("dotdot-after-file", b"{P}/public.txt/../../secret.txt", f"{RFC3986}; CWE-23"),
    _row("dotdot-with-query", b"{P}/../secret.txt?x=1", "RFC 9112 §3.2.1 (query is not path); CWE-23"),
    _row("dotdot-semicolon", b"{P}/..;/secret.txt", "Tomcat-style path parameter; CWE-22"),
    _row("dots-four", b"{P}/....//secret.txt", "CWE-34 '....//'"),
    _row("fragment-dotdot", b"{P}/public.txt#/../../secret.txt", "RFC 3986 §3.5 (no fragment is sent); CWE-23"),
    # Percent-encoded dots (RFC 3986 §2.1, §6.2.2.2: decoded unreserved characters).
    _row("pct-dotdot-lower", b"{P}/%2e%2e/secret.txt", "RFC 3986 §6.2.2.2; CWE-177"),
    _row("pct-dotdot-upper", b"{P}/%2E%2E/secret.txt", "RFC 3986 §6.2.2.1; CWE-177"),
    _row("pct-dot-mixed-1", b"{P}/.%2e/secret.txt", "RFC 3986 §6.2.2.2; CWE-177"),
    _row("pct-dot-mixed-2", b"{P}/%2e./secret.txt", "RFC 3986 §6.2.2.2; CWE-177"),
    _row("pct-dotdot-after-sub", b"{P}/sub/%2e%2e/%2e%2e/secret.txt", "RFC 3986 §6.2.2.2; CWE-27, CWE-177"),
    _row("pct-dot-then-dotdot", b"{P}/%2e/%2e%2e/secret.txt", "RFC 3986 §6.2.2.2; CWE-177"),
    _row("pct-dotdot-alone", b"{P}/%2e%2e", "RFC 3986 §6.2.2.2; CWE-177"),
    # Encoded slashes: `%2f` decodes inside one segment into `../`.
    _row("pct-slash-dotdot", b"{P}/..%2fsecret.txt", "RFC 3986 §2.2 (%2F is data, not a delimiter); CWE-177"),
    _row("pct-slash-upper", b"{P}/..%2Fsecret.txt", "RFC 3986 §2.2; CWE-177"),
    _row("pct-slash-sub", b"{P}/sub%2f..%2f..%2fsecret.txt", "RFC 3986 §2.2; CWE-27, CWE-177"),
    _row("pct-all-encoded", b"{P}/%2e%2e%2fsecret.txt", "RFC 3986 §2.2; CWE-177"),
    # Double encoding: decoded exactly once, `%252e%252e` names a file called `%2e%2e`.
    _row("double-encoded", b"{P}/%252e%252e%252fsecret.txt", "CWE-174 (double decoding)"),
    _row("double-encoded-dir", b"{P}/%252e%252e/secret.txt", "CWE-174 (double decoding)"),
    _row("double-encoded-slash", b"{P}/..%252fsecret.txt", "CWE-174 (double decoding)"),
    # Broken percent-encodings are names like any other (RFC 3986 §2.1): 404, never a 500.
    _row("bad-pct-hex", b"{P}/%zz%2e%2e/secret.txt", "RFC 3986 §2.1; CWE-172 (encoding error)"),
    _row("bad-pct-truncated", b"{P}/..%2", "RFC 3986 §2.1; CWE-172"),
    _row("bad-pct-alone", b"{P}/%", "RFC 3986 §2.1; CWE-172"),
    # The mount prefix itself written with an encoded slash (at "/" the target is no longer
    # origin-form, RFC 9112 §3.2.1, so the parser may refuse it).
    _row("prefix-pct-slash", b"{P}%2f..%2fsecret.txt", "RFC 3986 §2.2; RFC 9112 §3.2.1", parser_may_reject=True),
    # Backslashes: a separator on Windows, a name byte on POSIX; refused either way.
    _row("backslash-raw", b"{P}/..\\secret.txt", "CWE-28 '..\\filedir'; RFC 9112 §3.2", parser_may_reject=True),
    _row("backslash-raw-sub", b"{P}/sub\\..\\..\\secret.txt", "CWE-31 'dir\\..\\..\\filename'", parser_may_reject=True),
    _row("backslash-pct", b"{P}/..%5csecret.txt", "CWE-28 '..\\filedir'; CWE-177"),
    _row("backslash-pct-upper", b"{P}/..%5Csecret.txt", "CWE-28; CWE-177"),
    _row("backslash-pct-sub", b"{P}/sub%5c..%5c..%5csecret.txt", "CWE-31; CWE-177"),
    _row("backslash-pct-leading", b"{P}/%5c..%5csecret.txt", "CWE-29 '\\..\\filename'; CWE-177"),
    _row("backslash-absolute", b"{P}/%5cetc%5cpasswd", "CWE-38 '\\absolute\\pathname\\here'"),
    # NUL: truncation of the name in C (`public.txt\0.png` opens `public.txt`).
    _row("nul-pct-suffix", b"{P}/public.txt%00.png", "CWE-158 (NUL byte)"),
    _row("nul-pct-alone", b"{P}/%00", "CWE-158 (NUL byte)"),
    _row("nul-pct-trailing", b"{P}/public.txt%00", "CWE-158 (NUL byte)"),
    _row("nul-pct-traversal", b"{P}/../secret.txt%00.png", "CWE-158; CWE-23"),
    _row("nul-raw", b"{P}/public.txt\x00.png", "CWE-158; RFC 9112 §3.2 (no controls)", status=400),
    # Absolute paths: `//etc/passwd` stays under the root.
    _row("abs-double-slash", b"//etc/passwd", "CWE-36 (absolute path traversal); RFC 3986 §3.3"),
    _row("abs-under-prefix", b"{P}//etc/passwd", "CWE-36, CWE-37 '/absolute/pathname/here'"),
    _row("abs-pct-slash", b"{P}/%2fetc%2fpasswd", "CWE-36; CWE-177"),
    _row("abs-pct-slash-upper", b"{P}/%2Fetc/passwd", "CWE-36; CWE-177"),
    _row("abs-secret-pct", b"{P}/{ABS}", "CWE-36: os.path.join drops the root before an absolute part"),
    _row("abs-secret-slashes", b"{P}/{RAWABS}", "CWE-36, CWE-37"),
    # Absolute-form targets (RFC 9112 §3.2.2): the path after the authority is what is served.
    _row("absolute-form-dotdot", b"http://x{P}/../secret.txt", "RFC 9112 §3.2.2; CWE-23"),
    _row("absolute-form-pct", b"http://x{P}/%2e%2e/secret.txt", "RFC 9112 §3.2.2; CWE-177"),
    _row("absolute-form-dotfile", b"http://x{P}/.env", "RFC 9112 §3.2.2; CWE-538", waived_by="show_hidden"),
    # Overlong and look-alike UTF-8 dots and slashes (RFC 3629 §3 forbids overlong forms).
    _row("overlong-dotdot", b"{P}/%c0%ae%c0%ae/secret.txt", "RFC 3629 §3; CWE-176; CVE-2000-0884 class"),
    _row("overlong-dotdot-slash", b"{P}/%c0%ae%c0%ae%c0%afsecret.txt", "RFC 3629 §3; CWE-176"),
    _row("overlong-3-byte", b"{P}/%e0%80%ae%e0%80%ae/secret.txt", "RFC 3629 §3; CWE-176"),
    _row("fullwidth-dots", b"{P}/%ef%bc%8e%ef%bc%8e/secret.txt", "CWE-176 (U+FF0E folds to '.' under NFKC)"),
    _row("raw-overlong", b"{P}/\xc0\xae\xc0\xae/secret.txt", "RFC 9112 §3.2 (no raw non-ASCII)", status=400),
    # Symlinks whose target is outside the root (CWE-59), unless follow_symlinks=True.
    _row("symlink-out-file", b"{P}/out_file", "CWE-59 (link following)", waived_by="follow_symlinks"),
    _row("symlink-out-dir-file", b"{P}/out_dir/secret.txt", "CWE-59", waived_by="follow_symlinks"),
    _row("symlink-out-dir", b"{P}/out_dir", "CWE-59 (no redirect into it either)", waived_by="follow_symlinks"),
    _row("symlink-out-dir-slash", b"{P}/out_dir/", "CWE-59", waived_by="follow_symlinks"),
    _row("symlink-out-file-pct", b"{P}/out%5ffile", "CWE-59; RFC 3986 §6.2.2.2", waived_by="follow_symlinks"),
    _row("symlink-out-dir-back-in", b"{P}/out_dir/root/.env", "CWE-59; CWE-538", waived_by="follow_symlinks+show_hidden"),
    _row("symlink-chain-out", b"{P}/chain", "CWE-59 (a link inside to a link out)", waived_by="follow_symlinks"),
    _row("symlink-absolute-out", b"{P}/abs_link", "CWE-59, CWE-36", waived_by="follow_symlinks"),
    _row("symlink-through-self", b"{P}/self/self/out_file", "CWE-59", waived_by="follow_symlinks"),
    _row("symlink-index-out", b"{P}/linkdir/", "CWE-59 (the index file of a directory)", waived_by="follow_symlinks"),
    _row("symlink-sibling-direct", b"{P}/public.txt.br", "CWE-59 (a .br sibling asked for by name)", waived_by="follow_symlinks"),
    _row("symlink-loop", b"{P}/loop", "ELOOP is a 404, never a 500; CWE-59"),
    # Names and paths the kernel refuses (ENAMETOOLONG): 404, never a 500.
    _row("name-too-long", b"{P}/" + b"a" * 300, "NAME_MAX; CWE-22 (error paths)"),
    _row("path-too-long", b"{P}/" + b"sub/" * 1200 + b"x", "PATH_MAX; CWE-22 (error paths)"),
    # Dotfiles (CWE-538, CWE-527 for .git), unless show_hidden=True.
    _row("dotfile", b"{P}/.env", "CWE-538 (sensitive file in a served directory)", waived_by="show_hidden"),
    _row("dotfile-git", b"{P}/.git/config", "CWE-527 (version-control repository)", waived_by="show_hidden"),
    _row("dotfile-git-dir", b"{P}/.git/", "CWE-527", waived_by="show_hidden"),
    _row("dotfile-git-noslash", b"{P}/.git", "CWE-527", waived_by="show_hidden"),
    _row("dotfile-pct", b"{P}/%2eenv", "CWE-538; RFC 3986 §6.2.2.2", waived_by="show_hidden"),
    _row("dotfile-pct-upper-git", b"{P}/%2Egit/config", "CWE-527; RFC 3986 §6.2.2.2", waived_by="show_hidden"),
    _row("dotfile-git-pct-slash", b"{P}/.git%2fconfig", "CWE-527; RFC 3986 §2.2", waived_by="show_hidden"),
    _row("dotfile-after-dot", b"{P}/./.env", f"{RFC3986}; CWE-538", waived_by="show_hidden"),
    _row("dotfile-via-dotdot", b"{P}/sub/../.env", f"{RFC3986}; CWE-538"),
    _row("dotfile-via-pct-dotdot", b"{P}/sub/.%2e/.env", "RFC 3986 §6.2.2.2; CWE-538"),
]


@dataclass(frozen=True)
class Served:
    """A target that must be served, its body, and the StaticFiles options it needs."""

    id: str
    target: bytes
    body: str
    options: dict[str, bool] = field(default_factory=dict)
    headers: bytes = b""
    content_encoding: str | None = None


def _served(id: str, target: bytes, body: str, headers: bytes = b"", coding: str | None = None, **options: bool) -> Any:
    return pytest.param(Served(id, target, body, options, headers, coding), id=id)


ACCEPT_BR = b"Accept-Encoding: br, gzip\r\n"


SERVED = [
    _served("normal-file", b"{P}/public.txt", PUBLIC),
    _served("nested-file", b"{P}/sub/inner.txt", INNER),
    _served("pct-encoded-name", b"{P}/publi%63.txt", PUBLIC),
    _served("double-encoded-literal-name", b"{P}/%252e%252e", LITERAL),
    _served("symlink-inside", b"{P}/in_link", PUBLIC),
    _served("symlink-inside-strict-options", b"{P}/in_link", PUBLIC, follow_symlinks=False, show_hidden=False),
    _served("symlink-self", b"{P}/self/self/public.txt", PUBLIC),
    _served("symlink-out-and-back-in", b"{P}/out_and_back", PUBLIC),
    _served("symlink-out-dir-and-back-in", b"{P}/out_dir/root/public.txt", PUBLIC),
    _served("symlink-absolute-inside", b"{P}/abs_in", PUBLIC),
    _served("symlink-dir-inside", b"{P}/dir_link/inner.txt", INNER),
    _served("symlink-up-to-root", b"{P}/sub/up/sub/up/public.txt", PUBLIC),
    # The .br sibling of public.txt points out: not an option, the identity file is served.
    _served("symlink-sibling-out-ignored", b"{P}/public.txt", PUBLIC, headers=ACCEPT_BR),
    _served("symlink-sibling-out-followed", b"{P}/public.txt", SECRET, headers=ACCEPT_BR, coding="br", follow_symlinks=True),
    _served("symlink-chain-followed", b"{P}/chain", SECRET, follow_symlinks=True),
    _served("symlink-absolute-followed", b"{P}/abs_link", SECRET, follow_symlinks=True),
    _served("symlink-out-file-followed", b"{P}/out_file", SECRET, follow_symlinks=True),
    _served("symlink-out-dir-followed", b"{P}/out_dir/secret.txt", SECRET, follow_symlinks=True),
    _served("dotfile-shown", b"{P}/.env", f"TOKEN={SECRET}\n", show_hidden=True),
    _served("dotfile-git-shown", b"{P}/.git/config", f"[core]\n\turl = {SECRET}\n", show_hidden=True),
    _served("dotfile-pct-shown", b"{P}/%2eenv", f"TOKEN={SECRET}\n", show_hidden=True),
]

MOUNTS = [pytest.param("/static", id="at-static"), pytest.param("", id="at-root")]
STRICT: dict[str, bool] = {}
PERMISSIVE = {"follow_symlinks": True, "show_hidden": True}
CACHE_OFF = {"static_cache_size": 0}


def make_app(root: Path, prefix: str, **options: Any) -> App:
    app = App()
    if prefix:
        app.static(prefix, root, **options)
    else:
        StaticFiles(root, **options).mount(app, "")
    return app


def expand(template: bytes, prefix: str, layout: Layout) -> bytes:
    absolute = str(layout.secret_path).lstrip("/").encode()
    return (
        template.replace(b"{P}", prefix.encode())
        .replace(b"{ABS}", b"%2f" + absolute.replace(b"/", b"%2f"))
        .replace(b"{RAWABS}", b"/" + absolute)
    )


def get(port: int, target: bytes, headers: bytes = b"") -> WireResponse:
    """One GET of exactly `target` over a raw socket."""
    with Connection(port) as connection:
        connection.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        return connection.read_response()


def assert_refused(response: WireResponse, row: Row) -> None:
    allowed = {row.status, 400} if row.parser_may_reject else {row.status}
    assert response.status in allowed, (row.id, response.status, response.raw_head, response.body[:200])
    if response.status == 400:
        assert response.body.startswith(b"400 Bad Request: "), response.body
    leaked = response.raw_head + response.body
    assert SECRET.encode() not in leaked
    assert PASSWD_MARK not in leaked


def assert_still_serving(port: int, prefix: str) -> None:
    """A fresh connection is served the public file."""
    after = get(port, prefix.encode() + b"/public.txt")
    assert (after.status, after.body) == (200, PUBLIC.encode())


def run_refused(server_for: ServerFor, tmp_path: Path, prefix: str, row: Row, options: dict[str, bool], **config: Any) -> None:
    layout = make_layout(tmp_path)
    server = server_for(make_app(layout.root, prefix, **options), **config)
    response = get(server.port, expand(row.target, prefix, layout), row.headers)
    assert_refused(response, row)
    assert_still_serving(server.port, prefix)


@pytest.mark.parametrize("prefix", MOUNTS)
@pytest.mark.parametrize("row", REFUSED)
def test_refused(server_for: ServerFor, tmp_path: Path, prefix: str, row: Row) -> None:
    run_refused(server_for, tmp_path, prefix, row, STRICT)


@pytest.mark.parametrize("prefix", MOUNTS)
@pytest.mark.parametrize("row", [p for p in REFUSED if p.values[0].waived_by is None])
def test_refused_with_every_option_on(server_for: ServerFor, tmp_path: Path, prefix: str, row: Row) -> None:
    """follow_symlinks and show_hidden waive only the symlink and dotfile checks: `..`,
    encodings, NUL, backslashes and absolute paths are refused all the same."""
    run_refused(server_for, tmp_path, prefix, row, PERMISSIVE)


@pytest.mark.parametrize("prefix", MOUNTS)
@pytest.mark.parametrize("case", SERVED)
def test_served(server_for: ServerFor, tmp_path: Path, prefix: str, case: Served) -> None:
    layout = make_layout(tmp_path)
    server = server_for(make_app(layout.root, prefix, **case.options))
    response = get(server.port, expand(case.target, prefix, layout), case.headers)
    assert (response.status, response.body) == (200, case.body.encode()), response.raw_head
    assert response.header("content-length") == str(len(case.body.encode()))
    assert response.header("content-encoding") == case.content_encoding


SYMLINK_REFUSED = [p for p in REFUSED if p.values[0].id.startswith("symlink-")]
SYMLINK_SERVED = [p for p in SERVED if "symlink" in p.values[0].id]


@pytest.mark.parametrize("prefix", MOUNTS)
@pytest.mark.parametrize("row", SYMLINK_REFUSED)
def test_symlink_refused_with_cache_off(server_for: ServerFor, tmp_path: Path, prefix: str, row: Row) -> None:
    """Files sent with sendfile (no small-file cache) are contained the same way."""
    run_refused(server_for, tmp_path, prefix, row, STRICT, **CACHE_OFF)


@pytest.mark.parametrize("prefix", MOUNTS)
@pytest.mark.parametrize("case", SYMLINK_SERVED)
def test_symlink_served_with_cache_off(server_for: ServerFor, tmp_path: Path, prefix: str, case: Served) -> None:
    layout = make_layout(tmp_path)
    server = server_for(make_app(layout.root, prefix, **case.options), **CACHE_OFF)
    response = get(server.port, expand(case.target, prefix, layout), case.headers)
    assert (response.status, response.body) == (200, case.body.encode()), response.raw_head
    assert response.header("content-encoding") == case.content_encoding


def swap_for_symlink(path: Path, target: str) -> None:
    """Replace `path` (a file or a directory) by a symlink to `target`, atomically for files."""
    staged = path.with_name(path.name + ".swap")
    os.symlink(target, staged)
    if path.is_dir() and not path.is_symlink():
        path.rename(path.with_name(path.name + ".old"))
    os.replace(staged, path)


@pytest.mark.parametrize("size", [pytest.param(16, id="small-cached"), pytest.param(300 * 1024, id="large-sendfile")])
@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="cache-default"),
        pytest.param(CACHE_OFF, id="cache-off"),
        pytest.param({"loop": "asyncio"}, id="asyncio-loop"),
    ],
)
def test_file_swapped_for_symlink_out_is_refused(
    server_for: ServerFor, tmp_path: Path, size: int, config: dict[str, Any]
) -> None:
    """A file served once (and so maybe cached) then replaced by a symlink pointing outside
    the root is refused on the next request; replaced by a symlink inside, it is the new file."""
    layout = make_layout(tmp_path)
    content = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    (layout.root / "swap.bin").write_bytes(content)
    (layout.root / "swap2.bin").write_bytes(content)
    server = server_for(make_app(layout.root, "/static"), **config)
    for _ in range(2):
        first = get(server.port, b"/static/swap.bin")
        assert (first.status, first.body) == (200, content)
    swap_for_symlink(layout.root / "swap.bin", "../secret.txt")
    refused = get(server.port, b"/static/swap.bin")
    assert refused.status == 404, (refused.raw_head, refused.body[:200])
    assert SECRET.encode() not in refused.raw_head + refused.body
    # A symlink that stays inside the root is served, and it is the new content.
    for _ in range(2):
        assert get(server.port, b"/static/swap2.bin").status == 200
    swap_for_symlink(layout.root / "swap2.bin", "public.txt")
    inside = get(server.port, b"/static/swap2.bin")
    assert (inside.status, inside.body) == (200, PUBLIC.encode())
    assert_still_serving(server.port, "/static")


@pytest.mark.parametrize("config", [pytest.param({}, id="cache-default"), pytest.param(CACHE_OFF, id="cache-off")])
def test_directory_swapped_for_symlink_out_is_refused(
    server_for: ServerFor, tmp_path: Path, config: dict[str, Any]
) -> None:
    """`sub/inner.txt` served, then `sub` becomes a symlink to a directory outside holding
    an `inner.txt` of its own: the next request for the same URL is refused."""
    layout = make_layout(tmp_path)
    server = server_for(make_app(layout.root, "/static"), **config)
    for _ in range(2):
        before = get(server.port, b"/static/sub/inner.txt")
        assert (before.status, before.body) == (200, INNER.encode())
    swap_for_symlink(layout.root / "sub", "../outside")
    after = get(server.port, b"/static/sub/inner.txt")
    assert after.status == 404, (after.raw_head, after.body[:200])
    assert SECRET.encode() not in after.raw_head + after.body
    assert_still_serving(server.port, "/static")


@pytest.mark.parametrize("size", [pytest.param(16, id="small-cached"), pytest.param(300 * 1024, id="large-sendfile")])
def test_file_moved_out_and_linked_is_refused(server_for: ServerFor, tmp_path: Path, size: int) -> None:
    """The same file (same inode, same bytes, same mtime) moved outside the root and replaced
    by a symlink to its new place is refused: it is now a symlink pointing outside."""
    layout = make_layout(tmp_path)
    content = (SECRET.encode() * (size // len(SECRET) + 1))[:size]
    moving = layout.root / "moving.bin"
    moving.write_bytes(content)
    server = server_for(make_app(layout.root, "/static"))
    for _ in range(2):
        assert get(server.port, b"/static/moving.bin").body == content
    os.rename(moving, layout.tmp / "moved.bin")
    os.symlink("../moved.bin", moving)
    refused = get(server.port, b"/static/moving.bin")
    assert refused.status == 404, (refused.raw_head, refused.body[:200])
    assert_still_serving(server.port, "/static")


@pytest.mark.parametrize("target", [b"//sub", b"///sub", b"//sub?q=1", b"/%2fsub"])
def test_directory_redirect_is_never_protocol_relative(server_for: ServerFor, tmp_path: Path, target: bytes) -> None:
    """At "/", `//sub` names the directory `sub`; its 301 must not say `Location: //sub/`,
    which a browser reads as the host `sub` (CWE-601, RFC 3986 §4.2)."""
    layout = make_layout(tmp_path)
    server = server_for(make_app(layout.root, ""))
    response = get(server.port, target)
    assert response.status == 301, (response.raw_head, response.body[:200])
    location = response.header("location")
    assert location is not None and location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location
    assert location.split("?")[0].endswith("sub/"), location
    assert location.endswith("?q=1") == target.endswith(b"?q=1"), location


@pytest.mark.parametrize("prefix", MOUNTS)
def test_root_given_through_a_symlink(server_for: ServerFor, tmp_path: Path, prefix: str) -> None:
    """A root directory named through a symlink is still the root: its files are served and
    its links out are still refused."""
    layout = make_layout(tmp_path)
    linked_root = tmp_path / "root_link"
    os.symlink(layout.root.name, linked_root)
    server = server_for(make_app(linked_root, prefix))
    for target, body in ((b"/public.txt", PUBLIC), (b"/in_link", PUBLIC), (b"/sub/inner.txt", INNER)):
        response = get(server.port, prefix.encode() + target)
        assert (response.status, response.body) == (200, body.encode()), target
    for target in (b"/out_file", b"/out_dir/secret.txt", b"/../secret.txt", b"/.env"):
        response = get(server.port, prefix.encode() + target)
        assert response.status == 404, target
        assert SECRET.encode() not in response.raw_head + response.body


# -- a directory swapped for a symlink over and over, while requests run ------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # renameat2(2): swap two names atomically
RACE_PAGE = "the page inside the root\n"
# The page lies a few directories below `d`: every level is one more step between the first
# look at `d` and the open, as a check-then-open server would take them.
RACE_DEPTH = ("1", "2", "3", "4")


def exchange(first: Path, second: Path) -> None:
    """Swap what two names in one directory point to, atomically (Linux renameat2)."""
    if _LIBC.renameat2(_AT_FDCWD, bytes(first), _AT_FDCWD, bytes(second), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first))


class Swapper(threading.Thread):
    """Swaps `root/d` (a directory) with `root/d_swap` (a symlink to a directory outside the
    root holding a secret `page.txt` at the same depth) in a tight loop, until stopped or out
    of swaps."""

    def __init__(self, layout: Layout, limit: int = 2_000_000) -> None:
        super().__init__(name="symlink-swapper", daemon=True)
        outside = layout.tmp / "outside_race"
        outside.joinpath(*RACE_DEPTH).mkdir(parents=True)
        outside.joinpath(*RACE_DEPTH, "page.txt").write_text(SECRET)
        inside = layout.root / "d"
        inside.joinpath(*RACE_DEPTH).mkdir(parents=True)
        inside.joinpath(*RACE_DEPTH, "page.txt").write_text(RACE_PAGE)
        os.symlink("../outside_race", layout.root / "d_swap")
        self.names = (inside, layout.root / "d_swap")
        self.limit = limit
        self.swaps = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        first, second = self.names
        while not self.stopping.is_set() and self.swaps < self.limit:
            exchange(first, second)
            self.swaps += 1


@pytest.mark.parametrize("config", [pytest.param({}, id="cache-default"), pytest.param(CACHE_OFF, id="cache-off")])
def test_a_directory_swapped_for_a_symlink_in_a_loop_never_leaks(
    server_for: ServerFor, tmp_path: Path, config: dict[str, Any]
) -> None:
    """While `d` flips between a directory inside the root and a symlink to one outside, as
    fast as the system allows, requests for `d/page.txt` get the inside page or a 404, never
    the outside one: the file is opened by a walk from the root that never follows a symlink
    out, so there is no moment between a check and the open to race. Bounded: 4,000 requests
    or 8 seconds."""
    if not hasattr(_LIBC, "renameat2"):
        pytest.skip("the C library has no renameat2")
    try:
        exchange(tmp_path, tmp_path)
    except OSError as error:
        if error.errno in (errno.ENOSYS, errno.EINVAL):
            pytest.skip(f"renameat2 RENAME_EXCHANGE is not available here: {error}")
    layout = make_layout(tmp_path)
    swapper = Swapper(layout)
    server = server_for(make_app(layout.root, "/static"), **config)
    request = b"GET /static/d/" + "/".join(RACE_DEPTH).encode() + b"/page.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    statuses: dict[int, int] = {}
    leaked = 0
    swapper.start()
    deadline = time.monotonic() + 8
    try:
        with Connection(server.port) as connection:
            for _ in range(200):
                if time.monotonic() > deadline:
                    break
                connection.send(request * 20)  # pipelined: the server stays busy between reads
                for _ in range(20):
                    response = connection.read_response()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if SECRET.encode() in response.raw_head + response.body:
                        leaked += 1
                    elif response.status == 200:
                        assert response.body == RACE_PAGE.encode()
    finally:
        swapper.stopping.set()
        swapper.join(5)
    assert leaked == 0, f"the secret outside the root was served {leaked} times; statuses {statuses}"
    assert statuses.get(200, 0) > 0, f"no request was served, the test proves nothing: {statuses}"
    assert swapper.swaps > 100, f"only {swapper.swaps} swaps"
    assert set(statuses) <= {200, 404}, statuses
