"""Serving a directory of files: path containment, content type, validators.

Strategy: this module owns the mapping from a URL path to a file under one root, and the
refusal of everything outside it (`..`, encoded separators, NUL, backslashes, symlinks out,
dotfiles). It answers with a `FileResponse`; how the bytes reach the socket is the protocol's
concern. Content types come from the stdlib `mimetypes`, dates from `email.utils`.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING

from .errors import Forbidden, NotFound
from .request import Request
from .response import FileResponse, RedirectResponse, Response

if TYPE_CHECKING:
    from .app import App

_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


def content_type_for(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path, strict=False)
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith(_TEXT_TYPES):
        return f"{guessed}; charset=utf-8"
    return guessed


class StaticFiles:
    """The files under `directory`, served read-only.

    `follow_symlinks`: serve symlinks whose target is outside the root (refused by default).
    `show_hidden`: serve names starting with "." (hidden by default).
    `index`: the file answered for a directory.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        follow_symlinks: bool = False,
        show_hidden: bool = False,
        index: str = "index.html",
    ) -> None:
        self.root = os.path.realpath(os.fspath(directory))
        if not os.path.isdir(self.root):
            raise ValueError(f"static directory {self.root!r} does not exist")
        self.follow_symlinks = follow_symlinks
        self.show_hidden = show_hidden
        self.index = index

    def mount(self, app: App, prefix: str) -> None:
        """Answer GET and HEAD for `prefix/...` from this directory."""
        prefix = "/" + prefix.strip("/")
        if prefix == "/":
            prefix = ""

        def serve_static(request: Request, path: str = "") -> Response:
            return self.respond(request, path, prefix)

        def serve_root(request: Request) -> Response:
            return self.respond(request, "", prefix)

        app.add_route(prefix + "/{path:path}", serve_static, ("GET",))
        if prefix:
            app.add_route(prefix, serve_root, ("GET",))

    def resolve(self, relative: str) -> str:
        """The real path of `relative` (already percent-decoded) under the root, or NotFound."""
        if "\0" in relative or "\\" in relative:
            raise NotFound()
        parts = []
        for segment in relative.split("/"):
            if segment in ("", "."):
                continue
            if segment == ".." or (segment.startswith(".") and not self.show_hidden):
                raise NotFound()
            parts.append(segment)
        candidate = os.path.join(self.root, *parts)
        real = os.path.realpath(candidate)
        if not self.follow_symlinks and os.path.commonpath([self.root, real]) != self.root:
            raise NotFound()
        return real

    def respond(self, request: Request, relative: str, prefix: str) -> Response:
        path = self.resolve(relative)
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound() from None
        except PermissionError:
            raise Forbidden() from None
        if stat.S_ISDIR(info.st_mode):
            if not request.raw_path.endswith("/"):
                location = request.raw_path + "/"
                if request.query_string:
                    location += "?" + request.query_string
                return RedirectResponse(location, 301)
            path = os.path.join(path, self.index)
            try:
                info = os.stat(path)
            except OSError:
                raise NotFound() from None
        if not stat.S_ISREG(info.st_mode):
            raise NotFound()
        if not os.access(path, os.R_OK):
            raise Forbidden()
        etag = f'W/"{info.st_size:x}-{info.st_mtime_ns:x}"'
        last_modified = formatdate(info.st_mtime, usegmt=True)
        headers = [("Last-Modified", last_modified), ("ETag", etag)]
        if _not_modified(request, etag, info.st_mtime):
            return Response(b"", 304, headers)
        return FileResponse(path, headers=headers, content_type=content_type_for(path), size=info.st_size)


def _not_modified(request: Request, etag: str, mtime: float) -> bool:
    """RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return etag.removeprefix("W/") in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False
