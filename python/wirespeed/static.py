"""Serving a directory of files: containment, representations, validators and the file cache.

Strategy: this module owns the mapping from a URL path to a file under one root, and the
refusal of everything outside it (`..`, encoded separators, NUL, backslashes, symlinks that
point out, dotfiles). A file, once found, is remembered with its identity on disk (device,
inode, size, modification and change times) and the headers it is answered with; every later
request checks that identity with one `stat` of the same path, so a change on disk is seen at
once and a cached path can never come to name another file. Files up to
`Config.static_cache_file_size` keep their bytes in memory (at most `Config.static_cache_size`
for each StaticFiles) and are answered inline; larger ones are answered with a `FileResponse` holding the
open file, which the protocol sends with sendfile(2). Conditional, range and content-coding
decisions come from `conditional.py`; content types from the stdlib `mimetypes`, dates from
`email.utils`.

Containment is decided on the resolved path (`os.path.realpath`). A local user who can write
inside the root and races a symlink swap between that check and the `open` is not defended
against; such a root is not a security boundary.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from email.utils import formatdate
from typing import TYPE_CHECKING

from .conditional import (
    ACCEPT_ENCODING,
    IF_RANGE,
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    RANGE,
    UNSATISFIABLE,
    byte_range,
    content_range,
    if_range_holds,
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
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


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
        path: str,
        info: os.stat_result,
        content_type: str,
        coding: str | None,
        body: bytes | None,
        *,
        vary: bool,
        cache_control: str | None,
    ) -> None:
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
        headers = [*validators, ("Accept-Ranges", "bytes")]
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
        # Files as last seen, by the relative path asked for (with "\0coding" for a sibling).
        self._files: dict[str, FileEntry] = {}
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
        found = self._files.get(relative)
        if found is None or not found.current():
            opened = self._find(request, relative)
            if not isinstance(opened, FileEntry):
                return opened  # a redirect to the directory's slash
            found = opened
        fields = request_fields(request.raw_headers)
        if fields is None:
            return found.whole or self._file_response(found, 200, found.headers)
        if self.precompressed:
            accept = fields.get(ACCEPT_ENCODING)
            if accept is not None:
                found = self._compressed(request, relative, found, accept) or found
        decision = preconditions(fields, found.opaque, found.mtime, found.last_modified)
        if decision == NOT_MODIFIED:
            return found.not_modified
        if decision == PRECONDITION_FAILED:
            raise PreconditionFailed()
        ranges = fields.get(RANGE)
        # RFC 9110 §14.2: Range is defined for GET only; an empty file has no range to give.
        if ranges is not None and request.method == "GET" and found.size:
            if_range = fields.get(IF_RANGE)
            if if_range is None or if_range_holds(if_range, found.opaque, found.mtime):
                span = byte_range(ranges, found.size)
                if span is UNSATISFIABLE:
                    raise RangeNotSatisfiable(found.size)
                if isinstance(span, tuple):
                    return self._partial(found, span[0], span[1])
        return found.whole or self._file_response(found, 200, found.headers)

    def _partial(self, found: FileEntry, first: int, last: int) -> Response:
        headers = [*found.headers, ("Content-Range", content_range(first, last, found.size))]
        if found.body is not None:
            return Response(found.body[first : last + 1], 206, headers, found.content_type)
        return self._file_response(found, 206, headers, first, last + 1 - first)

    def _file_response(
        self, found: FileEntry, status: int, headers: list[tuple[str, str]], offset: int = 0, size: int | None = None
    ) -> Response:
        """A FileResponse holding the file open, if it is still the file `found` describes."""
        try:
            file = open(found.path, "rb", buffering=0)  # noqa: SIM115 - the response owns it
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            raise NotFound() from None
        if not found.current(os.fstat(file.fileno())):
            file.close()
            self._forget(found)
            raise _Replaced()
        response = FileResponse(
            found.path,
            status,
            headers,
            found.content_type,
            offset=offset,
            size=found.size if size is None else size,
            file=file,
        )
        if headers is found.headers:  # a whole-file 200: its header lines are the same each time
            if found.head_lines is None:
                found.head_lines = response.head_extra()
            else:
                response.reuse_head_extra(found.head_lines)
        return response

    def _compressed(self, request: Request, relative: str, found: FileEntry, accept: bytes) -> FileEntry | None:
        """The precompressed sibling to answer with instead of `found`, if any is acceptable."""
        for coding in preferred_codings(accept, CODINGS):
            key = f"{relative}\0{coding}"
            sibling = self._files.get(key)
            if sibling is not None and sibling.current():
                return sibling
            try:
                sibling = self._open_file(request, key, found.path + _SUFFIXES[coding], found.content_type, coding)
            except (Forbidden, NotFound):
                continue  # an unreadable sibling, or one leading outside: not an option
            if sibling is not None:
                return sibling
        return None

    # -- finding files
    def _find(self, request: Request, relative: str) -> FileEntry | Response:
        """Look `relative` up on disk: the file, a redirect for a directory without its
        slash, or NotFound/Forbidden."""
        parts = self._segments(relative)
        path = os.path.join(self.directory, *parts)
        try:
            info = os.stat(self._contained(path))
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            raise NotFound() from None
        if stat.S_ISDIR(info.st_mode):
            if not request.raw_path.endswith("/"):
                # One leading slash: `//host/` in a Location would name another host.
                location = "/" + request.raw_path.lstrip("/") + "/"
                if request.query_string:
                    location += "?" + request.query_string
                return RedirectResponse(location, 301)
            path = os.path.join(path, self.index)
        elif relative.endswith("/"):
            raise NotFound()  # `file.txt/` names a directory that is not there (as ENOTDIR)
        found = self._open_file(request, relative, path, content_type_for(path), None)
        if found is None:
            raise NotFound()
        return found

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

    def _contained(self, path: str) -> str:
        """The resolved `path`, if it is inside the root (or symlinks may lead out)."""
        real = os.path.realpath(path)
        if not self.follow_symlinks:
            root = os.path.realpath(self.directory)
            if real != root and not real.startswith(root.rstrip("/") + "/"):
                raise NotFound()
        return real

    def _open_file(
        self, request: Request, key: str, path: str, content_type: str, coding: str | None
    ) -> FileEntry | None:
        """Open the regular file at `path` (None if there is none), describe it and remember
        it under `key`. Raises Forbidden if it cannot be read, NotFound if it is outside."""
        try:
            real = self._contained(path)
            descriptor = os.open(real, _OPEN_FLAGS)
        except PermissionError:
            raise Forbidden() from None
        except OSError:
            return None
        with open(descriptor, "rb", buffering=0) as file:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                return None
            connection = request[6]
            config = connection.state.config if connection is not None else _DEFAULT_CONFIG
            body = None
            settled = True
            if info.st_size <= config.static_cache_file_size and config.static_cache_size:
                body = file.read(info.st_size + 1)  # one byte more: a file still growing shows
                if len(body) != info.st_size:
                    # Being written: sent from disk and not remembered (the sendfile path
                    # stops at the length announced, or closes if the bytes run out).
                    body = None
                    settled = False
        found = FileEntry(
            path, info, content_type, coding, body, vary=self.precompressed, cache_control=self.cache_control
        )
        if settled:
            self._remember(key, found, config)
        return found

    def _remember(self, key: str, found: FileEntry, config: Config) -> None:
        files = self._files
        earlier = files.pop(key, None)
        if earlier is not None and earlier.body is not None:
            self._cached_bytes -= len(earlier.body)
        size = len(found.body) if found.body is not None else 0
        # Oldest first: the dict keeps insertion order.
        while files and (len(files) >= _MAX_FILES or self._cached_bytes + size > config.static_cache_size):
            oldest = files.pop(next(iter(files)))
            if oldest.body is not None:
                self._cached_bytes -= len(oldest.body)
        if size > config.static_cache_size:
            found.body = None
            found.whole = None
            return
        files[key] = found
        self._cached_bytes += size

    def _forget(self, found: FileEntry) -> None:
        for key, remembered in list(self._files.items()):
            if remembered is found:
                del self._files[key]
                if found.body is not None:
                    self._cached_bytes -= len(found.body)
