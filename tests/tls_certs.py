"""Certificates for the TLS tests, made with the `openssl` command line at test time.

Strategy: this module owns the test PKI: a CA, a server certificate for 127.0.0.1 and
localhost (in its subjectAltName, so clients verify it against the CA), a client certificate
signed by the same CA, and a second CA whose client certificate the server must refuse. The
server key also exists encrypted, for the password flag. Nothing is committed: every file is
written under a directory the caller gives (a pytest tmp_path_factory directory).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

KEY_PASSWORD = "wirespeed-test-password"
CLIENT_SUBJECT = "/C=FR/O=Wirespeed Tests/CN=client-alice"
# The same subject in RFC 4514 form (most specific first), as the server reports it.
CLIENT_NAME = "CN=client-alice,O=Wirespeed Tests,C=FR"


@dataclass(frozen=True)
class Certificates:
    directory: Path
    ca: Path  # the CA's certificate: what clients verify the server with, and the server clients
    server_cert: Path
    server_key: Path
    server_key_encrypted: Path  # server_key under KEY_PASSWORD
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # a client certificate from another CA
    stranger_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, subject: str, ca: str, extensions: str) -> None:
    """name.key and name.pem: a P-256 key and its certificate, signed by `ca` (ca.pem, ca.key)."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=directory)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=directory,
    )


def _authority(directory: Path, name: str, subject: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", subject,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )


def make_certificates(directory: Path) -> Certificates:
    """Write the test PKI under `directory` and name its files."""
    directory.mkdir(parents=True, exist_ok=True)
    _authority(directory, "ca", "/O=Wirespeed Tests/CN=Wirespeed Test CA")
    _authority(directory, "other-ca", "/O=Somebody Else/CN=Other CA")
    _signed(
        directory, "server", "/O=Wirespeed Tests/CN=localhost", "ca",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    client_extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
    _signed(directory, "client", CLIENT_SUBJECT, "ca", client_extensions)
    _signed(directory, "stranger", "/O=Somebody Else/CN=stranger", "other-ca", client_extensions)
    _openssl(
        "pkey", "-in", "server.key", "-aes256", "-passout", f"pass:{KEY_PASSWORD}", "-out", "server-encrypted.key",
        cwd=directory,
    )
    return Certificates(
        directory=directory,
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        server_key_encrypted=directory / "server-encrypted.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        stranger_cert=directory / "stranger.pem",
        stranger_key=directory / "stranger.key",
    )
