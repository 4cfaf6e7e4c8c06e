"""Serving a directory of files: containment, representations, validators and the file cache.

Strategy: this module owns the mapping from a URL path to a file under one root, and the
refusal of everything outside it (`..`, encoded separators, NUL, backslashes, symlinks that
point out, dotfiles). A file, once found, is remembered with its identity on disk (device,
inode, size, modification and change times) and the headers it is answered with; every later
request checks that identity with one `stat` of the same path, so a change on disk is seen at
once and a cached path can never come to name another file. Files up to
`Config.static_cache_file_size` keep their bytes in memory (at most `Config.static_cache_size`
for each StaticFiles, the least recently used dropped first) and are answered inline; larger
ones are answered with a `FileResponse` holding the open file, which senders.py sends with
sendfile(2). Those settings, and `max_ranges`, are the Config of the server that serves the
app (handed over by `configure` when it starts), never looked up through a request. Conditional, range and content-coding decisions come from `conditional.py`;
content types from the stdlib `mimetypes`, dates from `email.utils`.

Containment is decided while opening, not before: a file is found by a walk from a descriptor
of the root, one path component at a time, each opened relative to the descriptor of the
directory before it with O_NOFOLLOW (O_PATH), so the kernel never follows a symlink on the
way. A symlink met is read through its own descriptor and its target walked the same way;
whether the walk ends beneath the root is judged by the identity (device, inode) of the
directories it went through, not by names. Swapping a directory for a symlink between any
check and the open cannot lead out: there is no separate check, and a directory already
opened stays the directory it was. Where os.open cannot open relative to a directory's
descriptor (Windows: WALK_BY_DESCRIPTOR is False) files are found by their real path instead,
which must lie beneath the root's: the same answers, without the walk's immunity to races.

The cached check follows symlinks (a plain `stat`, and `open` of the path for a file sent
from disk), yet cannot serve anything from outside: it only ever confirms an entry the walk
found. A match needs the same device and inode, which name one file at a time, and the same
change time, which the kernel updates on every rename, link, unlink, chmod or write of that
inode and which no user can set back. So what is served on a match is the very file the walk
found beneath the root, unchanged since; for a file sent from disk, the `fstat` of the
descriptor that is sent is what must match. A path that now leads elsewhere fails the match
and is walked again.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import stat
from collections.abc import Sequence
from email.utils import formatdate
from typing import TYPE_CHECKING

from .conditional import (
    ACCEPT_ENCODING,
    IF_RANGE,
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    RANGE,
    UNSATISFIABLE,
    Piece,
    byte_ranges,
    content_range,
    if_range_holds,
    multipart_byteranges,
    preconditions,
    preferred_codings,
    request_fields,
)
from .config import Config
from .errors import Forbidden, NotFound, PreconditionFailed, RangeNotSatisfiable
from .request import Request
from .response import FileResponse, RedirectResponse, Response, encode_headers

if TYPE_CHECKING:
    from .app import App

_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")
# The content type of a file whose name says it is compressed as a whole (`app.js.gz` asked
# for by its own name), by the coding `mimetypes` reports.
_ARCHIVE_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
# Precompressed siblings, in the order they are preferred when a client accepts both equally.
CODINGS: tuple[str, ...] = ("br", "gzip")
_SUFFIXES = {"br": ".br", "gzip": ".gz"}
# Files remembered at most (their bytes are bounded separately by Config.static_cache_size).
_MAX_FILES = 4096
_DEFAULT_CONFIG = Config()
# How often an answer is tried when the file keeps being replaced under it.
_ATTEMPTS = 3
# The walk opens each path component without following it: with O_PATH (Linux) a symlink gets
# a descriptor of its own, to read it through; where O_PATH is missing, opening a symlink
# fails (ELOOP) and it is refused. O_NONBLOCK: a FIFO never blocks the open.
_O_PATH = getattr(os, "O_PATH", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_STEP_FLAGS = (_O_PATH or os.O_RDONLY) | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
# The root (whose own path may go through symlinks: it is the configuration), "/" and "..".
_DIRECTORY_FLAGS = (_O_PATH or os.O_RDONLY) | _O_DIRECTORY | _O_CLOEXEC
# The walk needs os.open relative to a directory's descriptor, O_NOFOLLOW and O_DIRECTORY:
# Unix. Elsewhere (Windows) files are found by path (`_open_by_path`).
WALK_BY_DESCRIPTOR = os.open in os.supports_dir_fd and bool(_O_NOFOLLOW) and bool(_O_DIRECTORY)
# Symlinks followed in one walk at most, as Linux (MAXSYMLINKS); more is ELOOP.
_MAX_LINKS = 40


def _close(descriptor: int) -> None:
    """Close a descriptor `_open_beneath` gave (-1: none was opened)."""
    if descriptor >= 0:
        os.close(descriptor)


def content_type_for(path: str) -> str:
    """The Content-Type of a file by its name; text types get `charset=utf-8`."""
    guessed, encoding = mimetypes.guess_type(path, strict=False)
    if encoding is not None:
        return _ARCHIVE_TYPES.get(encoding, "application/octet-stream")
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith(_TEXT_TYPES) or guessed.endswith("+xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


class _Replaced(Exception):
    """The file opened is no longer the one checked: look the path up again."""


class FileEntry:
    """One representation of one file, as last seen on disk, and its answers."""

    __slots__ = (
        "names",
        "path",
        "ino",
        "dev",
        "size",
        "mtime",
        "mtime_ns",
        "ctime_ns",
        "opaque",
        "last_modified",
        "content_type",
        "headers",
        "body",
        "whole",
        "not_modified",
        "head_lines",
    )

    def __init__(
        self,
        names: tuple[str, ...],
        path: str,
        info: os.stat_result,
        content_type: str,
        coding: str | None,
        body: bytes | None,
        *,
        vary: bool,
        cache_control: str | None,
        ranges: bool,
    ) -> None:
        self.names = names  # its path components under the root, as walked
        self.path = path  # the path as requested (under the root), checked by `current`
        # Its identity on disk: the same inode, unchanged (a chmod changes ctime).
        self.ino = info.st_ino
        self.dev = info.st_dev
        self.size = info.st_size
        self.mtime = int(info.st_mtime)
        self.mtime_ns = info.st_mtime_ns
        self.ctime_ns = info.st_ctime_ns
        # A strong validator (RFC 9110 §8.8.3): modification time and size, and the coding,
        # since each representation needs its own tag.
        self.opaque = f"{info.st_mtime_ns:x}-{info.st_size:x}{'-' + coding if coding else ''}".encode("ascii")
        last_modified = formatdate(info.st_mtime, usegmt=True)
        self.last_modified = last_modified.encode("ascii")
        self.content_type = content_type
        validators = [("Last-Modified", last_modified), ("ETag", '"' + self.opaque.decode("ascii") + '"')]
        if vary:
            validators.append(("Vary", "Accept-Encoding"))
        if cache_control is not None:  # a 304 repeats it (RFC 9110 §15.4.5)
            validators.append(("Cache-Control", cache_control))
        headers = [*validators, ("Accept-Ranges", "bytes" if ranges else "none")]
        if coding is not None:
            headers.append(("Content-Encoding", coding))
        self.headers = headers
        self.body = body
        # The answers that do not depend on the request, built once.
        self.whole = Response(body, 200, headers, content_type) if body is not None else None
        self.not_modified = Response(b"", 304, validators)
        # The encoded Content-Type and header lines of a 200 sent from disk, once known.
        self.head_lines: bytes | None = None

    def current(self, info: os.stat_result | None = None) -> bool:
        """Whether the path still names this very file, unchanged (one stat), or whether
        `info` (the fstat of a descriptor) describes it."""
        if info is None:
            try:
                info = os.stat(self.path)
            except OSError:
                return False
        return (
            info.st_mtime_ns == self.mtime_ns
            and info.st_ctime_ns == self.ctime_ns
            and info.st_ino == self.ino
            and info.st_size == self.size
            and info.st_dev == self.dev
        )


class StaticFiles:
    """The files under `directory`, served read-only for GET and HEAD.

    `index`: the file answered for a directory (`/dir/`); `/dir` is redirected there.
    `show_hidden`: serve names starting with "." (hidden, as 404, by default).
    `follow_symlinks`: serve symlinks whose target is outside the root (refused by default;
    symlinks that stay inside the root are always followed).
    `precompressed`: answer with a `name.br` or `name.gz` beside the file when the client's
    Accept-Encoding allows it.
    `cache_control`: a Cache-Control value for every file answer ("public, max-age=3600",
    "no-cache"); none by default, as nginx, which leaves freshness to the caches' heuristics.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        index: str = "index.html",
        show_hidden: bool = False,
        follow_symlinks: bool = False,
        precompressed: bool = True,
        cache_control: str | None = None,
    ) -> None:
        self.directory = os.path.abspath(os.fspath(directory))
        if not os.path.isdir(self.directory):
            raise ValueError(f"static directory {self.directory!r} does not exist")
        if not index or "/" in index or index.startswith("."):
            raise ValueError(f"invalid index file name {index!r}")
        self.index = index
        self.show_hidden = show_hidden
        self.follow_symlinks = follow_symlinks
        self.precompressed = precompressed
        if cache_control is not None:
            encode_headers([("Cache-Control", cache_control)])  # refuses CR, LF and NUL now
        self.cache_control = cache_control
        # Files as last seen, by the relative path asked for (with "\0coding" for a sibling),
        # the least recently used first (a plain dict: its lookups cost less than an
        # OrderedDict's), and the one used last, which has nowhere to move.
        self._files: dict[str, FileEntry] = {}
        self._newest: FileEntry | None = None
        self._cached_bytes = 0
        # The settings of the server this is served by (`configure`); the defaults until then.
        self.config = _DEFAULT_CONFIG

    def configure(self, config: Config) -> None:
        """Take the settings of the server that serves the app this is mounted in: the cache
        sizes and `max_ranges` of its Config. Called once when that server starts (App.configure)."""
        if config != self.config:
            self.config = config
            self._files.clear()  # remembered under the old cache limits
            self._newest = None
            self._cached_bytes = 0

    def mount(self, app: App, prefix: str) -> None:
        """Answer GET and HEAD for `prefix/...` from this directory (`app.mount(prefix, self)`)."""
        app.mount(prefix, self)

    # -- answering
    def __call__(self, request: Request, relative: str) -> Response:
        """The answer to `request` for the (percent-decoded) path `relative` under the root."""
        for _ in range(_ATTEMPTS):
            try:
                return self._answer(request, relative)
            except _Replaced:
                continue  # the file changed between its check and its opening: once more
        raise NotFound()

    def _answer(self, request: Request, relative: str) -> Response:
        files = self._files
        entry = files.get(relative)
        if entry is None or not entry.current():
            opened = self._find(request, relative)
            if not isinstance(opened, FileEntry):
                return opened  # a redirect to the directory's slash
            entry = opened
        elif entry is not self._newest:
            self._used(relative, entry)
        fields = request_fields(request.raw_headers)
        if fields is None:
            return entry.whole or self._file_response(entry, 200, entry.headers)
        if self.precompressed:
            accept = fields.get(ACCEPT_ENCODING)
            if accept is not None:
                entry = self._compressed(relative, entry, accept) or entry
        decision = preconditions(fields, entry.opaque, entry.mtime, entry.last_modified)
        if decision == NOT_MODIFIED:
            return entry.not_modified
        if decision == PRECONDITION_FAILED:
            raise PreconditionFailed()
        ranges = fields.get(RANGE)
        # RFC 9110 §14.2: Range is defined for GET only; an empty file has no range to give.
        if ranges is not None and request.method == "GET" and entry.size:
            if_range = fields.get(IF_RANGE)
            if if_range is None or if_range_holds(if_range, entry.opaque, entry.mtime):
                spans = byte_ranges(ranges, entry.size, self.config.max_ranges)
                if spans is UNSATISFIABLE:
                    raise RangeNotSatisfiable(entry.size)
                if isinstance(spans, list):
                    partial = self._partial(entry, spans)
                    if partial is not None:
                        return partial
        return entry.whole or self._file_response(entry, 200, entry.headers)

    def _partial(self, entry: FileEntry, spans: list[tuple[int, int]]) -> Response | None:
        """The 206 for the (coalesced) ranges `spans`: one range as itself, several as
        multipart/byteranges; None when that would be larger than the whole file."""
        if len(spans) == 1:
            first, last = spans[0]
            headers = [*entry.headers, ("Content-Range", content_range(first, last, entry.size))]
            if entry.body is not None:
                return Response(entry.body[first : last + 1], 206, headers, entry.content_type)
            return self._file_response(entry, 206, headers, [(b"", first, last + 1 - first)])
        multipart = multipart_byteranges(spans, entry.size, entry.content_type)
        if multipart is None:
            return None
        content_type, pieces = multipart
        body = entry.body
        if body is not None:
            joined = b"".join(head + body[offset : offset + length] for head, offset, length in pieces)
            return Response(joined, 206, entry.headers, content_type)
        return self._file_response(entry, 206, entry.headers, pieces, content_type)

    def _file_response(
        self,
        entry: FileEntry,
        status: int,
        headers: list[tuple[str, str]],
        pieces: list[Piece] | None = None,
        content_type: str | None = None,
    ) -> Response:
        """A FileResponse holding the file open, if it is still the file `entry` describes:
        the whole file, or the `pieces` of a 206 (with its own `content_type`)."""
        try:
            file = open(entry.path, "rb", buffering=0)  # noqa: SIM115 - the response owns it
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            raise NotFound() from None
        if not entry.current(os.fstat(file.fileno())):
            file.close()
            self._forget(entry)
            raise _Replaced()
        response = FileResponse(
            entry.path,
            status,
            headers,
            content_type or entry.content_type,
            size=entry.size if pieces is None else None,
            file=file,
            pieces=pieces,
        )
        if pieces is None:  # a whole-file 200: its header lines are the same each time
            if entry.head_lines is None:
                entry.head_lines = response.head_extra()
            else:
                response.reuse_head_extra(entry.head_lines)
        return response

    def _compressed(self, relative: str, entry: FileEntry, accept: bytes) -> FileEntry | None:
        """The precompressed sibling to answer with instead of `entry`, if any is acceptable."""
        files = self._files
        for coding in preferred_codings(accept, CODINGS):
            key = f"{relative}\0{coding}"
            sibling = files.get(key)
            if sibling is not None and sibling.current():
                if sibling is not self._newest:
                    self._used(key, sibling)
                return sibling
            names = (*entry.names[:-1], entry.names[-1] + _SUFFIXES[coding])
            try:
                sibling = self._open_file(key, names, entry.content_type, coding)
            except (Forbidden, NotFound):
                continue  # an unreadable sibling, or one leading outside: not an option
            if sibling is not None:
                return sibling
        return None

    # -- finding files
    def _find(self, request: Request, relative: str) -> FileEntry | Response:
        """Look `relative` up on disk: the file, a redirect for a directory without its
        slash, or NotFound/Forbidden."""
        names = self._segments(relative)
        try:
            descriptor, info = self._open_beneath(names)
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            raise NotFound() from None
        if stat.S_ISDIR(info.st_mode):
            _close(descriptor)
            if not request.raw_path.endswith("/"):
                # One leading slash: `//host/` in a Location would name another host.
                location = "/" + request.raw_path.lstrip("/") + "/"
                if request.query_string:
                    location += "?" + request.query_string
                return RedirectResponse(location, 301)
            entry = self._open_file(relative, (*names, self.index), None, None)
        elif relative.endswith("/"):
            _close(descriptor)
            raise NotFound()  # `file.txt/` names a directory that is not there (as ENOTDIR)
        else:
            entry = self._describe(relative, tuple(names), descriptor, info, None, None)
        if entry is None:
            raise NotFound()
        return entry

    def _segments(self, relative: str) -> list[str]:
        """The path segments of `relative`, refusing `..`, dotfiles, NUL and backslashes."""
        if "\0" in relative or "\\" in relative:
            raise NotFound()
        parts = []
        for segment in relative.split("/"):
            if segment in ("", "."):
                continue
            if segment == ".." or (segment[0] == "." and not self.show_hidden):
                raise NotFound()
            parts.append(segment)
        return parts

    def _open_beneath(self, names: Sequence[str]) -> tuple[int, os.stat_result]:
        """A descriptor of the file `names` lead to from the root and its fstat (see
        `_walk_beneath`), or -1 and its stat for anything else when found by path."""
        if WALK_BY_DESCRIPTOR:
            return self._walk_beneath(names)
        return self._open_by_path(names)

    def _open_by_path(self, names: Sequence[str]) -> tuple[int, os.stat_result]:
        """`_walk_beneath` where there are no directory descriptors to walk from (Windows):
        the path's real path (symlinks resolved) must be beneath the root's unless
        follow_symlinks, then a regular file is opened and must be the one that was checked
        (device and inode). Weaker than the walk: a directory swapped for a symlink between
        the check and the open is not seen. -1 and the stat for what is not a regular file."""
        root = os.path.realpath(self.directory)
        real = os.path.realpath(os.path.join(self.directory, *names))
        if not self.follow_symlinks:
            try:
                beneath = os.path.commonpath([root, real]) == root
            except ValueError:  # on another drive (a segment such as "C:")
                beneath = False
            if not beneath:
                raise NotFound()
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):
            return -1, info
        opened = os.open(real, os.O_RDONLY | getattr(os, "O_BINARY", 0) | _O_CLOEXEC)
        opened_info = os.fstat(opened)
        if (opened_info.st_dev, opened_info.st_ino) != (info.st_dev, info.st_ino):
            os.close(opened)
            raise _Replaced()
        return opened, opened_info

    def _walk_beneath(self, names: Sequence[str]) -> tuple[int, os.stat_result]:
        """A descriptor of what the path components `names` lead to from the root, and its
        fstat: opened for reading if it is a regular file, an O_PATH descriptor otherwise
        (the caller closes it). Each component is opened relative to a descriptor of the
        directory before it and never followed by the kernel; a symlink is read through its
        own descriptor and its target walked the same way. The walk may leave the root (a
        target with `..`, or an absolute one) and come back into it; unless follow_symlinks,
        it must end beneath the root, as told by the identity of the directories it went
        through. NotFound if it does not; otherwise the OSError of the step that failed."""
        here = os.open(self.directory, _DIRECTORY_FLAGS)
        try:
            info = os.fstat(here)
            root = here_identity = (info.st_dev, info.st_ino)
            inside = True  # whether `here` is the root or beneath it
            # The directories walked down through to `here`, for a `..`: identity, inside.
            above: list[tuple[tuple[int, int], bool]] = []
            pending = list(reversed(names))  # the components still to walk, the next last
            links = 0
            while pending:
                name = pending.pop()
                if name == "..":
                    step = os.open("..", _DIRECTORY_FLAGS, dir_fd=here)
                    os.close(here)
                    here = step
                    info = os.fstat(here)
                    here_identity = (info.st_dev, info.st_ino)
                    if above:
                        expected, inside = above.pop()
                        if here_identity != expected:
                            raise _Replaced()  # a directory walked through was moved meanwhile
                    else:
                        inside = here_identity == root
                    continue
                step = os.open(name, _STEP_FLAGS, dir_fd=here)
                try:
                    step_info = os.fstat(step)
                    if stat.S_ISLNK(step_info.st_mode):
                        target = os.readlink("", dir_fd=step)  # the link itself, not its name
                    elif stat.S_ISDIR(step_info.st_mode):
                        above.append((here_identity, inside))
                        here_identity = (step_info.st_dev, step_info.st_ino)
                        inside = inside or here_identity == root
                        here, step, info = step, here, step_info
                        continue
                    elif pending:
                        raise NotADirectoryError(errno.ENOTDIR, "not a directory", name)
                    else:
                        if not inside and not self.follow_symlinks:
                            raise NotFound()
                        if stat.S_ISREG(step_info.st_mode):
                            opened = os.open(name, _READ_FLAGS, dir_fd=here)
                            opened_info = os.fstat(opened)
                            if (opened_info.st_dev, opened_info.st_ino) != (step_info.st_dev, step_info.st_ino):
                                os.close(opened)
                                raise _Replaced()  # replaced between the two opens
                            return opened, opened_info
                        result, step = step, -1
                        return result, step_info
                finally:
                    if step >= 0:
                        os.close(step)
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", name)
                if target.startswith("/"):
                    step = os.open("/", _DIRECTORY_FLAGS)
                    os.close(here)
                    here = step
                    info = os.fstat(here)
                    here_identity = (info.st_dev, info.st_ino)
                    inside = here_identity == root
                    above.clear()
                pending.extend(part for part in reversed(target.split("/")) if part not in ("", "."))
            # The walk ended on a directory (the root itself, or a `..` of a target).
            if not inside and not self.follow_symlinks:
                raise NotFound()
            result, here = here, -1
            return result, info
        finally:
            if here >= 0:
                os.close(here)

    def _open_file(
        self, key: str, names: tuple[str, ...], content_type: str | None, coding: str | None
    ) -> FileEntry | None:
        """Walk to the regular file at `names` (None if there is none), describe it and
        remember it under `key`; `content_type` None goes by its name. Raises Forbidden if
        it cannot be read, NotFound if it is outside."""
        try:
            descriptor, info = self._open_beneath(names)
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            return None
        return self._describe(key, names, descriptor, info, content_type, coding)

    def _describe(
        self,
        key: str,
        names: tuple[str, ...],
        descriptor: int,
        info: os.stat_result,
        content_type: str | None,
        coding: str | None,
    ) -> FileEntry | None:
        """The entry of the file open at `descriptor` (which this closes), remembered under
        `key`; None if it is not a regular file."""
        if not stat.S_ISREG(info.st_mode):
            _close(descriptor)
            return None
        with open(descriptor, "rb", buffering=0) as file:
            config = self.config
            body = None
            settled = True
            if info.st_size <= config.static_cache_file_size and config.static_cache_size:
                body = file.read(info.st_size + 1)  # one byte more: a file still growing shows
                if len(body) != info.st_size:
                    # Being written: sent from disk and not remembered (the sendfile path
                    # stops at the length announced, or closes if the bytes run out).
                    body = None
                    settled = False
        path = os.path.join(self.directory, *names)
        entry = FileEntry(
            names,
            path,
            info,
            content_type or content_type_for(path),
            coding,
            body,
            vary=self.precompressed,
            cache_control=self.cache_control,
            ranges=config.max_ranges > 0,
        )
        if settled:
            self._remember(key, entry, config)
        return entry

    def _remember(self, key: str, entry: FileEntry, config: Config) -> None:
        files = self._files
        earlier = files.pop(key, None)
        if earlier is not None and earlier.body is not None:
            self._cached_bytes -= len(earlier.body)
        if entry.body is not None and len(entry.body) > config.static_cache_size:
            entry.body = None  # larger than the whole cache: sent from disk
            entry.whole = None
        size = len(entry.body) if entry.body is not None else 0
        while files and (len(files) >= _MAX_FILES or self._cached_bytes + size > config.static_cache_size):
            evicted = files.pop(next(iter(files)))  # the least recently used
            if evicted.body is not None:
                self._cached_bytes -= len(evicted.body)
        files[key] = entry
        self._newest = entry
        self._cached_bytes += size

    def _used(self, key: str, entry: FileEntry) -> None:
        """`entry`, remembered under `key`, has just been used: it goes last."""
        files = self._files
        del files[key]
        files[key] = entry
        self._newest = entry

    def _forget(self, entry: FileEntry) -> None:
        for key, remembered in list(self._files.items()):
            if remembered is entry:
                del self._files[key]
                if entry.body is not None:
                    self._cached_bytes -= len(entry.body)
