"""Supported Pythons: SNI is really sent over TLS, on every supported version.

``make test-pythons`` runs the whole unit suite, this file included, on 3.11, 3.12 and 3.13. On
3.12+ the SDK's vendored urllib3 1.24 believes SNI is unavailable (``ssl.wrap_socket`` is gone)
and connects without it unless helpers/transport.py re-enables it; the emulator's TLS server
records every server name it is sent (``Emulator.sni_seen``). SNI is only sent for host names,
never for IP literals, so the client connects to ``localhost``.
"""

from __future__ import annotations

import ssl
import sys

import pytest

import helpers
from helpers import transport
from helpers.emulator import Emulator
from helpers.retry import RetryPolicy


def _tls_call(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    assert emu.ca_bundle is not None
    monkeypatch.setenv("ALIBABA_CLOUD_CA_BUNDLE", emu.ca_bundle)
    endpoint = emu.endpoint.replace("127.0.0.1", "localhost")
    kms = helpers.connect("emulator", endpoint=endpoint, retry=RetryPolicy(max_attempts=1))
    assert "cn-hangzhou" in kms.describe_regions()


def test_pythons_sni_is_sent_over_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(tls=True) as emu:
        _tls_call(emu, monkeypatch)
        assert emu.sni_seen and set(emu.sni_seen) == {"localhost"}, (sys.version, emu.sni_seen)


@pytest.mark.filterwarnings("ignore:An HTTPS request has been made, but the SNI")  # urllib3 says so, rightly
def test_pythons_without_the_sni_flag_no_name_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with the vendored urllib3's flag off (as 3.12+ leaves it without
    the kit's patch) the handshake carries no server name, and the emulator sees none."""
    from aliyunsdkcore.vendored.requests.packages.urllib3 import util
    from aliyunsdkcore.vendored.requests.packages.urllib3.util import ssl_

    for module in (ssl_, util):
        monkeypatch.setattr(module, "HAS_SNI", False)
    with Emulator(tls=True) as emu:
        _tls_call(emu, monkeypatch)
        assert emu.sni_seen == []


def test_pythons_sni_patch_sets_the_flags_on_3_12_and_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patch's own logic on whichever interpreter runs this: on >= 3.12 it turns the flags on;
    below 3.12 it leaves urllib3's own detection alone (the version check is simulated on 3.11)."""
    from aliyunsdkcore.vendored.requests.packages.urllib3 import util
    from aliyunsdkcore.vendored.requests.packages.urllib3.util import ssl_

    for version, expected in (((3, 12, 0), ssl.HAS_SNI), ((3, 13, 0), ssl.HAS_SNI), ((3, 11, 9), "untouched")):
        for module in (ssl_, util):
            monkeypatch.setattr(module, "HAS_SNI", "untouched")
        monkeypatch.setattr(sys, "version_info", version)
        transport._enable_sni()
        assert (ssl_.HAS_SNI, util.HAS_SNI) == (expected, expected), version


def test_pythons_interpreter_is_supported() -> None:
    assert sys.version_info[:2] in ((3, 11), (3, 12), (3, 13)), sys.version
