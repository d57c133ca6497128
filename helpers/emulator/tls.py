"""A throwaway local CA and server certificate for the emulator's optional HTTPS mode."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import trustme


def server_context(directory: Path, on_sni: Callable[[str], None]) -> tuple[ssl.SSLContext, Path]:
    """Issue a leaf for 127.0.0.1/::1/localhost from a fresh CA; return the context and the CA PEM.

    ``directory`` should be private (e.g. from ``tempfile.mkdtemp``): the CA key never touches
    disk, only its certificate, which clients load with ``verify=`` or ``ALIBABA_CLOUD_CA_BUNDLE``.
    """
    ca = trustme.CA(organization_name="KMS workshop emulator (local only)")
    leaf = ca.issue_cert("127.0.0.1", "::1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)

    def record_sni(_sock: object, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        if server_name:
            on_sni(server_name)

    context.sni_callback = record_sni
    bundle = directory / "emulator-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return context, bundle
