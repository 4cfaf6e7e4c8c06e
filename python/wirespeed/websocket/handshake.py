"""The opening handshake of a WebSocket (RFC 6455 §4.2), as a server reads it.

Strategy: this module owns one judgement: whether a request's head asks to switch to a
WebSocket, and, if it does, whether it asks correctly. A request that does not ask (no
`Upgrade: websocket`) is none of its business (None). One that asks wrongly gets the HTTPError
the RFC names: 400 for a broken handshake (§4.2.1), 426 with `Sec-WebSocket-Version: 13` for
another version (§4.4). One that asks correctly gives a `Handshake`: the `Sec-WebSocket-Accept`
value, the subprotocols offered in order, and the extensions offered with their parameters
(permessage-deflate's among them, RFC 7692 §5), for the layer above to choose from. Nothing
here writes bytes or keeps state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import BadRequest, UpgradeRequired

# RFC 6455 §1.3: the GUID appended to the key.
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = b"13"

# token (RFC 9110 §5.6.2)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# An extension parameter: token, or token=token / quoted-string (RFC 6455 §9.1).
_PARAMETER = re.compile(rb'\s*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*(?:=\s*("[^"]*"|[!#$%&\'*+\-.^_`|~0-9A-Za-z]+))?\s*')


@dataclass(frozen=True)
class Handshake:
    """A correct request to open a WebSocket."""

    accept: bytes  # the value of Sec-WebSocket-Accept for the 101
    subprotocols: tuple[str, ...] = ()  # Sec-WebSocket-Protocol, in the client's order
    # Sec-WebSocket-Extensions: (name, ((parameter, value or None), ...)) in the client's order
    extensions: tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...] = field(default=())


def accept_key(key: bytes) -> bytes:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2 step 5.4)."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def read_handshake(method: str, version: int, headers: Iterable[tuple[bytes, bytes]]) -> Handshake | None:
    """The handshake `headers` (lower-cased names, as the parsers give them) ask for, or None
    when they do not ask for a WebSocket; raises BadRequest or UpgradeRequired for one that
    asks wrongly."""
    fields: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        fields.setdefault(name, []).append(value)
    if not any(token == b"websocket" for token in _tokens(fields.get(b"upgrade", ()))):
        return None
    if method != "GET" or version != 1:
        raise BadRequest("a WebSocket handshake is a GET of HTTP/1.1 (RFC 6455 §4.2.1)")
    if b"upgrade" not in _tokens(fields.get(b"connection", ())):
        raise BadRequest("a WebSocket handshake needs Connection: upgrade (RFC 6455 §4.2.1)")
    versions = fields.get(b"sec-websocket-version", [])
    if len(versions) != 1 or versions[0].strip() != VERSION:
        raise UpgradeRequired("only WebSocket version 13 is spoken here", headers={"Sec-WebSocket-Version": "13"})
    keys = fields.get(b"sec-websocket-key", [])
    if len(keys) != 1 or not _is_key(keys[0].strip()):
        raise BadRequest("Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 §4.2.1)")
    subprotocols = tuple(token.decode("ascii") for token in _token_list(fields.get(b"sec-websocket-protocol", ()), "Sec-WebSocket-Protocol"))
    extensions = tuple(_extensions(fields.get(b"sec-websocket-extensions", ())))
    return Handshake(accept_key(keys[0].strip()), subprotocols, extensions)


def _tokens(values: Iterable[bytes]) -> list[bytes]:
    """The comma-separated elements of the field's lines, trimmed and lower-cased."""
    return [element.strip(b" \t").lower() for value in values for element in value.split(b",")]


def _token_list(values: Sequence[bytes], name: str) -> list[bytes]:
    """1#token (RFC 9110 §5.6.1): empty elements are dropped, anything else is a token."""
    tokens = [element.strip(b" \t") for value in values for element in value.split(b",")]
    tokens = [token for token in tokens if token]
    for token in tokens:
        if not _TOKEN.fullmatch(token):
            raise BadRequest(f"invalid {name} value")
    return tokens


def _is_key(key: bytes) -> bool:
    """A base64 encoding of 16 bytes (RFC 6455 §4.1, §4.2.1 item 5)."""
    if len(key) != 24:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _extensions(values: Sequence[bytes]) -> Iterable[tuple[str, tuple[tuple[str, str | None], ...]]]:
    """Sec-WebSocket-Extensions (RFC 6455 §9.1): extension *( ";" extension-param )."""
    for value in values:
        for offer in value.split(b","):
            if not offer.strip(b" \t"):
                continue
            name, *parameters = offer.split(b";")
            name = name.strip(b" \t")
            if not _TOKEN.fullmatch(name):
                raise BadRequest("invalid Sec-WebSocket-Extensions value")
            parsed: list[tuple[str, str | None]] = []
            for parameter in parameters:
                match = _PARAMETER.fullmatch(parameter)
                if match is None:
                    raise BadRequest("invalid Sec-WebSocket-Extensions value")
                raw = match.group(2)
                if raw is not None and raw.startswith(b'"'):
                    raw = raw[1:-1]
                    if not _TOKEN.fullmatch(raw):  # a quoted value must still be a token (§9.1)
                        raise BadRequest("invalid Sec-WebSocket-Extensions value")
                parsed.append((match.group(1).decode("ascii").lower(), None if raw is None else raw.decode("ascii")))
            yield name.decode("ascii").lower(), tuple(parsed)


__all__ = ["GUID", "Handshake", "accept_key", "read_handshake"]
