"""TLS: the server's SSLContext, built from a Config, and what a connection's TLS tells an app.

Strategy: this module owns every TLS decision and nothing of HTTP. `server_tls` builds one
`ssl.SSLContext` per server from the Config's ssl_* fields (TLS 1.2 at least, ALPN offering
only http/1.1, no compression, no renegotiation, the server's cipher order, client
certificates checked as ssl_cert_reqs says) and turns every way the files can be wrong into
one `TLSSetupError` line. The event loop's SSL transport (uvloop's or asyncio's) does the
record layer and the handshake, under `Config.ssl_handshake_timeout`; the protocol above it
sees plain bytes, so HTTP is the same on both. What a connection's TLS says (the ASGI TLS
extension's fields, asgiref specs/tls.rst) is read from its transport only when an app asks
for it (`connection_tls`), once per connection; a plain connection never looks. Handshakes
that fail are the client's fault and never reach the app: `quiet_handshake_errors` makes the
loop's exception handler report them in one rate-limited line (logs.ClientErrorLog) instead
of a traceback.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from .config import Config
    from .logs import ClientErrorLog

CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
# The protocol version numbers of the TLS specifications (what the ASGI extension reports).
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
ALPN_PROTOCOLS = ["http/1.1"]
# The short attribute names of RFC 4514 §3, by the long names Python's getpeercert() gives.
_RFC4514_NAMES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}


class TLSSetupError(ValueError):
    """The certificate, the key, the CA file or the cipher list cannot be used."""


@dataclass(frozen=True)
class ServerTLS:
    """One server's TLS: its context, and what every connection's TLS info shares."""

    context: ssl.SSLContext
    server_cert: str | None  # the server's certificate, PEM (the first one in ssl_certfile)
    cipher_ids: dict[str, int]  # IANA cipher suite numbers by OpenSSL name


@dataclass(frozen=True)
class TLSInfo:
    """What one connection's TLS says, as the ASGI TLS extension has it (`as_asgi`).

    client_cert is the client certificate decoded by the ssl module (subject, issuer,
    notAfter, subjectAltName...; see `ssl.SSLSocket.getpeercert`), or None without one."""

    server_cert: str | None
    client_cert_chain: tuple[str, ...]  # PEM, the client's certificate first
    client_cert_name: str | None  # its subject, RFC 4514
    client_cert_error: str | None  # always None: a certificate that fails its check ends the handshake
    tls_version: int | None  # 0x0303 for TLS 1.2, 0x0304 for TLS 1.3
    cipher_suite: int | None  # the IANA number, e.g. 0x1301 for TLS_AES_128_GCM_SHA256
    alpn_protocol: str | None = None
    client_cert: dict[str, Any] | None = field(default=None, repr=False)

    def as_asgi(self) -> dict[str, Any]:
        """The value of scope["extensions"]["tls"]."""
        return {
            "server_cert": self.server_cert,
            "client_cert_chain": list(self.client_cert_chain),
            "client_cert_name": self.client_cert_name,
            "client_cert_error": self.client_cert_error,
            "tls_version": self.tls_version,
            "cipher_suite": self.cipher_suite,
        }


def server_tls(config: Config) -> ServerTLS | None:
    """The TLS of a server with `config`, or None when it has no certificate (plain HTTP).
    Raises TLSSetupError, in one line, when a file cannot be read or used."""
    if config.ssl_certfile is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= (
        ssl.OP_NO_COMPRESSION  # CRIME
        | ssl.OP_CIPHER_SERVER_PREFERENCE
        | ssl.OP_SINGLE_ECDH_USE
        | getattr(ssl, "OP_NO_RENEGOTIATION", 0)  # a client cannot make the server redo handshakes
    )
    certfile, keyfile = config.ssl_certfile, config.ssl_keyfile
    _check_readable(certfile, "certificate")
    if keyfile:
        _check_readable(keyfile, "key")
    if config.ssl_ca_certs:
        _check_readable(config.ssl_ca_certs, "CA certificates")
    password = config.ssl_keyfile_password
    try:
        context.load_cert_chain(certfile, keyfile, password if password is not None else _no_password)
    except _KeyIsEncrypted:
        raise TLSSetupError(f"the key {keyfile or certfile} is encrypted: its password is needed") from None
    except ssl.SSLError as error:
        if password is not None and "MISMATCH" not in str(error.reason or ""):
            why = f"cannot decrypt the key {keyfile or certfile}: a wrong password, or not a PEM key"
        else:
            why = f"cannot use the certificate {certfile}" + (f" with the key {keyfile}" if keyfile else "")
        raise TLSSetupError(f"{why} ({_ssl_reason(error)})") from None
    except OSError as error:
        raise TLSSetupError(f"cannot read the certificate or its key: {_os_reason(error)}") from None
    if config.ssl_ca_certs:
        try:
            context.load_verify_locations(cafile=config.ssl_ca_certs)
        except (ssl.SSLError, ValueError) as error:
            raise TLSSetupError(f"cannot use the CA certificates {config.ssl_ca_certs} ({_ssl_reason(error)})") from None
        except OSError as error:
            raise TLSSetupError(f"cannot read the CA certificates: {_os_reason(error)}") from None
    context.verify_mode = CERT_REQS[config.ssl_cert_reqs]
    if config.ssl_ciphers:
        try:
            context.set_ciphers(config.ssl_ciphers)
        except ssl.SSLError:
            raise TLSSetupError(f"no cipher of the list {config.ssl_ciphers!r} can be used") from None
    context.set_alpn_protocols(ALPN_PROTOCOLS)
    cipher_ids = {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}
    return ServerTLS(context, _first_pem_certificate(certfile), cipher_ids)


class _KeyIsEncrypted(Exception):
    pass


def _no_password() -> str:
    """The password callback when none was given: never a prompt on the terminal (a server
    may have none), an error instead."""
    raise _KeyIsEncrypted


def _check_readable(path: str, what: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise TLSSetupError(f"cannot read the {what} {path}: {_os_reason(error)}") from None


def _os_reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def _ssl_reason(error: Exception) -> str:
    """OpenSSL's reason, without the [LIB] prefix and the (_ssl.c:NNN) suffix of its text."""
    reason = getattr(error, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return re.sub(r"^\[\w+\] |\s*\(_ssl\.c:\d+\)$", "", str(error)) or type(error).__name__


def _first_pem_certificate(path: str) -> str | None:
    """The first certificate of a PEM file, as it is written there."""
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return None
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        return None
    return text[start : stop + len(end)] + "\n"


def connection_tls(transport: asyncio.BaseTransport | None, server: ServerTLS | None) -> TLSInfo | None:
    """What the TLS of the connection on `transport` says, or None for a plain connection."""
    if server is None or transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    leaf = ssl_object.getpeercert(binary_form=True)
    chain = _client_chain(ssl_object, leaf) if leaf else ()
    decoded = ssl_object.getpeercert() if leaf else None
    return TLSInfo(
        server_cert=server.server_cert,
        client_cert_chain=chain,
        client_cert_name=rfc4514_name(decoded["subject"]) if decoded and "subject" in decoded else None,
        client_cert_error=None,
        tls_version=TLS_VERSIONS.get(ssl_object.version() or ""),
        cipher_suite=server.cipher_ids.get(cipher[0]) if cipher else None,
        alpn_protocol=ssl_object.selected_alpn_protocol(),
        client_cert=decoded or None,
    )


def _client_chain(ssl_object: Any, leaf: bytes) -> tuple[str, ...]:
    """The certificates the client sent, PEM, its own first: the whole chain where the ssl
    module can tell it (public from Python 3.13, its private object before), else the
    client's certificate alone."""
    unverified: Callable[[], Any] | None = getattr(ssl_object, "get_unverified_chain", None)
    try:
        if unverified is not None:  # Python 3.13+: DER bytes
            return tuple(ssl.DER_cert_to_PEM_cert(der) for der in unverified() or ())
        private = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
        if private is not None:  # Python 3.10-3.12: certificate objects
            import _ssl

            chain = tuple(cert.public_bytes(_ssl.ENCODING_PEM) for cert in private() or ())
            if chain:
                return chain
    except Exception:  # noqa: BLE001 - the leaf alone is still the answer
        pass
    return (ssl.DER_cert_to_PEM_cert(leaf),)


def rfc4514_name(subject: tuple[tuple[tuple[str, str], ...], ...]) -> str:
    """A subject as getpeercert() gives it (RDNs in certificate order) as an RFC 4514 string:
    the last RDN first, short names where RFC 4514 has them (others by the ssl module's name),
    values escaped as §2.4 says."""
    return ",".join(
        "+".join(f"{_RFC4514_NAMES.get(name, name)}={_escape_rdn_value(value)}" for name, value in rdn)
        for rdn in reversed(subject)
    )


def _escape_rdn_value(value: str) -> str:
    escaped = []
    for index, char in enumerate(value):
        if char in '"+,;<>\\' or (index == 0 and char in "# ") or (index == len(value) - 1 and char == " "):
            escaped.append("\\" + char)
        elif char == "\x00":
            escaped.append("\\00")
        else:
            escaped.append(char)
    return "".join(escaped)


def quiet_handshake_errors(loop: asyncio.AbstractEventLoop, client_errors: ClientErrorLog) -> None:
    """Install, on `loop`, an exception handler that reports a failed TLS handshake or a
    broken TLS record (ssl.SSLError, and a connection error of the SSL layer, such as the one
    for a handshake that took too long) as one rate-limited client line, and hands everything
    else to the handler that was there before.

    What reaches it: uvloop and asyncio treat ssl.SSLError and the handshake timeout as the
    OSErrors they are and report them to no one outside their debug mode (then asyncio sends
    each failed accept here, with a traceback, and both log one at debug level). An exception
    that is not an OSError (a fault of the server's own protocol) keeps its traceback."""
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, ssl.SSLError) or (
            isinstance(error, (ConnectionError, TimeoutError)) and _is_ssl_context(context)
        ):
            client_errors.tls_failed(_peer_of(context), _short(error))
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def _is_ssl_context(context: dict[str, Any]) -> bool:
    for key in ("protocol", "transport"):
        value = context.get(key)
        if value is not None and "ssl" in type(value).__name__.lower():
            return True
    return "ssl" in str(context.get("message", "")).lower()


def _peer_of(context: dict[str, Any]) -> object:
    for key in ("transport", "protocol"):
        value = context.get(key)
        getter = getattr(value, "get_extra_info", None)
        if getter is not None:
            try:
                peer = getter("peername")
            except Exception:  # noqa: BLE001 - a log line must not fail
                peer = None
            if peer:
                return peer[:2] if isinstance(peer, tuple) else peer
    return "a client"


def _short(error: BaseException | None) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    return str(error) or type(error).__name__


__all__ = ["ServerTLS", "TLSInfo", "TLSSetupError", "connection_tls", "quiet_handshake_errors", "rfc4514_name", "server_tls"]
