"""The demo certificate and key, and a TLS server that takes its private key from memory.

The workshop's point is that the decrypted private key never needs to touch the disk. Python's
`ssl` only loads keys from a path, so `serve_https` hands it an anonymous in-memory file
(`memfd_create`, Linux) and falls back to a 0600 file on tmpfs that is removed at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import secrets
import ssl
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Text before a PEM block is ignored by parsers; it tells any reader what this key is.
THROWAWAY_LABEL = (
    b"THROWAWAY DEMO KEY of the KMS workshop kit: public, generated once, protects nothing.\n"
    b"Never use it for a real server.\n"
)
PAGE = b"Hello over TLS: this page was served with a private key decrypted by KMS.\n"


def generate_demo_certificates(folder: str | os.PathLike[str], host: str = "localhost") -> dict[str, Path]:
    """Write `ca.crt`, `server.crt` and `server.key` (the key labelled throwaway) into `folder`.

    The CA's own key is discarded: nothing else can ever be signed with it.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KMS workshop demo CA (throwaway)")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # RSA-2048: what most TLS servers the seed procedure protects still use (about 1.7 KB of PEM).
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    paths = {"ca": out / "ca.crt", "cert": out / "server.crt", "key": out / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(pem))
    paths["cert"].write_bytes(cert.public_bytes(pem))
    paths["key"].write_bytes(THROWAWAY_LABEL + key_pem)
    return paths


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any, now: dt.datetime) -> x509.CertificateBuilder:
    # Ten years, so a workshop given years from now still verifies.
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
    )


def key_matches_certificate(cert_pem: bytes, key_pem: bytes) -> bool:
    """True when the private key belongs to the certificate's public key."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(_pem_block(key_pem), password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki))


def _pem_block(data: bytes) -> bytes:
    start = data.find(b"-----BEGIN")
    if start < 0:
        raise ValueError("No PEM block found: this is not a PEM private key.")
    return data[start:]


@contextlib.contextmanager
def _key_path(key_pem: bytes) -> Iterator[tuple[str, bytes | None]]:
    """A path the `ssl` module can read the key from (and its password, if any), without the
    plaintext key ever on disk.

    Python's `ssl` loads keys only from files. On Linux the file is a memfd (memory only). Where
    there is none (macOS, Windows) the file holds the key *encrypted* under a one-time random
    password that exists only in this process, and is deleted once loaded; see `key_storage()`.
    """
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("tls-key", os.MFD_CLOEXEC)
        try:
            os.write(fd, key_pem)
            yield f"/proc/self/fd/{fd}", None
        finally:
            os.close(fd)
        return
    password = secrets.token_bytes(32)
    key = serialization.load_pem_private_key(key_pem, password=None)
    sealed = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(password))
    fd, name = tempfile.mkstemp(suffix=".pem")  # created 0600 (owner only) where modes apply
    try:
        os.write(fd, sealed)
        os.close(fd)
        yield name, password
    finally:
        os.unlink(name)


def key_storage() -> str:
    """Where `serve_https` keeps the key while loading it, on this machine, in words."""
    if hasattr(os, "memfd_create"):
        return "in memory only (a memfd: no file on any disk)"
    return ("in a temporary file holding the key encrypted under a one-time password kept in memory, "
            "deleted once loaded: the plaintext key never reaches the disk")


def server_context(cert_path: str | os.PathLike[str], key_pem: bytes) -> ssl.SSLContext:
    """An SSLContext for a server, with the private key given as bytes (never written to disk)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with _key_path(_pem_block(bytes(key_pem))) as (path, password):
        ctx.load_cert_chain(os.fspath(cert_path), path, password=password)
    return ctx


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(PAGE)}\r\n\r\n"
        self.wfile.write(head.encode() + PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_https(cert_path: str | os.PathLike[str], key_pem: bytes, host: str = "localhost") -> Iterator[str]:
    """Serve a one-page HTTPS site on loopback with this certificate and in-memory key; yield its URL."""
    ctx = server_context(cert_path, key_pem)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://{host}:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, ca_path: str | os.PathLike[str]) -> tuple[int, bytes]:
    """GET `url`, verifying the server's certificate against `ca_path` (no proxy: loopback)."""
    ctx = ssl.create_default_context(cafile=os.fspath(ca_path))
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
    )
    with opener.open(url, timeout=10) as response:
        return response.status, response.read()
