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
