"""Routing: from (method, path) to a handler and its path parameters.

Strategy: this module owns path patterns and matching. A path without parameters is one dict
lookup. A path with `{name}`, `{name:int}` or `{name:path}` parameters compiles once, at
registration, into a regex and its converters. A mount (`/static` -> StaticFiles) owns every
path under its prefix and is matched by the prefix alone, after the routes. Matching
distinguishes "no such path" (404) from "path exists, method does not" (405 with Allow). GET
routes answer HEAD too. An endpoint registered for `*` takes every method its path has no
endpoint for by name (HEAD still goes to a GET one first), so its path is never a 405. A
CONNECT, whose authority-form target names no path (RFC 9112 §3.2.3), goes to the one CONNECT
endpoint if there is one, else it is a 501. It never calls handlers and never builds responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .errors import MethodNotAllowed, NotFound, NotImplementedMethod

Handler = Callable[..., Any]

# Convertors: name -> (regex for one value, conversion from the decoded text).
CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "path": (r".*", str),
}

_NO_PARAMS: dict[str, Any] = {}  # returned for every static path; never handed out

ANY_METHOD = "*"  # registered as the only method: every method
# What a `*` endpoint adds to the Allow of `OPTIONS *`, which cannot say "any": the methods of
# RFC 9110 §9.3 that act on a resource (CONNECT is no path's; TRACE only echoes the request
# and is not advertised) and PATCH (RFC 5789).
ANY_METHOD_ALLOWS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")


@dataclass(slots=True)
class Endpoint:
    """A handler for one path and its methods, plus what it needs to be called."""

    path: str
    handler: Handler
    methods: frozenset[str]
    # The path parameters the handler declares as keyword arguments, with their converters.
    kwargs: tuple[tuple[str, Callable[[str], Any]], ...] = ()
    # True when `kwargs` is every path parameter with no conversion: the params dict is passed.
    kwargs_are_params: bool = False
    # A mount: the handler is called as handler(request, rest), `rest` being the decoded path
    # below the prefix, without its leading slash.
    mounted: bool = False


@dataclass(slots=True)
class Pattern:
    """A compiled path with parameters, and the endpoints registered on it by method."""

    path: str
    regex: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]
    by_method: dict[str, Endpoint] = field(default_factory=dict)
    # Whether any parameter converts its text (int); if not, matched text is used as it is.
    converts: bool = False


def compile_path(path: str) -> tuple[re.Pattern[str], dict[str, Callable[[str], Any]]]:
    """`/users/{user_id:int}` -> (regex with named groups, {"user_id": int})."""
    if not path.startswith("/"):
        raise ValueError(f"route paths start with '/': {path!r}")
    pattern = "^"
    converters: dict[str, Callable[[str], Any]] = {}
    position = 0
    for match in _PARAM.finditer(path):
        name, kind = match.group(1), match.group(2) or "str"
        if kind not in CONVERTERS:
            raise ValueError(f"unknown converter {kind!r} in {path!r}: use {', '.join(CONVERTERS)}")
        if name in converters:
            raise ValueError(f"duplicate parameter {name!r} in {path!r}")
        regex, convert = CONVERTERS[kind]
        pattern += re.escape(path[position : match.start()]) + f"(?P<{name}>{regex})"
        converters[name] = convert
        position = match.end()
    pattern += re.escape(path[position:]) + "$"
    return re.compile(pattern), converters


def allow_header(methods: set[str] | frozenset[str]) -> list[str]:
    """The methods an Allow field lists for endpoints registered for `methods`."""
    allowed = set(methods)
    if ANY_METHOD in allowed:
        allowed.remove(ANY_METHOD)
        allowed.update(ANY_METHOD_ALLOWS)
    if "GET" in allowed:
        allowed.add("HEAD")
    allowed.add("OPTIONS")
    return sorted(allowed)


def _by_method(table: dict[str, Endpoint], method: str) -> Endpoint:
    """The endpoint for `method`; HEAD falls back to GET (RFC 9110 §9.3.2), and any method
    to a `*` endpoint."""
    endpoint = table.get(method)
    if endpoint is None:
        if method == "HEAD":
            endpoint = table.get("GET")
        if endpoint is None:
            endpoint = table.get(ANY_METHOD)
            if endpoint is None:
                raise MethodNotAllowed(allow_header(frozenset(table)))
    return endpoint


class Router:
    """Maps a method and a raw (percent-encoded) path to an endpoint and path parameters."""

    __slots__ = ("static", "_patterns", "_mounts", "_connect")

    def __init__(self) -> None:
        # path -> method -> endpoint, for paths without parameters. Read directly by
        # App.dispatch for its fast path.
        self.static: dict[str, dict[str, Endpoint]] = {}
        self._patterns: list[Pattern] = []
        # (prefix + "/", method -> endpoint), longest prefix first; "/" is the root's.
        self._mounts: list[tuple[str, dict[str, Endpoint]]] = []
        self._connect: Endpoint | None = None

    def mount(self, endpoint: Endpoint) -> None:
        """Give every path under `endpoint.path` (a prefix, "" or "/" for all) to `endpoint`."""
        prefix = endpoint.path.rstrip("/")
        if prefix and (not prefix.startswith("/") or "{" in prefix):
            raise ValueError(f"a mount prefix is a plain path starting with '/': {endpoint.path!r}")
        if any(existing == prefix + "/" for existing, _ in self._mounts):
            raise ValueError(f"{prefix or '/'} is already mounted")
        self._mounts.append((prefix + "/", dict.fromkeys(endpoint.methods, endpoint)))
        self._mounts.sort(key=lambda mount: -len(mount[0]))

    def connect(self, endpoint: Endpoint) -> None:
        """Give every CONNECT request to `endpoint`."""
        if self._connect is not None:
            raise ValueError("CONNECT already has a handler")
        self._connect = endpoint

    def add(self, endpoint: Endpoint) -> None:
        if "{" in endpoint.path:
            regex, converters = compile_path(endpoint.path)
            pattern = next((p for p in self._patterns if p.path == endpoint.path), None)
            if pattern is None:
                converts = any(convert is not str for convert in converters.values())
                pattern = Pattern(endpoint.path, regex, converters, converts=converts)
                self._patterns.append(pattern)
            table = pattern.by_method
        else:
            compile_path(endpoint.path)  # validates the path
            table = self.static.setdefault(endpoint.path, {})
        for method in endpoint.methods:
            if method in table:
                raise ValueError(f"{method} {endpoint.path} is already routed")
            table[method] = endpoint

    def match(self, method: str, raw_path: str) -> tuple[Endpoint, dict[str, Any]]:
        """The endpoint and decoded parameters (for a mount: the decoded rest of the path, a
        str); raises NotFound or MethodNotAllowed."""
        table = self.static.get(raw_path)
        if table is None and "%" in raw_path:
            table = self.static.get(unquote(raw_path))
        if table is not None:
            return table.get(method) or _by_method(table, method), _NO_PARAMS
        for pattern in self._patterns:
            found = pattern.regex.match(raw_path)
            if found is None:
                continue
            endpoint = pattern.by_method.get(method) or _by_method(pattern.by_method, method)
            params: dict[str, Any] = found.groupdict()
            if pattern.converts or "%" in raw_path:
                converters = pattern.converters
                params = {
                    name: converters[name](unquote(value) if "%" in value else value) for name, value in params.items()
                }
            return endpoint, params
        for prefix, by_method in self._mounts:  # prefix ends with "/"
            if raw_path.startswith(prefix) or raw_path == prefix[:-1]:
                endpoint = by_method.get(method) or _by_method(by_method, method)
                rest = raw_path[len(prefix) :]
                return endpoint, unquote(rest) if "%" in rest else rest  # type: ignore[return-value]
        if method == "CONNECT":  # an authority-form target: no path has matched it
            if self._connect is not None:
                return self._connect, _NO_PARAMS
            # RFC 9110 §9.3.6, §15.6.2: tunnelling is not something this server implements,
            # for any target; a 405 would claim the target is a resource of this server and
            # owe an Allow listing its methods.
            raise NotImplementedMethod("CONNECT is not supported: this server is not a proxy")
        raise NotFound()

    @property
    def empty(self) -> bool:
        """Nothing is routed: no route, no mount, no CONNECT handler."""
        return not (self.static or self._patterns or self._mounts or self._connect)

    def mounted(self) -> list[Endpoint]:
        """The endpoints of the mounts, longest prefix first."""
        return [next(iter(by_method.values())) for _, by_method in self._mounts]

    def all_methods(self) -> list[str]:
        methods: set[str] = set()
        for table in self.static.values():
            methods.update(table)
        for pattern in self._patterns:
            methods.update(pattern.by_method)
        for _, by_method in self._mounts:
            methods.update(by_method)
        if self._connect is not None:
            methods.add("CONNECT")
        return allow_header(methods)
