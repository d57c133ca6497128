"""A throwaway local CA and server certificate for the emulator's optional HTTPS mode.

Made with ``cryptography`` (a runtime dependency already), so ``serve --tls`` works after a plain
install of the package. The CA's key lives only in this function's frame: it signs one leaf and is
gone. The leaf's key reaches the ``ssl`` module (which loads keys only from files) as a file
encrypted under a one-time password held in memory, removed as soon as it is loaded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: distinct SNI names passed on to ``on_sni``; later new ones are not (each handshake may bring one)
MAX_SNI_NAMES = 32
_MAX_NAME = 253  # the longest DNS name; anything longer is no host name
_LEAF_NAMES = ("127.0.0.1", "::1", "localhost")
_VALID_FOR = dt.timedelta(days=30)  # [I] long enough for any workshop; the CA dies with the process anyway


def server_context(directory: Path, on_sni: Callable[[str], None]) -> tuple[ssl.SSLContext, Path]:
    """Issue a leaf for 127.0.0.1/::1/localhost from a fresh CA; return the context and the CA PEM.

    ``directory`` should be private (e.g. from ``tempfile.mkdtemp``): only the CA's certificate
    stays there, which clients load with ``verify=`` or ``ALIBABA_CLOUD_CA_BUNDLE``. ``on_sni`` is
    told each distinct server name clients send, up to MAX_SNI_NAMES of them (bounded memory).
    """
    ca_cert, leaf_cert, leaf_key = _issue()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(context, directory, leaf_cert, leaf_key)
    context.sni_callback = sni_recorder(on_sni)
    bundle = directory / "emulator-ca.pem"
    bundle.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return context, bundle


def sni_recorder(on_sni: Callable[[str], None], limit: int = MAX_SNI_NAMES) -> Callable[[ssl.SSLObject, str | None, ssl.SSLContext], None]:
    """An ``sni_callback`` passing each new server name to ``on_sni`` once, for at most ``limit`` names."""
    seen: set[str] = set()
    lock = threading.Lock()  # handshakes run in each connection's own thread

    def record(_sock: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        if not server_name or len(server_name) > _MAX_NAME:
            return
        with lock:
            if server_name in seen or len(seen) >= limit:
                return
            seen.add(server_name)
        on_sni(server_name)

    return record


def _issue() -> tuple[x509.Certificate, x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KMS workshop emulator (local only)"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "KMS workshop emulator throwaway CA")])  # fmt: skip
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)  # fmt: skip
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                    x509.IPAddress(ipaddress.ip_address("::1")), x509.DNSName("localhost")]  # fmt: skip
    leaf_cert = (
        _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), ca_name, leaf_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, leaf_cert, leaf_key


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
             now: dt.datetime) -> x509.CertificateBuilder:  # fmt: skip
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))  # a client clock a little behind still accepts it
            .not_valid_after(now + _VALID_FOR))  # fmt: skip


def _load_chain(context: ssl.SSLContext, directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    password = secrets.token_bytes(32)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(password))  # fmt: skip
    path = directory / f"leaf-{secrets.token_hex(8)}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem + cert.public_bytes(serialization.Encoding.PEM))
        context.load_cert_chain(path, password=password)
    finally:
        path.unlink(missing_ok=True)
