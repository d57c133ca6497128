"""The demo certificates and the in-memory-key TLS server."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from helpers import tls

CERTS = Path(__file__).resolve().parents[1] / "notebooks" / "certs"


def test_tls_committed_demo_key_matches_its_certificate_and_is_labelled():
    key = (CERTS / "server.key").read_bytes()
    assert key.startswith(b"THROWAWAY DEMO KEY")
    assert tls.key_matches_certificate((CERTS / "server.crt").read_bytes(), key)
    assert 1000 < len(key) < 6144  # fits one KMS Encrypt call, as the workshop needs


def test_tls_serves_with_an_in_memory_key_and_the_client_verifies(tmp_path):
    key = (CERTS / "server.key").read_bytes()
    with tls.serve_https(CERTS / "server.crt", key) as url:
        status, body = tls.fetch(url, CERTS / "ca.crt")
    assert status == 200 and body == tls.PAGE
    assert list(tmp_path.iterdir()) == []


def test_tls_a_client_without_the_demo_ca_refuses_the_server(tmp_path):
    other = tls.generate_demo_certificates(tmp_path)
    key = (CERTS / "server.key").read_bytes()
    with tls.serve_https(CERTS / "server.crt", key) as url:
        with pytest.raises(Exception) as info:
            tls.fetch(url, other["ca"])
    assert isinstance(info.value.__cause__ or info.value, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def test_tls_wrong_key_for_the_certificate_is_detected(tmp_path):
    other = tls.generate_demo_certificates(tmp_path)
    assert not tls.key_matches_certificate((CERTS / "server.crt").read_bytes(), other["key"].read_bytes())
    with pytest.raises(ssl.SSLError):
        tls.server_context(CERTS / "server.crt", other["key"].read_bytes())


def test_tls_not_a_pem_key_says_so():
    with pytest.raises(ValueError, match="PEM"):
        tls.server_context(CERTS / "server.crt", b"garbage")


# --- the emulator's throwaway CA (helpers/emulator/tls.py) -------------------------------------------
def _handshake(emu, server_hostname: str) -> dict:
    import socket

    client = ssl.create_default_context(cafile=emu.ca_bundle)
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13 turns on by default
    host, port = emu.endpoint.split("//")[1].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as raw:
        with client.wrap_socket(raw, server_hostname=server_hostname) as conn:
            return conn.getpeercert()


def test_tls_emulator_ca_is_made_without_trustme_and_verifies_strictly(monkeypatch, tmp_path):
    import sys

    from cryptography import x509

    from helpers.emulator import Emulator
    from helpers.emulator.tls import server_context

    monkeypatch.setitem(sys.modules, "trustme", None)  # `import trustme` now fails, as after a plain install
    context, bundle = server_context(tmp_path, lambda name: None)
    assert isinstance(context, ssl.SSLContext)
    assert [p.name for p in tmp_path.iterdir()] == ["emulator-ca.pem"]  # no key of any kind left on disk
    ca = x509.load_pem_x509_certificate(bundle.read_bytes())
    assert b"PRIVATE KEY" not in bundle.read_bytes()
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with Emulator(tls=True) as emu:
        names = _handshake(emu, "localhost")["subjectAltName"]
        assert ("DNS", "localhost") in names and ("IP Address", "127.0.0.1") in names and ("IP Address", "0:0:0:0:0:0:0:1") in names
        assert _handshake(emu, "127.0.0.1")
        with pytest.raises(ssl.SSLCertVerificationError):
            _handshake(emu, "example.com")  # a name the leaf is not for


def test_tls_emulator_keeps_a_bounded_set_of_sni_names():
    from helpers.emulator import Emulator
    from helpers.emulator.tls import MAX_SNI_NAMES, sni_recorder

    seen: list[str] = []
    record = sni_recorder(seen.append, limit=5)
    for n in range(1000):
        record(None, f"host{n % 50}.test", None)  # type: ignore[arg-type]
        record(None, "x" * 300, None)  # type: ignore[arg-type]  # no host name is that long
    assert seen == [f"host{n}.test" for n in range(5)]
    with Emulator(tls=True) as emu:
        for _ in range(20):
            _handshake(emu, "localhost")
        assert emu.sni_seen == ["localhost"]  # 20 handshakes, one entry (it used to be one per handshake)
    assert MAX_SNI_NAMES <= 64
